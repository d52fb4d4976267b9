package authz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// SpiceDB's per-call limits, at its server defaults; a remote SpiceDB must
// not be configured below them.
const (
	// maxBatch is the most items one CheckBulkPermissions call carries
	// (SpiceDB answers at most 10,000).
	maxBatch = 10000
	// maxUpdatesPerWrite is the most updates one WriteRelationships call
	// carries (SpiceDB's --write-relationships-max-updates-per-call, 1,000).
	maxUpdatesPerWrite = 1000
	// importMessageSize is how many relationships one ImportBulkRelationships
	// message carries: a few hundred kilobytes, far below gRPC's 4 MB.
	importMessageSize = 1000
	// importStreamSize is how many relationships one ImportBulkRelationships
	// stream carries; each stream is one SpiceDB transaction. 1,000 was
	// chosen for SpiceDB's own memory datastore, whose commits grew with
	// everything loaded past a few thousand relationships a transaction;
	// memstore, the default now, does not (at 1M relationships, streams of
	// 20,000 were about 7% faster in two runs each). Short streams also stay
	// far inside SpiceDB's streaming timeout (30 s without a message from
	// the server).
	importStreamSize = 1_000
	// PersistentImportStreamSize is the import stream size for a SpiceDB on a
	// persistent datastore (PostgreSQL), which loads a stream with COPY:
	// there, longer streams mean fewer transactions and are faster, up to
	// about this size (100,000 was no faster).
	PersistentImportStreamSize = 20_000
	// PersistentImportStreams is how many import streams run at a time into
	// a SpiceDB on a persistent datastore. PostgreSQL loads a stream in one
	// backend, on one core, and its index maintenance is most of a rebuild's
	// work there: two streams use two backends (docs/performance-history.md,
	// "Rebuilding SpiceDB at start-up"). Memstore commits one write at a
	// time, so one stream suits it.
	PersistentImportStreams = 2
)

// Client wraps SpiceDB's v1 API. Every API call counts in
// pbxportal_spicedb_requests_total{method}. It remembers the newest ZedToken
// it has written; a read is at least as fresh as the revision its context
// carries (WithRevision), or else as that token.
type Client struct {
	perms    v1.PermissionsServiceClient
	schema   v1.SchemaServiceClient
	requests *prometheus.CounterVec
	// localLookups counts the lookups the LocalLookup answered (local.go).
	localLookups prometheus.Counter
	// importStreamSize is how many relationships one import stream carries;
	// importStreams is how many streams an import runs at a time.
	importStreamSize, importStreams int

	mu     sync.Mutex
	newest *v1.ZedToken
	// deps, when set, says which remembered answers a write leaves as they
	// are (carry.go).
	deps Dependencies
	// local, when set, answers some lookups from the database (local.go).
	local LocalLookup

	// answers remembers lookups and checks by request revision
	// (answercache.go).
	answers answerCache
	// localAnswers remembers, the same way, the database's answers: the
	// lookups the LocalLookup answered, and the checks a Batcher decided
	// from such lookups alone. Every change to the relationships goes
	// through the database (with a new revision), so that nothing ages
	// them: they are kept until a write changes them or the bounds evict
	// them, whatever answerCacheMaxAge does to SpiceDB's.
	localAnswers answerCache
	// flights are the lookups being answered, shared by the callers that
	// ask the same one meanwhile (flights.go).
	flights flights
}

// SetImportStreams sets how many relationships one bulk import stream (one
// SpiceDB transaction) carries and how many streams an import runs at a
// time; the defaults (1,000, one) suit the memory datastore. A value below 1
// leaves its setting as it is.
func (c *Client) SetImportStreams(size, streams int) {
	if size > 0 {
		c.importStreamSize = size
	}
	if streams > 0 {
		c.importStreams = streams
	}
}

// NewClient returns a client over conn, registering its metrics on reg
// (nil: not registered).
func NewClient(conn grpc.ClientConnInterface, reg prometheus.Registerer) (*Client, error) {
	c := &Client{
		perms:            v1.NewPermissionsServiceClient(conn),
		schema:           v1.NewSchemaServiceClient(conn),
		importStreamSize: importStreamSize,
		importStreams:    1,
		localAnswers:     answerCache{ageless: true},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pbxportal_spicedb_requests_total",
			Help: "SpiceDB API calls, by method.",
		}, []string{"method"}),
		localLookups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pbxportal_authz_local_lookups_total",
			Help: "Lookups answered from the database, by the model compiled to SQL, instead of SpiceDB.",
		}),
	}
	if reg != nil {
		for _, m := range []prometheus.Collector{c.requests, c.localLookups} {
			if err := reg.Register(m); err != nil {
				return nil, fmt.Errorf("authz: register metric: %w", err)
			}
		}
	}
	return c, nil
}

// called counts one API call and wraps its error, if any, with ErrUnavailable.
func (c *Client) called(method string, err error) error {
	c.requests.WithLabelValues(method).Inc()
	if err != nil {
		return fmt.Errorf("spicedb %s: %w", method, errors.Join(ErrUnavailable, err))
	}
	return nil
}

func (c *Client) wrote(t *v1.ZedToken) {
	if t == nil {
		return
	}
	c.mu.Lock()
	c.newest = t
	c.mu.Unlock()
	c.answers.clear()
	c.localAnswers.clear()
}

// WriteSchema writes the authorization model.
func (c *Client) WriteSchema(ctx context.Context, schema string) error {
	res, err := c.schema.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schema})
	if err := c.called("WriteSchema", err); err != nil {
		return err
	}
	c.wrote(res.GetWrittenAt())
	return nil
}

// WriteRelationships deletes and touches relationships, deletions first, in
// calls of at most maxUpdatesPerWrite updates; none when there is nothing to
// do. Each call is atomic, a large write as a whole is not: TOUCH and DELETE
// are idempotent, so a failed write is retried whole. No relationship may be
// both touched and deleted.
func (c *Client) WriteRelationships(ctx context.Context, touches, deletes []Relationship) error {
	updates := make([]*v1.RelationshipUpdate, 0, min(len(touches)+len(deletes), maxUpdatesPerWrite))
	flush := func() error {
		res, err := c.perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates})
		if err := c.called("WriteRelationships", err); err != nil {
			return err
		}
		c.wrote(res.GetWrittenAt())
		updates = updates[:0]
		return nil
	}
	for _, ops := range []struct {
		op   v1.RelationshipUpdate_Operation
		rels []Relationship
	}{
		{v1.RelationshipUpdate_OPERATION_DELETE, deletes},
		{v1.RelationshipUpdate_OPERATION_TOUCH, touches},
	} {
		for _, r := range ops.rels {
			updates = append(updates, &v1.RelationshipUpdate{Operation: ops.op, Relationship: toProto(r)})
			if len(updates) == maxUpdatesPerWrite {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if len(updates) > 0 {
		return flush()
	}
	return nil
}

// CheckBulk answers every check for one subject: result[i] answers checks[i].
func (c *Client) CheckBulk(ctx context.Context, subject Object, checks []Check) ([]bool, error) {
	out := make([]bool, 0, len(checks))
	for len(checks) > 0 {
		n := min(len(checks), maxBatch)
		items := make([]*v1.CheckBulkPermissionsRequestItem, n)
		for i, ch := range checks[:n] {
			items[i] = &v1.CheckBulkPermissionsRequestItem{
				Resource:   toRef(ch.Resource),
				Permission: ch.Permission,
				Subject:    &v1.SubjectReference{Object: toRef(subject)},
			}
		}
		consistency, err := c.consistency(ctx)
		if err != nil {
			return nil, err
		}
		res, err := c.perms.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{
			Consistency: consistency, Items: items,
		})
		if err := c.called("CheckBulkPermissions", err); err != nil {
			return nil, err
		}
		for _, pair := range res.GetPairs() {
			if e := pair.GetError(); e != nil {
				return nil, fmt.Errorf("spicedb CheckBulkPermissions item: %w", errors.Join(ErrUnavailable, errors.New(e.GetMessage())))
			}
			out = append(out, pair.GetItem().GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION)
		}
		checks = checks[n:]
	}
	return out, nil
}

// LookupResources returns the ids of the resourceType objects on which the
// subject has permission. A read at a request's revision (WithRevision) is
// answered from the answers remembered at that revision when there is one
// (answercache.go); the ids returned are then shared and must not be
// changed.
func (c *Client) LookupResources(ctx context.Context, resourceType, permission string, subject Object) ([]string, error) {
	ids, _, err := c.lookupResources(ctx, resourceType, permission, subject)
	return ids, err
}

// lookupResources is LookupResources, also saying whether the answer is
// the database's (the LocalLookup's, given now or remembered).
func (c *Client) lookupResources(ctx context.Context, resourceType, permission string, subject Object) ([]string, bool, error) {
	if ids, ok := bypassedLookup(ctx, resourceType); ok {
		return ids, false, nil
	}
	consistency, err := c.consistency(ctx)
	if err != nil {
		return nil, false, err
	}
	token := requestToken(ctx)
	key := lookupKey{subject: subject, resourceType: resourceType, perm: permission}
	if ids, local, ok := c.remembered(token, key); ok {
		return ids, local, nil
	}
	if token == "" {
		ids, err := c.lookUp(ctx, consistency, token, key)
		return ids, false, err
	}
	ids, err := c.flights.share(ctx, flightKey{token: token, lookup: key, spiceDB: AsksSpiceDB(ctx)}, func() ([]string, error) {
		// A caller that answered it between the check above and this
		// flight remembered the answer before its flight ended.
		if ids, _, ok := c.remembered(token, key); ok {
			return ids, nil
		}
		return c.lookUp(ctx, consistency, token, key)
	})
	if err != nil {
		return nil, false, err
	}
	// The flight's answer, the database's or SpiceDB's, was remembered
	// where it belongs (unless a write has cleared it since: then it
	// counts as SpiceDB's).
	_, local := c.localAnswers.lookup(token, key)
	return ids, local, nil
}

// remembered returns the answer to the lookup key remembered at token, the
// database's (local) or SpiceDB's.
func (c *Client) remembered(token string, key lookupKey) (ids []string, local, ok bool) {
	if ids, ok := c.localAnswers.lookup(token, key); ok {
		return ids, true, true
	}
	ids, ok = c.answers.lookup(token, key)
	return ids, false, ok
}

// rememberedChecks returns the answers remembered at token to subject's
// checks, the database's or SpiceDB's: known[i] says whether checks[i]
// was, allowed[i] its answer.
func (c *Client) rememberedChecks(token string, subject Object, checks []Check) (known, allowed []bool) {
	known, allowed = c.answers.checks(token, subject, checks)
	localKnown, localAllowed := c.localAnswers.checks(token, subject, checks)
	for i := range checks {
		if localKnown[i] {
			known[i], allowed[i] = true, localAllowed[i]
		}
	}
	return known, allowed
}

// lookUp answers the lookup key afresh, from the LocalLookup or SpiceDB, and
// remembers the answer under token.
func (c *Client) lookUp(ctx context.Context, consistency *v1.Consistency, token string, key lookupKey) ([]string, error) {
	resourceType, permission, subject := key.resourceType, key.perm, key.subject
	epoch, localEpoch := c.answers.now(), c.localAnswers.now()
	if ids, ok, err := c.localLookup(ctx, key); ok || err != nil {
		if err != nil {
			return nil, fmt.Errorf("authz: lookup %s#%s in the database: %w", resourceType, permission, err)
		}
		c.localLookups.Inc()
		c.localAnswers.putLookup(localEpoch, token, key, ids)
		return ids, nil
	}
	stream, err := c.perms.LookupResources(ctx, &v1.LookupResourcesRequest{
		Consistency:        consistency,
		ResourceObjectType: resourceType,
		Permission:         permission,
		Subject:            &v1.SubjectReference{Object: toRef(subject)},
	})
	if err := c.called("LookupResources", err); err != nil {
		return nil, err
	}
	var ids []string
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			c.answers.putLookup(epoch, token, key, ids)
			return ids, nil
		}
		if err != nil {
			return nil, fmt.Errorf("spicedb LookupResources: %w", errors.Join(ErrUnavailable, err))
		}
		ids = append(ids, res.GetResourceObjectId())
	}
}

// ReadRelationships returns every relationship whose resource is of resourceType.
func (c *Client) ReadRelationships(ctx context.Context, resourceType string) ([]Relationship, error) {
	consistency, err := c.consistency(ctx)
	if err != nil {
		return nil, err
	}
	stream, err := c.perms.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
		Consistency:        consistency,
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: resourceType},
	})
	if err := c.called("ReadRelationships", err); err != nil {
		return nil, err
	}
	var rels []Relationship
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return rels, nil
		}
		if err != nil {
			return nil, fmt.Errorf("spicedb ReadRelationships: %w", errors.Join(ErrUnavailable, err))
		}
		rels = append(rels, fromProto(res.GetRelationship()))
	}
}

// ExportRelationships streams every relationship SpiceDB holds, at its
// newest revision, through ExportBulkRelationships, handing them to fn a
// batch at a time (the batch is fn's to keep).
func (c *Client) ExportRelationships(ctx context.Context, fn func([]Relationship) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if fn fails
	stream, err := c.perms.ExportBulkRelationships(ctx, &v1.ExportBulkRelationshipsRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
	})
	if err := c.called("ExportBulkRelationships", err); err != nil {
		return err
	}
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("spicedb ExportBulkRelationships: %w", errors.Join(ErrUnavailable, err))
		}
		batch := make([]Relationship, len(res.GetRelationships()))
		for i, r := range res.GetRelationships() {
			batch[i] = fromProto(r)
		}
		if err := fn(batch); err != nil {
			return err
		}
	}
}

func toRef(o Object) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: o.Type, ObjectId: o.ID}
}

func toProto(r Relationship) *v1.Relationship {
	return &v1.Relationship{
		Resource: toRef(r.Resource),
		Relation: r.Relation,
		Subject:  &v1.SubjectReference{Object: toRef(r.Subject), OptionalRelation: r.SubjectRelation},
	}
}

func fromProto(r *v1.Relationship) Relationship {
	return Relationship{
		Resource:        Object{Type: r.GetResource().GetObjectType(), ID: r.GetResource().GetObjectId()},
		Relation:        r.GetRelation(),
		Subject:         Object{Type: r.GetSubject().GetObject().GetObjectType(), ID: r.GetSubject().GetObject().GetObjectId()},
		SubjectRelation: r.GetSubject().GetOptionalRelation(),
	}
}
