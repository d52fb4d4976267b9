package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/pbxportal/pbxportal/internal/app"
)

func newServeCommand(cfg *app.Config) *cobra.Command {
	var listen, metricsListen string
	var demo bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve GraphiQL at / and the GraphQL API at /graphql",
		Long: `Serve the portal. By default it keeps SQLite and its signing key in --data-dir,
runs SpiceDB in-process, and loads the demo dataset into an empty database.
With --database-url the demo is loaded only when --demo is given.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg.Demo = cfg.DatabaseURL == "" || demo
			cfg.SeparateMetrics = metricsListen != ""
			a, err := app.Open(ctx, *cfg)
			if err != nil {
				return err
			}
			defer a.Close()
			srv := &http.Server{Addr: listen, Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 1)
			go func() { errc <- srv.ListenAndServe() }()
			if metricsListen != "" {
				metrics := &http.Server{Addr: metricsListen, Handler: a.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
				go func() { errc <- metrics.ListenAndServe() }()
				defer metrics.Close()
			}
			cfg.Log.InfoContext(ctx, "pbxportal is serving", "listen", listen, "graphiql", "http://localhost"+portOf(listen)+"/")
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":8080", "address to listen on")
	cmd.Flags().StringVar(&metricsListen, "metrics-listen", "", "serve /metrics on this address (e.g. 127.0.0.1:9090) instead of on --listen")
	addLimitFlags(cmd.Flags(), &cfg.Limits)
	cmd.Flags().BoolVar(&demo, "demo", false, "load the demo dataset into an empty database given by --database-url")
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
