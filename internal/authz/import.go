package authz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// ImportRelationships creates relationships through SpiceDB's bulk import
// (see Import). It is the fast path to fill a SpiceDB that holds none of
// them: a relationship that already exists fails its stream, whose
// transaction then writes nothing. It returns how many relationships SpiceDB
// loaded.
func (c *Client) ImportRelationships(ctx context.Context, rels []Relationship) (int, error) {
	im := c.StartImport(ctx)
	if err := im.Add(rels); err != nil {
		loaded, _ := im.Close()
		return loaded, err
	}
	return im.Close()
}

// Import is a bulk import under way. Add hands it relationships, which it
// sends through ImportBulkRelationships in streams of the client's import
// stream size, importMessageSize relationships a message, up to the
// client's import streams at a time, each stream one SpiceDB transaction
// (see SetImportStreams). Close waits for the streams and makes what they
// loaded visible to the next read. An Import is used by one goroutine.
type Import struct {
	c       *Client
	ctx     context.Context
	size    int // relationships a stream
	streams chan [][]Relationship
	wg      sync.WaitGroup
	// stopped is closed at the first failure: no stream starts after it,
	// and those under way end as SpiceDB ends them, so that what the import
	// reports loaded is what SpiceDB holds.
	stopped chan struct{}

	// pending are the relationships of the next stream, as the slices Add
	// was given: they are not copied.
	pending  [][]Relationship
	npending int

	mu     sync.Mutex
	loaded int
	err    error
}

// StartImport starts a bulk import into SpiceDB; the caller must Close it.
func (c *Client) StartImport(ctx context.Context) *Import {
	im := &Import{c: c, ctx: ctx, size: c.importStreamSize, streams: make(chan [][]Relationship), stopped: make(chan struct{})}
	for range c.importStreams {
		im.wg.Add(1)
		go im.run()
	}
	return im
}

// run imports the streams handed to it, one at a time, until they end; after
// a failure it only drains them.
func (im *Import) run() {
	defer im.wg.Done()
	for rels := range im.streams {
		if im.failed() != nil {
			continue
		}
		n, err := im.c.importStream(im.ctx, rels)
		im.mu.Lock()
		im.loaded += n
		if err != nil && im.err == nil {
			im.err = err
			close(im.stopped)
		}
		im.mu.Unlock()
	}
}

// failed is the first stream's failure, if any.
func (im *Import) failed() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.err
}

// Add imports rels, which the import may keep until Close: the caller must
// not change them. It waits while every stream is busy; it returns the
// failure of an earlier stream, if any.
func (im *Import) Add(rels []Relationship) error {
	for len(rels) > 0 {
		n := min(len(rels), im.size-im.npending)
		im.pending = append(im.pending, rels[:n])
		im.npending += n
		rels = rels[n:]
		if im.npending == im.size {
			if err := im.send(); err != nil {
				return err
			}
		}
	}
	return im.failed()
}

// send hands the pending relationships to a stream.
func (im *Import) send() error {
	select {
	case im.streams <- im.pending:
		im.pending, im.npending = nil, 0
		return nil
	case <-im.stopped:
		return im.failed()
	case <-im.ctx.Done():
		return fmt.Errorf("spicedb ImportBulkRelationships: %w", errors.Join(ErrUnavailable, im.ctx.Err()))
	}
}

// Close sends what is pending, waits for every stream and returns how many
// relationships SpiceDB loaded. An import answers with no ZedToken, so
// Close ends with an empty WriteRelationships, whose token is newer than the
// import: the next read sees the imported relationships.
func (im *Import) Close() (int, error) {
	var err error
	if im.npending > 0 && im.failed() == nil {
		err = im.send()
	}
	close(im.streams)
	im.wg.Wait()
	if failed := im.failed(); failed != nil {
		return im.loaded, failed
	}
	if err != nil {
		return im.loaded, err
	}
	res, err := im.c.perms.WriteRelationships(im.ctx, &v1.WriteRelationshipsRequest{})
	if err := im.c.called("WriteRelationships", err); err != nil {
		return im.loaded, err
	}
	im.c.wrote(res.GetWrittenAt())
	return im.loaded, nil
}

// importStream imports rels, the parts of one stream, in one
// ImportBulkRelationships stream.
func (c *Client) importStream(ctx context.Context, parts [][]Relationship) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if a send fails
	stream, err := c.perms.ImportBulkRelationships(ctx)
	if err := c.called("ImportBulkRelationships", err); err != nil {
		return 0, err
	}
	msg := make([]*v1.Relationship, 0, importMessageSize)
	flush := func() (bool, error) {
		err := stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: msg})
		msg = msg[:0]
		if errors.Is(err, io.EOF) {
			return false, nil // the server ended the stream; CloseAndRecv tells why
		}
		if err != nil {
			return false, fmt.Errorf("spicedb ImportBulkRelationships: %w", errors.Join(ErrUnavailable, err))
		}
		return true, nil
	}
	open := true
sending:
	for _, rels := range parts {
		for _, r := range rels {
			msg = append(msg, toProto(r))
			if len(msg) == importMessageSize {
				if open, err = flush(); err != nil {
					return 0, err
				} else if !open {
					break sending
				}
			}
		}
	}
	if open && len(msg) > 0 {
		if _, err := flush(); err != nil {
			return 0, err
		}
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		return 0, fmt.Errorf("spicedb ImportBulkRelationships: %w", errors.Join(ErrUnavailable, err))
	}
	return int(res.GetNumLoaded()), nil
}
