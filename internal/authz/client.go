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

// maxBatch is the most items one CheckBulkPermissions call carries.
const maxBatch = 10000

// maxUpdatesPerWrite is the most updates one WriteRelationships call carries:
// SpiceDB's default limit (MaximumUpdatesPerWrite).
const maxUpdatesPerWrite = 1000

// Client wraps SpiceDB's v1 API. Every API call counts in
// pbxportal_spicedb_requests_total{method}. It remembers the newest ZedToken
// it has written; a read is at least as fresh as the revision its context
// carries (WithRevision), or else as that token.
type Client struct {
	perms    v1.PermissionsServiceClient
	schema   v1.SchemaServiceClient
	requests *prometheus.CounterVec

	mu     sync.Mutex
	newest *v1.ZedToken
}

// NewClient returns a client over conn, registering its metric on reg
// (nil: not registered).
func NewClient(conn grpc.ClientConnInterface, reg prometheus.Registerer) (*Client, error) {
	c := &Client{
		perms:  v1.NewPermissionsServiceClient(conn),
		schema: v1.NewSchemaServiceClient(conn),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pbxportal_spicedb_requests_total",
			Help: "SpiceDB API calls, by method.",
		}, []string{"method"}),
	}
	if reg != nil {
		if err := reg.Register(c.requests); err != nil {
			return nil, fmt.Errorf("authz: register metric: %w", err)
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
// as few calls as the batch limit allows; none when there is nothing to do.
func (c *Client) WriteRelationships(ctx context.Context, touches, deletes []Relationship) error {
	updates := make([]*v1.RelationshipUpdate, 0, len(touches)+len(deletes))
	for _, r := range deletes {
		updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: toProto(r)})
	}
	for _, r := range touches {
		updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: toProto(r)})
	}
	for len(updates) > 0 {
		n := min(len(updates), maxUpdatesPerWrite)
		res, err := c.perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates[:n]})
		if err := c.called("WriteRelationships", err); err != nil {
			return err
		}
		c.wrote(res.GetWrittenAt())
		updates = updates[n:]
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
// subject has permission.
func (c *Client) LookupResources(ctx context.Context, resourceType, permission string, subject Object) ([]string, error) {
	consistency, err := c.consistency(ctx)
	if err != nil {
		return nil, err
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
