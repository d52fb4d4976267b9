package authz

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pbxportal/pbxportal/internal/authz/embedded"
	"github.com/pbxportal/pbxportal/internal/authz/model"
)

// newEmbeddedClient returns a client of a fresh embedded SpiceDB holding
// schema.zed, and its metrics registry.
func newEmbeddedClient(t testing.TB) (*Client, *prometheus.Registry) {
	t.Helper()
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	reg := prometheus.NewRegistry()
	c, err := NewClient(srv.Conn(), reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteSchema(ctx, model.Schema); err != nil {
		t.Fatal(err)
	}
	return c, reg
}

// calls is how many calls of method the client has counted.
func calls(t *testing.T, reg *prometheus.Registry, method string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" && l.GetValue() == method {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// portalAccess is user:i#portal_access@user:i for i in [from, to): each grants
// user i the log_in permission on itself.
func portalAccess(from, to int) []Relationship {
	rels := make([]Relationship, 0, to-from)
	for i := from; i < to; i++ {
		u := Object{Type: "user", ID: strconv.Itoa(i)}
		rels = append(rels, Relationship{Resource: u, Relation: "portal_access", Subject: u})
	}
	return rels
}

// held returns every relationship the SpiceDB holds, as a set.
func held(t *testing.T, c *Client) map[Relationship]bool {
	t.Helper()
	got := map[Relationship]bool{}
	if err := c.ExportRelationships(context.Background(), func(batch []Relationship) error {
		for _, r := range batch {
			got[r] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// logsIn checks user:id's log_in permission on itself.
func logsIn(t *testing.T, c *Client, id int) bool {
	t.Helper()
	u := Object{Type: "user", ID: strconv.Itoa(id)}
	ok, err := c.CheckBulk(context.Background(), u, []Check{{Resource: u, Permission: "log_in"}})
	if err != nil {
		t.Fatal(err)
	}
	return ok[0]
}

// TestWriteRelationshipsChunks writes more updates than SpiceDB accepts in
// one call: the client splits them into calls of at most maxUpdatesPerWrite.
func TestWriteRelationshipsChunks(t *testing.T) {
	c, reg := newEmbeddedClient(t)
	ctx := context.Background()
	writes := func() float64 { return calls(t, reg, "WriteRelationships") }
	tests := []struct {
		name           string
		touch, delete  []Relationship
		wantCalls      float64
		wantHeld       int
		lastLogsIn     int // a user in the last chunk
		lastLogsInWant bool
	}{
		{"one call's worth", portalAccess(0, maxUpdatesPerWrite), nil, 1, maxUpdatesPerWrite, maxUpdatesPerWrite - 1, true},
		{"more than one call's worth", portalAccess(0, 2*maxUpdatesPerWrite+500), nil, 3, 2*maxUpdatesPerWrite + 500, 2*maxUpdatesPerWrite + 499, true},
		{"deletes and touches across a chunk boundary", portalAccess(2*maxUpdatesPerWrite+500, 2*maxUpdatesPerWrite+1200), portalAccess(0, 2*maxUpdatesPerWrite),
			3, 1200, 2*maxUpdatesPerWrite + 1199, true},
		{"the deletions took", nil, nil, 0, 1200, 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := writes()
			if err := c.WriteRelationships(ctx, tt.touch, tt.delete); err != nil {
				t.Fatalf("WriteRelationships(%d touches, %d deletes): %v", len(tt.touch), len(tt.delete), err)
			}
			if got := writes() - before; got != tt.wantCalls {
				t.Errorf("WriteRelationships calls = %v, want %v", got, tt.wantCalls)
			}
			if got := len(held(t, c)); got != tt.wantHeld {
				t.Errorf("SpiceDB holds %d relationships, want %d", got, tt.wantHeld)
			}
			if got := logsIn(t, c, tt.lastLogsIn); got != tt.lastLogsInWant {
				t.Errorf("user %d log_in = %v, want %v", tt.lastLogsIn, got, tt.lastLogsInWant)
			}
		})
	}
}

// TestImportRelationships imports in several streams, one or several at a
// time, and is seen at once by the next check; importing a relationship that
// exists fails.
func TestImportRelationships(t *testing.T) {
	tests := []struct {
		name    string
		streams int // at a time
		pieces  int // Add calls, of a part each
	}{
		{"one stream at a time, one Add", 1, 1},
		{"three streams at a time, one Add", 3, 1},
		{"two streams at a time, Adds across the streams' bounds", 2, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reg := newEmbeddedClient(t)
			c.SetImportStreams(2500, tt.streams) // three streams for 6,001 relationships
			ctx := context.Background()
			want := portalAccess(0, 6001)
			im := c.StartImport(ctx)
			step := (len(want) + tt.pieces - 1) / tt.pieces
			for rest := want; len(rest) > 0; {
				n := min(step, len(rest))
				if err := im.Add(rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			n, err := im.Close()
			if err != nil {
				t.Fatal(err)
			}
			if n != len(want) {
				t.Errorf("the import loaded %d, want %d", n, len(want))
			}
			if got := calls(t, reg, "ImportBulkRelationships"); got != 3 {
				t.Errorf("ImportBulkRelationships streams = %v, want 3", got)
			}
			got := held(t, c)
			if len(got) != len(want) {
				t.Errorf("SpiceDB holds %d relationships, want %d", len(got), len(want))
			}
			for _, r := range want {
				if !got[r] {
					t.Fatalf("SpiceDB lacks %s", r)
				}
			}
			if !logsIn(t, c, 6000) {
				t.Error("the last imported relationship is not seen by the next check")
			}
			if _, err := c.ImportRelationships(ctx, portalAccess(6000, 6002)); !errors.Is(err, ErrUnavailable) {
				t.Errorf("importing an existing relationship: err = %v, want ErrUnavailable", err)
			}
			if logsIn(t, c, 6001) {
				t.Error("a failed import stream wrote part of itself")
			}
		})
	}
}

// TestImportFailsEveryStreamAfter: after a stream fails, Add and Close
// report it and no stream sent after the failure loads anything; with one
// stream at a time, nothing after the failed stream loads.
func TestImportFailsEveryStreamAfter(t *testing.T) {
	tests := []struct {
		name       string
		streams    int
		wantLoaded int // -1: whatever the streams beside the failed one loaded
	}{
		{"one stream at a time", 1, 0},
		{"two streams at a time", 2, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newEmbeddedClient(t)
			ctx := context.Background()
			if _, err := c.ImportRelationships(ctx, portalAccess(0, 1)); err != nil {
				t.Fatal(err)
			}
			c.SetImportStreams(100, tt.streams)
			im := c.StartImport(ctx)
			var addErr error
			for from := 0; from < 5000 && addErr == nil; from += 100 {
				addErr = im.Add(portalAccess(from, from+100)) // the first stream holds user 0's, which exists
			}
			n, err := im.Close()
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Close: err = %v, want ErrUnavailable", err)
			}
			if addErr != nil && !errors.Is(addErr, ErrUnavailable) {
				t.Errorf("Add: err = %v, want ErrUnavailable", addErr)
			}
			if tt.wantLoaded >= 0 && n != tt.wantLoaded {
				t.Errorf("the import loaded %d, want %d", n, tt.wantLoaded)
			}
			if got := len(held(t, c)); got != 1+n {
				t.Errorf("SpiceDB holds %d relationships; want 1 and the %d the import reports loaded", got, n)
			}
		})
	}
}
