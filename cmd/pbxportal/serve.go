package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/pbxportal/pbxportal/internal/app"
)

// shutdownGrace is how long a stopping server lets requests in flight finish.
const shutdownGrace = 10 * time.Second

func newServeCommand(cfg *app.Config) *cobra.Command {
	var listen, metricsListen string
	var demo, graphiQL bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve GraphiQL at / and the GraphQL API at /graphql",
		Long: `Serve the portal. By default it keeps SQLite and its signing key in --data-dir,
runs SpiceDB in-process, and loads the demo dataset into an empty database.
With --database-url the demo is loaded only when --demo is given.

It stops cleanly on SIGINT or SIGTERM. Run the built binary (go build ./cmd/pbxportal)
for anything long-lived: 'go run' does not pass SIGTERM on to it.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg.Demo = cfg.DatabaseURL == "" || demo
			cfg.DisableGraphiQL = !graphiQL
			cfg.SeparateMetrics = metricsListen != ""
			// Bind first: a port in use fails at once, before SpiceDB starts.
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", listen, err)
			}
			defer ln.Close()
			a, err := app.Open(ctx, *cfg)
			if err != nil {
				return err
			}
			defer a.Close()
			srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			if metricsListen != "" {
				metrics := &http.Server{Addr: metricsListen, Handler: a.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
				go func() { errc <- metrics.ListenAndServe() }()
				defer metrics.Close()
			}
			attrs := []any{"listen", ln.Addr().String()}
			if graphiQL {
				attrs = append(attrs, "graphiql", "http://localhost"+portOf(ln.Addr().String())+"/")
			}
			cfg.Log.InfoContext(ctx, "pbxportal is serving", attrs...)
			select {
			case err := <-errc:
				return fmt.Errorf("serve: %w", err)
			case <-ctx.Done():
			}
			cfg.Log.Info("pbxportal is stopping: finishing the requests in flight")
			shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("shutdown: %w", err)
			}
			cfg.Log.Info("pbxportal stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":8080", "address to listen on")
	cmd.Flags().StringVar(&metricsListen, "metrics-listen", "", "serve /metrics, and Go's profiles at /debug/pprof/, on this address (e.g. 127.0.0.1:9090) instead of /metrics on --listen")
	addLimitFlags(cmd.Flags(), &cfg.Limits)
	cmd.Flags().BoolVar(&demo, "demo", false, "load the demo dataset into an empty database given by --database-url")
	cmd.Flags().BoolVar(&graphiQL, "graphiql", true, "serve GraphiQL at / (--graphiql=false to turn it off in production)")
	cmd.Flags().StringSliceVar(&cfg.CORSOrigins, "cors-origin", nil,
		"an origin (scheme://host[:port]) whose pages may call the API; repeat or comma-separate for several; none by default")
	return cmd
}

// portOf returns the ":port" part of a listen address.
func portOf(listen string) string {
	for i := len(listen) - 1; i >= 0; i-- {
		if listen[i] == ':' {
			return listen[i:]
		}
	}
	return ""
}
