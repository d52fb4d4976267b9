package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/demo"
)

func newSeedCommand(cfg *app.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "seed",
		Short: "Load the demo dataset (SPEC §5) into an empty database",
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app.Open(cmd.Context(), *cfg)
			if err != nil {
				return err
			}
			defer a.Close()
			if err := demo.Load(cmd.Context(), a.Client, cfg.MediaDir()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "loaded the demo dataset; every demo user's password is", demo.Password)
			return nil
		},
	}
}
