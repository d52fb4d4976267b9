package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/demo"
	"github.com/pbxportal/pbxportal/internal/seed"
)

func newSeedCommand(cfg *app.Config) *cobra.Command {
	var opts seed.Options
	cmd := &cobra.Command{
		Use:   "seed [--users N] [--recordings M]",
		Short: "Load the demo dataset into an empty database, optionally grown to N users and M recordings",
		Long: `Load the demo dataset into an empty database. With --users and --recordings, grow
its acme.example domain (demo personas included, so their logins work) to N users and
M recordings: sites, call queues with supervisors and agents, groups with members,
Media Manager rights, numbers and a call record per recording, inserted in bulk.

SpiceDB gets the relationships from the server's own projection: the embedded
in-memory SpiceDB at every start of serve; a persistent one (--spicedb-endpoint or
--spicedb-datastore-url) is rebuilt by seed itself before it returns. PostgreSQL
must be migrated first (pbxportal migrate).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(); err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			start := time.Now()
			store, err := app.OpenStore(ctx, *cfg)
			if err != nil {
				return err
			}
			// The store's client has no hooks: the rows go in without being
			// projected one by one, and SpiceDB is rebuilt from them below.
			n, err := seed.Load(ctx, store.Client, cfg.MediaDir(), opts)
			if err == nil {
				err = store.Analyze(ctx) // the first queries get plans for the rows just loaded
			}
			if err == nil && (opts.Users > 0 || opts.Recordings > 0) {
				fmt.Fprintf(out, "grew %s by %d users, %d sites, %d queues (%d agent memberships), %d groups, %d recordings and %d call records\n",
					seed.Domain, n.Users, n.Sites, n.Queues, n.QueueAgents, n.Groups, n.Recordings, n.CallRecords)
			}
			_ = store.Client.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "loaded in %s; every demo user's password is %s\n", time.Since(start).Round(time.Millisecond), demo.Password)
			if cfg.SpiceDBEndpoint == "" && cfg.SpiceDBDatastoreURL == "" {
				fmt.Fprintln(out, "the embedded SpiceDB loads the relationships from the database at every start of serve")
				return nil
			}
			start = time.Now()
			a, err := app.Open(ctx, *cfg) // its start-up rebuild brings SpiceDB in line with the database
			if err != nil {
				return fmt.Errorf("rebuild SpiceDB: %w", err)
			}
			a.Close()
			fmt.Fprintf(out, "rebuilt SpiceDB from the database in %s\n", time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().IntVar(&opts.Users, "users", 0, "grow acme.example to this many users (0: the demo's)")
	cmd.Flags().IntVar(&opts.Recordings, "recordings", 0, "grow acme.example to this many recordings (0: the demo's)")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "pseudo-random seed of the generated data")
	return cmd
}
