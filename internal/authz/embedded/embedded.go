// Package embedded runs SpiceDB in-process: on a memory datastore for the
// embedded default and for tests, or on a PostgreSQL datastore, which
// persists and can be shared. It is the only package that links the SpiceDB
// server.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/authzed/grpcutil"
	"github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	spicedatastore "github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/migration"
	"github.com/authzed/spicedb/pkg/migrate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Options say how to run the embedded SpiceDB. The zero Options are the
// embedded default: a memory datastore reached over an in-memory connection.
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
	// CompactEvery is how many write transactions the memory datastore takes
	// before it is copied into a fresh one, which frees the snapshots and
	// changelog its writes retained (see compactingDatastore): 0 means
	// DefaultCompactEvery, a negative number never. It does not apply to a
	// PostgreSQL datastore, whose garbage collection SpiceDB runs itself.
	CompactEvery int
	// Log, when set, is told of every compaction of the memory datastore.
	Log *slog.Logger
}

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
	if every := opts.CompactEvery; opts.DatastoreURL == "" && every >= 0 {
		if every == 0 {
			every = DefaultCompactEvery
		}
		var c *compactingDatastore
		c, err = newCompactingDatastore(ctx, every, func(ctx context.Context) (spicedatastore.Datastore, error) {
			return datastore.NewDatastore(ctx, dsOpts...)
		})
		if err == nil {
			ds = c
			if opts.Log != nil {
				c.onCompact = func(err error, took time.Duration) {
					if err != nil {
						opts.Log.Warn("compacting SpiceDB's memory datastore failed; its retained revisions keep growing until the next try", "error", err)
						return
					}
					opts.Log.Info("compacted SpiceDB's memory datastore", "writes", every, "took", took.Round(time.Millisecond))
				}
			}
		}
	} else {
		ds, err = datastore.NewDatastore(ctx, dsOpts...)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: spicedb datastore: %w", err)
	}
	grpcConfig := util.GRPCServerConfig{Network: util.BufferedNetwork, Enabled: true}
	auth := server.WithGRPCAuthFunc(func(ctx context.Context) (context.Context, error) { return ctx, nil })
	if opts.ListenAddr != "" {
		if opts.PresharedKey == "" {
			_ = ds.Close()
			return nil, errors.New("embedded: a listening spicedb needs a preshared key")
		}
		grpcConfig = util.GRPCServerConfig{Network: "tcp", Address: opts.ListenAddr, Enabled: true}
		auth = server.WithPresharedSecureKey(opts.PresharedKey)
	}
	srv, err := server.NewConfigWithOptionsAndDefaults(
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
	).Complete(ctx)
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
