package projection_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/migration"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// TestOwnerSiteUnderConcurrentWrites: a user's site changed while a
// recording is created for that user, in two transactions that overlap
// either way round (the site change first and held open while the
// recording is written, or the recording first), leaves every recording's
// owner_site_id equal to its owner's site, on SQLite and PostgreSQL.
// Without the share lock the recording's write takes on its owner's row,
// PostgreSQL lets the recording read the old site while the change is
// uncommitted, and the change's update of the recordings miss the new one.
func TestOwnerSiteUnderConcurrentWrites(t *testing.T) {
	backends := map[string]func(t *testing.T) app.Config{
		"sqlite": func(t *testing.T) app.Config { return app.Config{DataDir: t.TempDir()} },
	}
	if os.Getenv(pgtest.EnvURL) != "" {
		backends["postgres"] = func(t *testing.T) app.Config {
			url := pgtest.URL(t)
			if _, err := app.Migrate(context.Background(), app.Config{DatabaseURL: url}, migration.Options{}); err != nil {
				t.Fatal(err)
			}
			return app.Config{DataDir: t.TempDir(), DatabaseURL: url}
		}
	}
	for name, cfg := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := cfg(t)
			c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
			store, err := app.OpenStore(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Client.Close()
			cl := store.Client
			d := cl.Domain.Create().SetName("race.example").SaveX(ctx)
			sites := []int{cl.Site.Create().SetDomainID(d.ID).SetName("a").SaveX(ctx).ID,
				cl.Site.Create().SetDomainID(d.ID).SetName("b").SaveX(ctx).ID}
			u := cl.User.Create().SetDomainID(d.ID).SetSiteID(sites[0]).SetUsername("u@race").
				SetDisplayName("U").SetExtension("100").SetPasswordHash("x").SaveX(ctx)
			for i := range 12 {
				siteFirst := i%2 == 0
				var site *int // nil: the user loses its site
				if i%3 != 2 {
					site = &sites[(i/3)%2]
				}
				if err := race(ctx, cl, u.ID, d.ID, site, siteFirst, i); err != nil {
					t.Fatalf("round %d: %v", i, err)
				}
				got, err := cl.User.Get(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				recs, err := cl.Recording.Query().Where(recording.OwnerID(u.ID)).All(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range recs {
					if r.OwnerSiteID == nil && got.SiteID != 0 || r.OwnerSiteID != nil && *r.OwnerSiteID != got.SiteID {
						t.Errorf("round %d (site change first: %v): recording %d has owner_site_id %v, its owner's site is %d",
							i, siteFirst, r.ID, ptr(r.OwnerSiteID), got.SiteID)
					}
				}
			}
		})
	}
}

// race runs a change of the user's site and the creation of a recording it
// owns in two transactions, the first one held open while the second one
// runs, then commits both.
func race(ctx context.Context, c *ent.Client, userID, domainID int, site *int, siteFirst bool, round int) error {
	changeSite := func(tx *ent.Tx) error {
		up := tx.User.UpdateOneID(userID)
		if site != nil {
			up.SetSiteID(*site)
		} else {
			up.ClearSite()
		}
		return up.Exec(ctx)
	}
	record := func(tx *ent.Tx) error {
		return tx.Recording.Create().SetDomainID(domainID).SetOwnerID(userID).SetCallID(fmt.Sprintf("race-%d", round)).
			SetStartedAt(time.Unix(int64(round), 0)).SetDurationSeconds(1).Exec(ctx)
	}
	first, second := changeSite, record
	if !siteFirst {
		first, second = record, changeSite
	}
	tx1, err := c.Tx(ctx)
	if err != nil {
		return err
	}
	if err := first(tx1); err != nil {
		return fmt.Errorf("first: %w", err)
	}
	var wg sync.WaitGroup
	var err2 error
	wg.Go(func() {
		// On SQLite this transaction begins only once the first has
		// committed (one writer at a time); on PostgreSQL it runs now and
		// waits for the first one's row lock, if any.
		tx2, err := c.Tx(ctx)
		if err != nil {
			err2 = err
			return
		}
		if err := second(tx2); err != nil {
			_ = tx2.Rollback()
			err2 = fmt.Errorf("second: %w", err)
			return
		}
		err2 = tx2.Commit()
	})
	time.Sleep(100 * time.Millisecond) // the second transaction reads and writes meanwhile, unless it waits
	if err := tx1.Commit(); err != nil {
		return err
	}
	wg.Wait()
	return err2
}

func ptr(p *int) any {
	if p == nil {
		return "NULL"
	}
	return *p
}
