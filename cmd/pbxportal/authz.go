package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pbxportal/pbxportal/internal/authz/validate"
)

func newAuthzCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "authz", Short: "Work with the authorization model"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate [FILE]",
		Short: "Validate a zed validation file (default schema.validation.yaml), as zed validate does",
		Long: `Validate a zed validation file with SpiceDB's own validation code: the schema it names
(schemaFile, relative to the file), its relationships, its assertions and its expected
relations. Exits non-zero, naming each failed assertion, if anything is wrong.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "schema.validation.yaml"
			if len(args) == 1 {
				path = args[0]
			}
			fails, err := validate.File(cmd.Context(), path)
			if err != nil {
				return err
			}
			for _, f := range fails {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", path, f)
			}
			if len(fails) > 0 {
				return fmt.Errorf("%s: %d failure(s)", path, len(fails))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", path)
			return nil
		},
	})
	return cmd
}
