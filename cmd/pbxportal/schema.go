package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pbxportal/pbxportal/internal/sdl"
)

func newSchemaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the whole GraphQL schema (SDL), as committed in schema.graphql",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), sdl.Full())
			return err
		},
	}
}
