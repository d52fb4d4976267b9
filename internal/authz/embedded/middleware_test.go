package embedded

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/authzed/authzed-go/pkg/responsemeta"
	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// middlewareSchema is enough schema for valid requests to succeed.
const middlewareSchema = `definition user {}
definition doc {
    relation viewer: user
    permission view = viewer
}`

// call is one SpiceDB call over conn; it returns the call's error and its
// trailer.
type call func(ctx context.Context, conn grpc.ClientConnInterface) (metadata.MD, error)

// The calls below are each made valid and malformed: malformed ones break a
// rule of SpiceDB's generated validation (protovalidate) or of its
// handwritten one, on a unary and on a streaming method.
var (
	validCheck = checkCall(&v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		Resource:    &v1.ObjectReference{ObjectType: "doc", ObjectId: "1"}, Permission: "view",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "1"}},
	})
	// A wildcard resource id is refused by the handwritten validation.
	wildcardCheck = checkCall(&v1.CheckPermissionRequest{
		Resource: &v1.ObjectReference{ObjectType: "doc", ObjectId: "*"}, Permission: "view",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "1"}},
	})
	// A type name with capitals and spaces is refused by the generated
	// validation.
	badTypeCheck = checkCall(&v1.CheckPermissionRequest{
		Resource: &v1.ObjectReference{ObjectType: "Not A Type", ObjectId: "1"}, Permission: "view",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "1"}},
	})
	// Fully consistent, like validCheck: at the default consistency the
	// server may read at a quantized revision from before the schema was
	// written ("object definition `doc` not found", seen once).
	validLookup = lookupCall(&v1.LookupResourcesRequest{
		Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		ResourceObjectType: "doc", Permission: "view",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "1"}},
	})
	// A type name with capitals and spaces is refused by the generated
	// validation, on a streaming method.
	badTypeLookup = lookupCall(&v1.LookupResourcesRequest{
		ResourceObjectType: "Not A Type", Permission: "view",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "1"}},
	})
	// A wildcard resource id in a write is refused by the handwritten
	// validation.
	wildcardWrite = func(ctx context.Context, conn grpc.ClientConnInterface) (metadata.MD, error) {
		var md metadata.MD
		_, err := v1.NewPermissionsServiceClient(conn).WriteRelationships(ctx, &v1.WriteRelationshipsRequest{
			Updates: []*v1.RelationshipUpdate{{
				Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
				Relationship: &v1.Relationship{
					Resource: &v1.ObjectReference{ObjectType: "doc", ObjectId: "*"}, Relation: "viewer",
					Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "1"}},
				},
			}},
		}, grpc.Trailer(&md))
		return md, err
	}
)

func checkCall(req *v1.CheckPermissionRequest) call {
	return func(ctx context.Context, conn grpc.ClientConnInterface) (metadata.MD, error) {
		var md metadata.MD
		_, err := v1.NewPermissionsServiceClient(conn).CheckPermission(ctx, req, grpc.Trailer(&md))
		return md, err
	}
}

func lookupCall(req *v1.LookupResourcesRequest) call {
	return func(ctx context.Context, conn grpc.ClientConnInterface) (metadata.MD, error) {
		stream, err := v1.NewPermissionsServiceClient(conn).LookupResources(ctx, req)
		if err != nil {
			return nil, err
		}
		for {
			if _, err := stream.Recv(); err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				return stream.Trailer(), err
			}
		}
	}
}

// startWithSchema starts an embedded SpiceDB with opts holding
// middlewareSchema, closed when the test ends.
func startWithSchema(t *testing.T, opts Options) *Server {
	t.Helper()
	ctx := context.Background()
	srv, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if _, err := v1.NewSchemaServiceClient(srv.Conn()).WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: middlewareSchema}); err != nil {
		t.Fatal(err)
	}
	return srv
}

// freeAddr is a loopback TCP address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// dialKey connects to addr presenting key ("" presents none).
func dialKey(t *testing.T, addr, key string) *grpc.ClientConn {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if key != "" {
		opts = append(opts, grpcutil.WithInsecureBearerToken(key))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// TestMiddleware checks which of SpiceDB's middleware runs. In process
// (no ListenAddr), the chain without logging, metrics, request ids and the
// accept-all authentication still validates every request as SpiceDB's full
// chain does; a server listening on ListenAddr keeps the full chain: it
// still refuses a wrong or missing preshared key, validates requests and
// tags each answer with a request id.
func TestMiddleware(t *testing.T) {
	const key = "the-right-key"
	inProcess := startWithSchema(t, Options{})
	addr := freeAddr(t)
	listening := startWithSchema(t, Options{ListenAddr: addr, PresharedKey: key})

	tests := []struct {
		name      string
		conn      grpc.ClientConnInterface
		call      call
		want      codes.Code
		requestID bool // whether the answer carries a request id
	}{
		{"in process: valid check", inProcess.Conn(), validCheck, codes.OK, false},
		{"in process: valid lookup", inProcess.Conn(), validLookup, codes.OK, false},
		{"in process: wildcard check (handwritten validation)", inProcess.Conn(), wildcardCheck, codes.InvalidArgument, false},
		{"in process: bad type (generated validation)", inProcess.Conn(), badTypeCheck, codes.InvalidArgument, false},
		{"in process: bad type in a stream (generated validation)", inProcess.Conn(), badTypeLookup, codes.InvalidArgument, false},
		{"in process: wildcard write (handwritten validation)", inProcess.Conn(), wildcardWrite, codes.InvalidArgument, false},

		{"listening: valid check", listening.Conn(), validCheck, codes.OK, true},
		{"listening: valid lookup", listening.Conn(), validLookup, codes.OK, true},
		{"listening: wildcard check (handwritten validation)", listening.Conn(), wildcardCheck, codes.InvalidArgument, true},
		{"listening: bad type (generated validation)", listening.Conn(), badTypeCheck, codes.InvalidArgument, true},
		{"listening: bad type in a stream (generated validation)", listening.Conn(), badTypeLookup, codes.InvalidArgument, true},
		{"listening: wildcard write (handwritten validation)", listening.Conn(), wildcardWrite, codes.InvalidArgument, true},
		{"listening: wrong key, check", dialKey(t, addr, "a-wrong-key"), validCheck, codes.PermissionDenied, true},
		{"listening: wrong key, lookup", dialKey(t, addr, "a-wrong-key"), validLookup, codes.PermissionDenied, true},
		{"listening: no key", dialKey(t, addr, ""), validCheck, codes.Unauthenticated, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := tt.call(context.Background(), tt.conn)
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
			if got := len(md.Get(string(responsemeta.RequestID))) > 0; got != tt.requestID {
				t.Errorf("request id in the trailer = %v, want %v (trailer %v)", got, tt.requestID, md)
			}
		})
	}
}
