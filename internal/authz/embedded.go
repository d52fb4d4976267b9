package authz

import (
	"context"
	"fmt"
	"sync"

	"github.com/authzed/grpcutil"
	"github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Embedded is an in-process SpiceDB on a memory datastore, reached over a
// buffered, in-memory gRPC connection.
type Embedded struct {
	conn    *grpc.ClientConn
	cancel  context.CancelFunc
	done    chan error
	closeMu sync.Once
}

// StartEmbedded starts an embedded SpiceDB; it runs until Close.
func StartEmbedded(ctx context.Context) (*Embedded, error) {
	ds, err := datastore.NewDatastore(ctx, datastore.DefaultDatastoreConfig().ToOption(),
		datastore.WithEngine(datastore.MemoryEngine))
	if err != nil {
		return nil, fmt.Errorf("authz: memory datastore: %w", err)
	}
	srv, err := server.NewConfigWithOptionsAndDefaults(
		server.WithDatastore(ds),
		server.WithGRPCServer(util.GRPCServerConfig{Network: util.BufferedNetwork, Enabled: true}),
		server.WithGRPCAuthFunc(func(ctx context.Context) (context.Context, error) { return ctx, nil }),
		server.WithHTTPGateway(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithMetricsAPI(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithDispatchServer(util.GRPCServerConfig{Enabled: false}),
		server.WithDispatchCacheConfig(server.CacheConfig{Enabled: false, Metrics: false}),
		server.WithNamespaceCacheConfig(server.CacheConfig{Enabled: false, Metrics: false}),
		server.WithClusterDispatchCacheConfig(server.CacheConfig{Enabled: false, Metrics: false}),
		server.WithEnableMemoryProtectionMiddleware(false),
	).Complete(ctx)
	if err != nil {
		_ = ds.Close()
		return nil, fmt.Errorf("authz: configure embedded spicedb: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Embedded{cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- srv.Run(runCtx) }()
	e.conn, err = srv.NewClient(grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("authz: connect to embedded spicedb: %w", err)
	}
	return e, nil
}

// Conn returns the connection to the embedded server.
func (e *Embedded) Conn() *grpc.ClientConn { return e.conn }

// Close stops the server and closes the connection. It is safe to call twice.
func (e *Embedded) Close() error {
	var err error
	e.closeMu.Do(func() {
		err = e.conn.Close()
		e.cancel()
		<-e.done
	})
	return err
}

// Dial connects to a remote SpiceDB with a preshared key: over TLS with the
// system's certificates, or in plain text when insecure.
func Dial(endpoint, token string, insecureConn bool) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{}
	if insecureConn {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(token))
	} else {
		certs, err := grpcutil.WithSystemCerts(grpcutil.VerifyCA)
		if err != nil {
			return nil, fmt.Errorf("authz: system certificates: %w", err)
		}
		opts = append(opts, certs, grpcutil.WithBearerToken(token))
	}
	conn, err := grpc.NewClient(endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("authz: dial %s: %w", endpoint, err)
	}
	return conn, nil
}
