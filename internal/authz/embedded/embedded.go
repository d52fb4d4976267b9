// Package embedded runs SpiceDB in-process: on a memory datastore
// (memstore) for the embedded default and for tests, or on a PostgreSQL
// datastore, which persists and can be shared. It is the only package that
// links the SpiceDB server.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/authzed/grpcutil"
	"github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	spicedatastore "github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/migration"
	"github.com/authzed/spicedb/pkg/migrate"
	"github.com/pbxportal/pbxportal/internal/authz/embedded/memstore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Options say how to run the embedded SpiceDB. The zero Options are the
// embedded default: a memory datastore (memstore) reached over an in-memory
// connection.
type Options struct {
	// DatastoreURL, when set, is a postgres:// URL of SpiceDB's own
	// datastore, migrated to the newest version at start-up. SpiceDB's
	// relationships then persist, and several servers can share them.
	DatastoreURL string
	// ListenAddr, when set, also serves SpiceDB's gRPC API on this TCP
	// address (for other processes), guarded by PresharedKey.
	ListenAddr string
	// PresharedKey is the key that clients on ListenAddr must present.
	PresharedKey string
	// GCWindow is how long a revision of the memory datastore stays
	// readable after a newer one exists: row versions deleted longer ago
	// are freed. 0 means DefaultGCWindow. It does not apply to a PostgreSQL
	// datastore, whose garbage collection SpiceDB runs itself.
	GCWindow time.Duration

	// memdb runs SpiceDB's own memory datastore instead of memstore (for
	// comparisons in this package's benchmarks).
	memdb bool
}

// DefaultGCWindow is how long the memory datastore keeps a revision
// readable after a newer one exists. pbxportal reads at least as fresh as a
// ZedToken, which SpiceDB serves at the newer of the token's revision and
// the current quantized one (at most 5 s old), so a revision is read only
// while the requests that chose it run: two minutes is longer than any
// does, and bounds what deleted relationships keep to two minutes' writes.
const DefaultGCWindow = 2 * time.Minute

// Server is an in-process SpiceDB.
type Server struct {
	ds      spicedatastore.Datastore
	conn    *grpc.ClientConn
	cancel  context.CancelFunc
	done    chan error
	closeMu sync.Once
}

// Start starts an embedded SpiceDB; it runs until Close.
func Start(ctx context.Context, opts Options) (*Server, error) {
	dsOpts := []datastore.ConfigOption{datastore.DefaultDatastoreConfig().ToOption(), datastore.WithEngine(datastore.MemoryEngine)}
	if opts.DatastoreURL != "" {
		if err := migration.Run(ctx, &migration.Config{
			DatastoreEngine: datastore.PostgresEngine, DatastoreURI: opts.DatastoreURL,
			Timeout: time.Hour, BatchSize: 1000,
		}, migrate.Head); err != nil {
			return nil, fmt.Errorf("embedded: migrate spicedb's postgres datastore: %w", err)
		}
		dsOpts = append(dsOpts, datastore.WithEngine(datastore.PostgresEngine), datastore.WithURI(opts.DatastoreURL))
	}
	var ds spicedatastore.Datastore
	var err error
	switch {
	case opts.DatastoreURL != "" || opts.memdb:
		ds, err = datastore.NewDatastore(ctx, dsOpts...)
	default:
		window := opts.GCWindow
		if window <= 0 {
			window = DefaultGCWindow
		}
		// SpiceDB's default quantization (5 s), or half the window if that
		// is shorter (tests): a quantized revision must stay readable.
		quantum := min(datastore.DefaultDatastoreConfig().RevisionQuantization, window/2)
		ds, err = memstore.New(memstore.Options{GCWindow: window, Quantization: quantum})
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: spicedb datastore: %w", err)
	}
	// The in-memory server hands each call to one of a few long-lived
	// goroutines (gRPC's stream workers, a new goroutine only when all are
	// busy) instead of a new goroutine per call, whose stack would grow
	// again through SpiceDB's deep middleware every time.
	grpcConfig := util.GRPCServerConfig{Network: util.BufferedNetwork, Enabled: true, MaxWorkers: uint32(4 * runtime.GOMAXPROCS(0))}
	auth := server.WithGRPCAuthFunc(func(ctx context.Context) (context.Context, error) { return ctx, nil })
	if opts.ListenAddr != "" {
		if opts.PresharedKey == "" {
			_ = ds.Close()
			return nil, errors.New("embedded: a listening spicedb needs a preshared key")
		}
		grpcConfig = util.GRPCServerConfig{Network: "tcp", Address: opts.ListenAddr, Enabled: true}
		auth = server.WithPresharedSecureKey(opts.PresharedKey)
	}
	configOpts := []server.ConfigOption{
		server.WithDatastore(ds),
		server.WithGRPCServer(grpcConfig),
		auth,
		server.WithHTTPGateway(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithMetricsAPI(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithDispatchServer(util.GRPCServerConfig{Enabled: false}),
		// SpiceDB's production defaults have these caches on; their entries are
		// keyed by revision, so a read at least as fresh as a write never sees
		// a cached answer from before it. Sizes are fixed rather than a share
		// of the machine, since SpiceDB shares this process. Their metrics
		// stay off: the process may run several embedded servers (tests).
		server.WithDispatchCacheConfig(server.CacheConfig{Name: "dispatch", Enabled: true, MaxCost: "64MiB"}),
		server.WithNamespaceCacheConfig(server.CacheConfig{Name: "namespace", Enabled: true, MaxCost: "16MiB"}),
		server.WithClusterDispatchCacheConfig(server.CacheConfig{Enabled: false, Metrics: false}),
		server.WithEnableMemoryProtectionMiddleware(false),
	}
	if opts.ListenAddr == "" {
		configOpts = append(configOpts, inProcessMiddleware()...)
	}
	srv, err := server.NewConfigWithOptionsAndDefaults(configOpts...).Complete(ctx)
	if err != nil {
		_ = ds.Close()
		return nil, fmt.Errorf("embedded: configure embedded spicedb: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Server{cancel: cancel, done: make(chan error, 1), ds: ds}
	go func() { e.done <- srv.Run(runCtx) }()
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if opts.ListenAddr != "" {
		dial = append(dial, grpcutil.WithInsecureBearerToken(opts.PresharedKey))
	}
	e.conn, err = srv.NewClient(dial...)
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
		err = errors.Join(err, e.ds.Close())
	})
	return err
}

// inProcessDropped returns the names of the middleware of SpiceDB's default chain that an
// in-process server, one that serves nobody but this process, runs without.
// Each does nothing pbxportal keeps, yet costs every call:
//   - requestid makes an id for every call and returns it in the call's
//     trailer, which pbxportal never reads; log puts it in a logger.
//     SpiceDB's logger is a no-op here (pbxportal never sets it), so
//     grpclog's per-call line, built field by field, goes nowhere either.
//   - grpcprom counts and times calls in Prometheus's default registry,
//     which pbxportal never serves (its own counts every call by method).
//   - memoryprotection is off (it accepts every call).
//   - grpcauth runs an authentication function that accepts every call: the
//     in-memory listener can be reached only from this process.
//   - serverversion answers only a client asking for SpiceDB's version.
//
// (grpcauth and memoryprotection could not stay without grpcprom anyway:
// in test binaries SpiceDB checks that grpcprom ran before them.)
//
// What decides an answer stays: the services' request validation
// (servicespecific), and the dispatch, datastore and consistency
// middleware, so a read is still at least as fresh as its token.
func inProcessDropped() []string {
	return []string{
		server.DefaultMiddlewareRequestID,
		server.DefaultMiddlewareLog,
		server.DefaultMiddlewareGRPCLog + "-debug",
		server.DefaultMiddlewareGRPCLog,
		server.DefaultMiddlewareGRPCProm,
		server.DefaultMiddlewareMemoryProtection,
		server.DefaultMiddlewareGRPCAuth,
		server.DefaultMiddlewareServerVersion,
	}
}

// inProcessMiddleware are the options that take inProcessDropped's middleware out of
// SpiceDB's unary and streaming chains.
func inProcessMiddleware() []server.ConfigOption {
	dropped := inProcessDropped()
	opts := make([]server.ConfigOption, 0, 2*len(dropped))
	for _, name := range dropped {
		opts = append(opts,
			server.WithUnaryMiddlewareModification(server.MiddlewareModification[grpc.UnaryServerInterceptor]{
				DependencyMiddlewareName: name, Operation: server.OperationReplace,
			}),
			server.WithStreamingMiddlewareModification(server.MiddlewareModification[grpc.StreamServerInterceptor]{
				DependencyMiddlewareName: name, Operation: server.OperationReplace,
			}))
	}
	return opts
}
