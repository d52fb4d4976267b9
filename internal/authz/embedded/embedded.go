// Package embedded runs SpiceDB in-process, on a memory datastore, for the
// embedded default and for tests. It is the only package that links the
// SpiceDB server.
package embedded

import (
	"context"
	"fmt"
	"sync"

	"github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Server is an in-process SpiceDB on a memory datastore, reached over a
// buffered, in-memory gRPC connection.
type Server struct {
	conn    *grpc.ClientConn
	cancel  context.CancelFunc
	done    chan error
	closeMu sync.Once
}

// Start starts an embedded SpiceDB; it runs until Close.
func Start(ctx context.Context) (*Server, error) {
	ds, err := datastore.NewDatastore(ctx, datastore.DefaultDatastoreConfig().ToOption(),
		datastore.WithEngine(datastore.MemoryEngine))
	if err != nil {
		return nil, fmt.Errorf("embedded: memory datastore: %w", err)
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
		return nil, fmt.Errorf("embedded: configure embedded spicedb: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Server{cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- srv.Run(runCtx) }()
	e.conn, err = srv.NewClient(grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("embedded: connect to embedded spicedb: %w", err)
	}
	return e, nil
}

// Conn returns the connection to the embedded server.
func (e *Server) Conn() *grpc.ClientConn { return e.conn }

// Close stops the server and closes the connection. It is safe to call twice.
func (e *Server) Close() error {
	var err error
	e.closeMu.Do(func() {
		err = e.conn.Close()
		e.cancel()
		<-e.done
	})
	return err
}
