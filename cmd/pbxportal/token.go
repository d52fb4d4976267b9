package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/app"
)

func newTokenCommand(cfg *app.Config) *cobra.Command {
	var username string
	cmd := &cobra.Command{
		Use:   "token --username U",
		Short: "Print a bearer token for a user, for operators and tests",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if username == "" {
				return errors.New("--username is required")
			}
			// The token must be signed with the server's key, in its data
			// dir: never make a new, empty one.
			if _, err := os.Stat(cfg.DataDir); errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("data directory %q does not exist: give --data-dir of the server's data", cfg.DataDir)
			} else if err != nil {
				return fmt.Errorf("data directory: %w", err)
			}
			store, err := app.OpenStore(cmd.Context(), *cfg)
			if err != nil {
				return err
			}
			defer store.Client.Close()
			u, err := store.Client.User.Query().Where(user.Username(username)).Only(cmd.Context())
			if ent.IsNotFound(err) {
				return fmt.Errorf("no user %q", username)
			}
			if err != nil {
				return err
			}
			if !access.MayUsePortal(u) {
				return fmt.Errorf("user %q may not use the portal (NO_PORTAL or Voice Portal Access off)", username)
			}
			token, _, err := store.Signer.Mint(u.ID, u.CredentialStamp, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), token)
			return nil
		},
	}
	cmd.Flags().StringVar(&username, "username", "", "the user's username, e.g. olivia@acme.example")
	return cmd
}
