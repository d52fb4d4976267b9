package seed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pbxportal/pbxportal/ent/callrecord"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/demo"
	"github.com/pbxportal/pbxportal/internal/migration"
	"github.com/pbxportal/pbxportal/internal/pgtest"
	"github.com/pbxportal/pbxportal/internal/seed"
)

// TestLoad grows the demo on each database, then starts the server on it:
// the sizes are exact, the demo personas and a generated user log in, and
// the SpiceDB the start-up rebuild filled matches the database.
func TestLoad(t *testing.T) {
	backends := []struct {
		name string
		cfg  func(t *testing.T) app.Config
	}{
		{"sqlite", func(t *testing.T) app.Config { return app.Config{DataDir: t.TempDir()} }},
		{"postgres", func(t *testing.T) app.Config {
			url := pgtest.URL(t) // skips without PBXPORTAL_TEST_DATABASE_URL
			if _, err := app.Migrate(context.Background(), app.Config{DatabaseURL: url}, migration.Options{}); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			return app.Config{DataDir: t.TempDir(), DatabaseURL: url}
		}},
	}
	const users, recordings = 800, 2000
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := be.cfg(t)
			cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
			store, err := app.OpenStore(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			n, err := seed.Load(ctx, store.Client, cfg.MediaDir(), seed.Options{Users: users, Recordings: recordings, Seed: 7})
			_ = store.Client.Close()
			if err != nil {
				t.Fatal(err)
			}
			if n.Sites == 0 || n.Queues == 0 || n.Groups == 0 || n.QueueAgents == 0 || n.CallRecords != n.Recordings {
				t.Errorf("counts %+v: want sites, queues, groups, agents, and a call record per recording", n)
			}

			a, err := app.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			acme := domain.Name(seed.Domain)
			for _, c := range []struct {
				what string
				got  func(context.Context) (int, error)
				want int
			}{
				{"users", a.Client.User.Query().Where(user.HasDomainWith(acme)).Count, users},
				{"recordings", a.Client.Recording.Query().Where(recording.HasDomainWith(acme)).Count, recordings},
				{"call records", a.Client.CallRecord.Query().Where(callrecord.HasDomainWith(acme)).Count, recordings},
				{"supervisors", a.Client.User.Query().Where(user.HasSupervisedQueues()).Count, 0},
				{"group members", a.Client.User.Query().Where(user.HasGroups()).Count, 0},
				{"Media Manager users", a.Client.User.Query().Where(user.MediaManagerReplay(true)).Count, 0},
			} {
				got, err := c.got(ctx)
				switch {
				case err != nil:
					t.Errorf("%s: %v", c.what, err)
				case c.want > 0 && got != c.want:
					t.Errorf("%s: %d, want %d", c.what, got, c.want)
				case c.want == 0 && got < 3:
					t.Errorf("%s: %d, want them spread over the domain", c.what, got)
				}
			}

			generated, err := a.Client.User.Query().Where(user.UsernameHasPrefix("user"), user.VoicePortalAccess(true),
				user.ScopeNEQ(user.ScopeNO_PORTAL)).First(ctx)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(a.Handler())
			defer srv.Close()
			for _, u := range []string{"olivia@acme.example", "bob@acme.example", "cora@acme.example", "alice@acme.example",
				"ava@acme.example", "sam@acme.example", "support@provider.example", generated.Username} {
				if !login(t, srv.URL, u) {
					t.Errorf("%s cannot log in with the demo password", u)
				}
			}
			drift, err := projection.Reconcile(ctx, a.Client, a.Spice, false)
			if err != nil || len(drift.Missing)+len(drift.Extra) > 0 {
				t.Errorf("SpiceDB after the start-up rebuild: %d missing, %d extra, err %v", len(drift.Missing), len(drift.Extra), err)
			}
		})
	}
}

// login reports whether username logs in with the demo password.
func login(t *testing.T, url, username string) bool {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }`,
		"variables": map[string]any{"u": username, "p": demo.Password},
	})
	res, err := http.Post(url+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Data struct{ Login *struct{ Token string } }
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Data.Login != nil && out.Data.Login.Token != ""
}

// TestLoadRefuses: sizes that cannot be grown to are refused with an error.
func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name string
		opts seed.Options
		want error
	}{
		{"negative users", seed.Options{Users: -1}, nil},
		{"negative recordings", seed.Options{Recordings: -5}, nil},
		{"fewer users than the demo", seed.Options{Users: 3}, seed.ErrTooSmall},
		{"fewer recordings than the demo", seed.Options{Users: 20, Recordings: 2}, seed.ErrTooSmall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, err := app.OpenStore(context.Background(), app.Config{DataDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Client.Close()
			_, err = seed.Load(context.Background(), store.Client, t.TempDir(), tt.opts)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Load(%+v) = %v, want an error (%v)", tt.opts, err, tt.want)
			}
		})
	}
}
