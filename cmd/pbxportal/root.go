package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pbxportal/pbxportal/internal/app"
)

// newRootCommand builds the CLI. Every flag also reads PBXPORTAL_<FLAG>
// from the environment (dashes become underscores), unless given on the
// command line.
func newRootCommand() *cobra.Command {
	cfg := &app.Config{}
	root := &cobra.Command{
		Use:           "pbxportal",
		Short:         "The GraphQL backend of the hosted-PBX manager portal",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := flagsFromEnv(cmd.Flags()); err != nil {
				return err
			}
			cfg.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return nil
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&cfg.DataDir, "data-dir", "./data", "directory of the SQLite database and the token signing key")
	f.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://...) to use instead of SQLite")
	f.IntVar(&cfg.DatabaseMaxConns, "database-max-conns", app.DefaultDatabaseMaxConns, "most connections one replica opens to PostgreSQL (and keeps open)")
	f.StringVar(&cfg.SpiceDBEndpoint, "spicedb-endpoint", "", "host:port of a SpiceDB to use instead of the embedded one")
	f.StringVar(&cfg.SpiceDBToken, "spicedb-token", "", "preshared key of that SpiceDB; prefer PBXPORTAL_SPICEDB_TOKEN or --spicedb-token-file, which ps does not show")
	f.StringVar(&cfg.SpiceDBTokenFile, "spicedb-token-file", "", "file holding the preshared key of that SpiceDB")
	f.BoolVar(&cfg.SpiceDBInsecure, "spicedb-insecure", false, "connect to that SpiceDB without TLS")
	f.StringVar(&cfg.SpiceDBDatastoreURL, "spicedb-datastore-url", "", "PostgreSQL URL of the embedded SpiceDB's own datastore, to keep its relationships there instead of in memory")
	f.DurationVar(&cfg.TokenTTL, "token-ttl", 12*time.Hour, "how long a login token lives; a token claiming a longer life is refused")
	root.AddCommand(newServeCommand(cfg), newSeedCommand(cfg), newTokenCommand(cfg), newAuthzCommand(), newReconcileCommand(cfg), newMigrateCommand(cfg), newSchemaCommand(), newLoadCommand(cfg))
	root.SetVersionTemplate("{{.Version}}")
	return root
}

// flagsFromEnv sets every flag not given on the command line from its
// PBXPORTAL_* variable.
func flagsFromEnv(flags *pflag.FlagSet) error {
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		env := "PBXPORTAL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && !f.Changed && err == nil {
			if e := flags.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return err
}
