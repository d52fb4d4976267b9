package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/migration"
)

func newMigrateCommand(cfg *app.Config) *cobra.Command {
	var opts migration.Options
	cmd := &cobra.Command{
		Use:   "migrate --database-url postgres://...",
		Short: "Apply the pending versioned migrations to the PostgreSQL database",
		Long: `Apply the versioned schema migrations built into this pbxportal to the PostgreSQL
database of --database-url, in its current schema (search_path), oldest first, each
in its own transaction. Applying when nothing is pending does nothing. Run it before
serve after every upgrade: serve, seed, token and reconcile refuse a database whose
schema is behind.

A database that an older pbxportal created at start-up, before versioned migrations,
has tables but no migration history: adopt it once with --baseline and the version
whose schema it has (the first one, for a database created by the last pbxportal that
migrated at start-up).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			applied, err := app.Migrate(cmd.Context(), *cfg, opts)
			out := cmd.OutOrStdout()
			for _, v := range applied {
				fmt.Fprintln(out, "applied", v)
			}
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(out, "the database schema is up to date; nothing to apply")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "apply versions up to and including this one only")
	cmd.Flags().StringVar(&opts.Baseline, "baseline", "", "adopt a database without migration history as being at this version")
	return cmd
}
