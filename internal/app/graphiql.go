package app

import (
	"context"
	"fmt"

	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/demo"
	"github.com/pbxportal/pbxportal/internal/graphiql"
)

// graphiQL builds GraphiQL, nil when it is turned off. On the demo dataset
// (cfg.Demo: always with SQLite, with PostgreSQL only given --demo) it
// offers a persona picker of the demo users present that may log in.
func (a *App) graphiQL(ctx context.Context, cfg Config) (*graphiql.Handler, error) {
	if cfg.DisableGraphiQL {
		return nil, nil
	}
	opts := graphiql.Options{Endpoint: "/graphql"}
	if cfg.Demo {
		names := demo.Usernames()
		users, err := a.Client.User.Query().Where(user.UsernameIn(names...)).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("graphiql personas: %w", err)
		}
		byName := map[string]graphiql.Persona{}
		for _, u := range users {
			if access.MayUsePortal(u) {
				byName[u.Username] = graphiql.Persona{Username: u.Username, Name: u.DisplayName, Scope: u.Scope.String()}
			}
		}
		for _, n := range names {
			if p, ok := byName[n]; ok {
				opts.Personas = append(opts.Personas, p)
			}
		}
		opts.Password = demo.Password
	}
	return graphiql.New(opts)
}
