package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pbxportal/pbxportal/internal/app"
)

func newReconcileCommand(cfg *app.Config) *cobra.Command {
	var fix bool
	cmd := &cobra.Command{
		Use:   "reconcile [--fix]",
		Short: "Compare SpiceDB with the database's projection; print the drift, and repair it with --fix",
		RunE: func(cmd *cobra.Command, _ []string) error {
			drift, err := app.Reconcile(cmd.Context(), *cfg, fix)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, r := range drift.Missing {
				fmt.Fprintln(out, "missing:", r)
			}
			for _, r := range drift.Extra {
				fmt.Fprintln(out, "extra:  ", r)
			}
			switch {
			case len(drift.Missing)+len(drift.Extra) == 0:
				fmt.Fprintln(out, "SpiceDB matches the database")
			case fix:
				fmt.Fprintf(out, "repaired %d missing and %d extra relationships\n", len(drift.Missing), len(drift.Extra))
			default:
				return fmt.Errorf("%d missing and %d extra relationships; run with --fix to repair", len(drift.Missing), len(drift.Extra))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&fix, "fix", false, "write the missing relationships and delete the extra ones")
	return cmd
}
