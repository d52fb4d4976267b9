package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/demo"
	"github.com/pbxportal/pbxportal/internal/load"
	"github.com/pbxportal/pbxportal/internal/migration"
)

func newLoadCommand(cfg *app.Config) *cobra.Command {
	opts := load.Options{Password: demo.Password}
	var metricsURL string
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Drive a mixed persona workload against a server on loopback and report",
		Long: `Drive the demo personas' reads and mutations for --duration with --clients
concurrent clients, and report throughput, latency percentiles (reads and
mutations apart), errors by code, the server's memory at start and end, and
every response wrong for its persona. It fails on any error.

Without --url it starts its own server in this process, on a fresh temporary
data dir (SQLite) or, with --database-url, on that PostgreSQL database
(migrated, and the demo loaded if it is empty). With --url it loads a server
already running the demo dataset; only loopback targets are accepted.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if opts.URL == "" {
				stop, err := serveForLoad(cmd, cfg, &opts)
				if err != nil {
					return err
				}
				defer stop()
			} else if err := load.CheckLoopback(opts.URL); err != nil {
				return err
			} else {
				if metricsURL == "" {
					metricsURL = strings.TrimSuffix(opts.URL, "/") + "/metrics"
				}
				if err := load.CheckLoopback(metricsURL); err != nil {
					return err
				}
				opts.RSS = load.MetricsRSS(metricsURL)
			}
			report, err := load.Run(ctx, opts)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), report)
			if !report.OK() {
				return errors.New("load: the run had errors or wrong responses")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.URL, "url", "", "base URL of a running server on loopback (default: start one in this process)")
	cmd.Flags().StringVar(&metricsURL, "metrics-url", "", "with --url: the server's Prometheus metrics, for its memory (default: <url>/metrics)")
	cmd.Flags().IntVar(&opts.Clients, "clients", 50, "concurrent clients")
	cmd.Flags().DurationVar(&opts.Duration, "duration", 60*time.Second, "how long to drive the workload")
	return cmd
}

// serveForLoad starts a server with the demo dataset on a loopback port in
// this process, points opts at it and measures its memory from
// /proc/self/status (the clients' share of it is small).
func serveForLoad(cmd *cobra.Command, cfg *app.Config, opts *load.Options) (stop func(), err error) {
	ctx := cmd.Context()
	// The load writes (profiles, contacts, agent states) and migrates: it
	// takes its database only from its own command line, never from the
	// environment a production server runs with.
	for _, env := range []string{"PBXPORTAL_DATABASE_URL", "PBXPORTAL_DATA_DIR"} {
		if os.Getenv(env) != "" {
			return nil, fmt.Errorf("load does not run with %s set: it writes to the database it is given; unset it and name a scratch database with --database-url or --data-dir", env)
		}
	}
	c := *cfg
	c.Demo = true
	c.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if c.DatabaseURL == "" {
		if !cmd.Flags().Changed("data-dir") {
			dir, err := os.MkdirTemp("", "pbxportal-load-")
			if err != nil {
				return nil, err
			}
			defer func() {
				if err != nil {
					_ = os.RemoveAll(dir)
				}
			}()
			c.DataDir = dir
		}
	} else if _, err := app.Migrate(ctx, c, migration.Options{}); err != nil {
		return nil, err
	}
	a, err := app.Open(ctx, c)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		return nil, err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	opts.URL = "http://" + ln.Addr().String()
	opts.RSS = selfRSS
	return func() {
		_ = srv.Close()
		a.Close()
		if c.DataDir != cfg.DataDir {
			_ = os.RemoveAll(c.DataDir)
		}
	}, nil
}

// selfRSS reads this process's resident memory from /proc/self/status.
func selfRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("load: no VmRSS in /proc/self/status")
}
