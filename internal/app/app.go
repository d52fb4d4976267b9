// Package app assembles pbxportal: the database, SpiceDB (embedded or
// remote), the projection and its outbox relay, the signing key, and the HTTP
// handler. It is the composition root shared by the CLI and the acceptance
// tests.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/99designs/gqlgen/graphql"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/migrate"
	"github.com/pbxportal/pbxportal/ent/migrate/migrations"
	"github.com/pbxportal/pbxportal/graph"
	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/audit"
	"github.com/pbxportal/pbxportal/internal/auth"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/depends"
	"github.com/pbxportal/pbxportal/internal/authz/embedded"
	"github.com/pbxportal/pbxportal/internal/authz/model"
	"github.com/pbxportal/pbxportal/internal/authz/outbox"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/cors"
	"github.com/pbxportal/pbxportal/internal/dbwrite"
	"github.com/pbxportal/pbxportal/internal/demo"
	"github.com/pbxportal/pbxportal/internal/events"
	"github.com/pbxportal/pbxportal/internal/media"
	"github.com/pbxportal/pbxportal/internal/migration"
	"github.com/pbxportal/pbxportal/internal/ratelimit"
	"github.com/pbxportal/pbxportal/internal/requestlog"
	"github.com/pbxportal/pbxportal/internal/rowlock"
	"github.com/pbxportal/pbxportal/internal/rules"
	"github.com/pbxportal/pbxportal/internal/server"
	"github.com/pbxportal/pbxportal/internal/session"
	"github.com/pbxportal/pbxportal/internal/stmtcache"
)

// Config is how pbxportal runs. The zero values (but DataDir) are the
// embedded default: SQLite in DataDir and an in-process SpiceDB.
type Config struct {
	// DataDir holds the SQLite database and the token signing key.
	DataDir string
	// DatabaseURL, when set, is a postgres:// URL used instead of SQLite.
	// Its schema is changed only by Migrate, never at start-up.
	DatabaseURL string
	// DatabaseMaxConns bounds the connections one replica opens to
	// PostgreSQL, and as many are kept open between requests; zero means
	// DefaultDatabaseMaxConns.
	DatabaseMaxConns int
	// SpiceDBEndpoint, when set, is a remote SpiceDB used instead of the embedded one.
	SpiceDBEndpoint string
	// SpiceDBToken is the preshared key of the remote SpiceDB.
	SpiceDBToken string
	// SpiceDBTokenFile, when set, is a file holding that key (surrounding
	// white space ignored), so that it need not be on a command line.
	SpiceDBTokenFile string
	// SpiceDBInsecure disables TLS to the remote SpiceDB.
	SpiceDBInsecure bool
	// SpiceDBDatastoreURL, when set (and SpiceDBEndpoint is not), runs the
	// embedded SpiceDB on this PostgreSQL datastore instead of in memory:
	// its relationships persist across restarts.
	SpiceDBDatastoreURL string
	// Demo loads the demo dataset if the database is empty. It is on for the
	// embedded default; with DatabaseURL it must be asked for.
	Demo bool
	// Limits bound what one GraphQL request may cost; zero fields take
	// their defaults.
	Limits server.Limits
	// SeparateMetrics serves /metrics only through MetricsHandler, on an
	// address of its own, not on the API's.
	SeparateMetrics bool
	// TokenTTL is how long a login token lives, and the most a token is
	// accepted for: one claiming a longer life is refused.
	TokenTTL time.Duration
	// Now is the clock of the login limits (time.Now when nil); tests set
	// it to pass a lockout without sleeping.
	Now func() time.Time
	// Log receives the server's own logs.
	Log *slog.Logger
	// DisableGraphiQL turns GraphiQL at / off, e.g. in production.
	DisableGraphiQL bool
	// CORSOrigins are the other origins (scheme://host[:port]) whose pages
	// may call the API; none by default.
	CORSOrigins []string
	// SubscriptionRecheck is how long a quiet subscription waits before it
	// checks its viewer's right again; zero means graph.DefaultRecheck.
	SubscriptionRecheck time.Duration
}

// DefaultDatabaseMaxConns is how many connections a replica opens to
// PostgreSQL at most, unless configured otherwise.
const DefaultDatabaseMaxConns = 20

// MediaDir is where recordings' audio is kept: media/ in the data dir.
func (c Config) MediaDir() string { return filepath.Join(c.DataDir, "media") }

// App is a running pbxportal.
type App struct {
	Client *ent.Client
	Spice  *authz.Client
	Relay  *outbox.Relay
	// Events carries agent-status changes to this process's subscriptions.
	Events   *events.Broker
	Signer   *auth.Signer
	Media    *media.Signer
	Registry *prometheus.Registry
	// CORS is the allowlist of origins, for the WebSocket upgrade too.
	CORS *cors.Policy

	handler  http.Handler
	db       *sql.DB
	embedded *embedded.Server
	stop     context.CancelFunc
}

// Open starts pbxportal: it opens the database (see OpenStore), starts or dials
// SpiceDB, writes schema.zed, loads the demo if asked and the database is
// empty, rebuilds SpiceDB's projection from the database, and starts the
// outbox relay.
func Open(ctx context.Context, cfg Config) (_ *App, err error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	// Every line logged during a request names its request id, the
	// resolvers' (failed logins, say) as well as the server's.
	cfg.Log = slog.New(requestlog.Handler(cfg.Log.Handler()))
	a := &App{Registry: prometheus.NewRegistry()}
	if a.CORS, err = cors.New(cfg.CORSOrigins); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	store, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.Client, a.Signer, a.db = store.Client, store.Signer, store.db
	if cfg.DatabaseURL != "" && cfg.SpiceDBEndpoint == "" && cfg.SpiceDBDatastoreURL == "" {
		cfg.Log.WarnContext(ctx, "SpiceDB runs in memory in this process: run one replica only; "+
			"replicas must share one SpiceDB (--spicedb-endpoint, or --spicedb-datastore-url on every replica)")
	}
	conn, err := a.connectSpiceDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if a.Spice, err = authz.NewClient(conn, a.Registry); err != nil {
		return nil, err
	}
	// Answers remembered at one revision outlive the outbox's writes that
	// cannot change them (a new recording changes no one's grants).
	deps, err := depends.New(model.Schema)
	if err != nil {
		return nil, err
	}
	a.Spice.CarryAcrossWrites(deps)
	if a.embedded != nil && cfg.SpiceDBDatastoreURL == "" && !deps.Expires() {
		// Only this process reaches an in-process SpiceDB on the memory
		// datastore (it listens on no address): no write can come from
		// elsewhere, so answers need no age limit, unless relationships
		// expire, which changes answers with no write at all.
		a.Spice.KeepAnswersUntilChanged()
	}
	if a.embedded == nil || cfg.SpiceDBDatastoreURL != "" {
		a.Spice.SetImportStreams(authz.PersistentImportStreamSize, authz.PersistentImportStreams)
	}
	a.Relay = outbox.NewRelay(a.Client, a.Spice, cfg.Log, store.postgres)
	// A new model changes what SpiceDB answers: its revision is recorded like
	// any other write, so that no replica keeps answers from before it.
	if err := a.Relay.Exclusive(ctx, func(ctx context.Context) error { return a.Spice.WriteSchema(ctx, model.Schema) }); err != nil {
		return nil, fmt.Errorf("write schema.zed: %w", err)
	}
	// Rules first: a refused change is refused before anything else runs.
	// Then session: a change that must end the user's tokens gives it a new
	// credential stamp.
	locker := rowlock.Locker{Enabled: store.postgres}
	a.Client.User.Use(rules.Hook(locker), session.Hook())
	a.Client.Domain.Use(rules.PlanHook(locker))
	a.Client.Use(audit.Hook(), projection.Hook(a.Relay, locker))
	a.Client.Use(rules.MembershipHooks(locker)...)
	a.Events = events.NewBroker()
	a.Client.QueueAgent.Use(events.Hook(a.Events, store.postgres))

	if cfg.Demo {
		switch err := demo.Load(ctx, a.Client, cfg.MediaDir()); {
		case errors.Is(err, demo.ErrNotEmpty):
		case err != nil:
			return nil, err
		default:
			cfg.Log.InfoContext(ctx, "loaded the demo dataset into the empty database; every demo user's password is in README.md")
		}
	}
	if err := a.Relay.Apply(ctx); err != nil {
		return nil, err
	}
	if err := a.rebuild(ctx); err != nil {
		return nil, fmt.Errorf("rebuild the projection: %w", err)
	}
	if cfg.SpiceDBDatastoreURL != "" && cfg.SpiceDBEndpoint == "" {
		if err := analyzeDatastore(ctx, cfg.SpiceDBDatastoreURL); err != nil {
			return nil, err
		}
	}

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stop = stop
	go a.Relay.Run(runCtx, 2*time.Second)
	if store.postgres {
		if err := events.Listen(runCtx, cfg.DatabaseURL, a.Events, cfg.Log); err != nil {
			return nil, fmt.Errorf("listen for agent-status events: %w", err)
		}
	}

	a.Media = media.NewSigner(store.key, 5*time.Minute)
	resolver, err := graph.NewResolver(a.Client, a.Spice, a.Signer, a.Media)
	if err != nil {
		return nil, err
	}
	// The viewer's own relations are read from the database, which the
	// projection writes them from: one indexed query, where SpiceDB, at a
	// revision it has not answered at, evaluates the lookup afresh.
	a.Spice.AnswerLocally(resolver.LocalLookup())
	gi, err := a.graphiQL(ctx, cfg)
	if err != nil {
		return nil, err
	}
	resolver.WithLive(graph.Live{
		Broker:  a.Events,
		Rescope: server.Rescope(a.Client, a.Spice, a.Relay.Settle, cfg.Log),
		Recheck: cfg.SubscriptionRecheck,
	})
	resolver.LimitLogins(ratelimit.NewLogins(cfg.Now), cfg.Log)
	a.handler = server.Handler(server.Deps{
		Schema:   resolver.Schema(),
		Fields:   []graphql.FieldMiddleware{resolver.WhereVisibility, resolver.PrimeChecks, resolver.EdgeVisibility},
		Client:   a.Client,
		Spice:    a.Spice,
		Signer:   a.Signer,
		Registry: a.Registry,
		Log:      cfg.Log,
		Ready:    a.ready,
		Media:    a.Media.Handler(a.Client, a.Spice, a.Relay.Settle, cfg.MediaDir()),
		Settle:   a.Relay.Settle,
		GraphiQL: gi,
		CORS:     a.CORS,

		Operations:      []graphql.OperationMiddleware{resolver.EventScopes, resolver.SecretBudget},
		OriginAllowed:   a.CORS.Allowed,
		Limits:          cfg.Limits,
		SeparateMetrics: cfg.SeparateMetrics,
	})
	return a, nil
}

// Store is the database and the token signer: what needs no SpiceDB.
type Store struct {
	Client   *ent.Client
	Signer   *auth.Signer
	key      []byte
	db       *sql.DB
	postgres bool
}

// OpenStore opens the database and loads (or creates) the token signing key
// in the data dir. SQLite is migrated in place; PostgreSQL must already have
// every versioned migration applied (see Migrate), or OpenStore refuses it
// with an error that says to run `pbxportal migrate`.
func OpenStore(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 12 * time.Hour
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := secureDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	drv, postgres, err := openDB(cfg)
	if err != nil {
		return nil, err
	}
	client := ent.NewClient(ent.Driver(drv))
	if err := prepareSchema(ctx, client, drv, postgres); err != nil {
		_ = client.Close()
		return nil, err
	}
	if postgres {
		// Each transaction from its first statement only: a mutation holds
		// none while it hashes a password or asks SpiceDB.
		client = ent.NewClient(ent.Driver(dbwrite.Defer(drv)))
	} else {
		// The same, and one writer at a time: SQLite never answers
		// "database is locked". Its queries keep their statements, which
		// its driver does not (pgx does).
		client = ent.NewClient(ent.Driver(stmtcache.Wrap(dbwrite.Serialize(drv, sqliteWriteWait), drv.DB(), sqliteStatements)))
	}
	// SQLite has created its files (the database, its WAL) by now.
	if err := secureDataDir(cfg.DataDir); err != nil {
		_ = client.Close()
		return nil, err
	}
	// Every client that writes recordings keeps their normalised numbers,
	// which number rights select by; rows from before the columns get them
	// here, once.
	client.Recording.Use(projection.NumbersHook())
	// Likewise the owner's site stored on each recording, which a site
	// manager's right selects by: on every write of a recording's owner or
	// of a user's site, in its transaction.
	ownerSites := projection.OwnerSiteHook(rowlock.Locker{Enabled: postgres}, drv.Dialect())
	client.Recording.Use(ownerSites)
	client.User.Use(ownerSites)
	// A list's totalCount may be counted in parts, each by its own index.
	client.Intercept(access.CountByParts())
	if _, err := projection.BackfillNumbers(ctx, client, drv.Dialect()); err != nil {
		_ = client.Close()
		return nil, err
	}
	if _, err := projection.BackfillOwnerSites(ctx, client, drv.Dialect()); err != nil {
		_ = client.Close()
		return nil, err
	}
	key, err := auth.LoadOrCreateKey(filepath.Join(cfg.DataDir, "signing.key"))
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	signer, err := auth.NewSigner(key, cfg.TokenTTL)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	return &Store{Client: client, Signer: signer, key: key, db: drv.DB(), postgres: postgres}, nil
}

// prepareSchema migrates SQLite in place, and refuses a PostgreSQL database
// that is behind the versioned migrations.
func prepareSchema(ctx context.Context, client *ent.Client, drv *entsql.Driver, postgres bool) error {
	if !postgres {
		if err := migrate.Create(ctx, client.Schema, migration.Tables()); err != nil {
			return fmt.Errorf("migrate database: %w", err)
		}
		if err := rewriteTimes(ctx, drv.DB()); err != nil {
			return err
		}
		return moveAuditEventIDs(ctx, drv.DB())
	}
	dir, err := migrations.Dir()
	if err != nil {
		return err
	}
	var behind *migration.BehindError
	switch err := migration.Check(ctx, drv.DB(), dir); {
	case errors.As(err, &behind):
		return err
	case err != nil:
		return fmt.Errorf("check the database schema: %w", err)
	}
	return nil
}

// Migrate applies the pending versioned migrations to the PostgreSQL
// database of cfg.DatabaseURL and returns the versions it applied; none when
// the database is up to date.
func Migrate(ctx context.Context, cfg Config, opts migration.Options) ([]string, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("migrate applies the versioned migrations to PostgreSQL and needs --database-url; the embedded SQLite database is migrated at start-up")
	}
	drv, _, err := openDB(cfg)
	if err != nil {
		return nil, err
	}
	defer drv.Close()
	dir, err := migrations.Dir()
	if err != nil {
		return nil, err
	}
	return migration.Apply(ctx, drv.DB(), dir, opts)
}

// sqliteStatements is how many prepared statements SQLite's queries keep
// (stmtcache): a request's shapes of query, those of every list and
// lookup, with room for the lengths of IN lists.
const sqliteStatements = 512

// sqliteWriteWait is how long a writer waits for its turn on SQLite before
// giving up.
const sqliteWriteWait = 30 * time.Second

// openDB opens SQLite in the data dir, or PostgreSQL when a URL is given.
func openDB(cfg Config) (*entsql.Driver, bool, error) {
	if cfg.DatabaseURL != "" {
		if !strings.HasPrefix(cfg.DatabaseURL, "postgres://") && !strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
			return nil, false, errors.New("database url: only postgres:// URLs are supported")
		}
		db, err := sql.Open("pgx", cfg.DatabaseURL)
		if err != nil {
			return nil, false, fmt.Errorf("open postgres: %w", err)
		}
		// database/sql keeps only 2 idle connections by default: under
		// concurrent requests every other one would connect anew (a new
		// PostgreSQL backend process each time). Keep the pool open.
		conns := cfg.DatabaseMaxConns
		if conns <= 0 {
			conns = DefaultDatabaseMaxConns
		}
		db.SetMaxOpenConns(conns)
		db.SetMaxIdleConns(conns)
		db.SetConnMaxIdleTime(5 * time.Minute)
		return entsql.OpenDB(dialect.Postgres, db), true, nil
	}
	// WAL: readers never wait for the writer. The busy timeout covers other
	// processes (a CLI command on the same file); in this one, writers take
	// turns (see dbwrite). Transactions take the write lock when they begin,
	// so that none fails upgrading a read lock.
	// Times are written in one zone (UTC) and one layout, without Go's
	// monotonic clock reading, so that SQLite compares them as text in time
	// order and a pagination cursor's time equals the row's it came from.
	dsn := "file:" + filepath.Join(cfg.DataDir, "pbxportal.db") +
		"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate" +
		"&_time_format=sqlite&_timezone=UTC"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, false, fmt.Errorf("open sqlite: %w", err)
	}
	return entsql.OpenDB(dialect.SQLite, db), false, nil
}

func (a *App) connectSpiceDB(ctx context.Context, cfg Config) (*grpc.ClientConn, error) {
	if cfg.SpiceDBEndpoint != "" {
		conn, err := dialSpiceDB(cfg)
		if err != nil {
			return nil, fmt.Errorf("dial spicedb: %w", err)
		}
		return conn, nil
	}
	e, err := embedded.Start(ctx, embedded.Options{DatastoreURL: cfg.SpiceDBDatastoreURL})
	if err != nil {
		return nil, fmt.Errorf("start embedded spicedb: %w", err)
	}
	a.embedded = e
	return e.Conn(), nil
}

// dialSpiceDB dials the remote SpiceDB of cfg with its preshared key, read
// from SpiceDBTokenFile when that is set.
func dialSpiceDB(cfg Config) (*grpc.ClientConn, error) {
	token := cfg.SpiceDBToken
	if cfg.SpiceDBTokenFile != "" {
		b, err := os.ReadFile(cfg.SpiceDBTokenFile)
		if err != nil {
			return nil, fmt.Errorf("spicedb token file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	return authz.Dial(cfg.SpiceDBEndpoint, token, cfg.SpiceDBInsecure)
}

// rebuild brings SpiceDB in line with the database while no replica writes
// to it (the relay and every other rebuild or reconcile wait): what is
// missing goes in through SpiceDB's bulk import, in one stream straight from
// the database when SpiceDB is empty (the in-memory embedded one at every
// start), and what is extra is deleted.
func (a *App) rebuild(ctx context.Context) error {
	return a.Relay.Exclusive(ctx, func(ctx context.Context) error {
		_, err := projection.Rebuild(ctx, a.Client, a.Spice)
		return err
	})
}

// analyzeDatastore refreshes the planner statistics of the in-process
// SpiceDB's PostgreSQL datastore after the rebuild, for the reason Analyze
// gives: a bulk import leaves its relationships table without statistics
// until autovacuum's next analyze (never when autovacuum is off), and
// SpiceDB's queries of it, which run whenever a request reads at a revision
// its caches hold nothing for (the first request after any write), are then
// planned for an empty table: 50–110 ms per request at 6.1M relationships
// instead of 6–10 ms (docs/performance-history.md). Sampled, it takes a fraction of
// a second at that size, so it runs at every start.
func analyzeDatastore(ctx context.Context, url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return fmt.Errorf("analyze spicedb's datastore: %w", err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze spicedb's datastore: %w", err)
	}
	return nil
}

// Analyze refreshes PostgreSQL's planner statistics of every table in the
// store's schema, as a bulk load (pbxportal seed) must before the first
// query: until autovacuum's next analyze, which may be minutes away or never
// when it is off, the planner takes a table of a million recordings for an
// empty one and pages them by primary key, reading all of them for a viewer
// who sees a few. On SQLite it does nothing.
func (s *Store) Analyze(ctx context.Context) error {
	if !s.postgres {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		return fmt.Errorf("analyze: list tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			_ = rows.Close()
			return fmt.Errorf("analyze: list tables: %w", err)
		}
		tables = append(tables, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("analyze: list tables: %w", err)
	}
	if len(tables) == 0 {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, "ANALYZE "+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// ready reports whether the database and SpiceDB answer.
func (a *App) ready(ctx context.Context) error {
	if err := a.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	_, err := a.Spice.CheckBulk(ctx, projection.Platform(), []authz.Check{{Resource: projection.Platform(), Permission: "support"}})
	return err
}

// Handler is the HTTP handler of the server.
func (a *App) Handler() http.Handler { return a.handler }

// MetricsHandler serves the Prometheus metrics and Go's runtime profiles
// (/debug/pprof/), for an address of their own (Config.SeparateMetrics); the
// API's handler never serves the profiles.
func (a *App) MetricsHandler() http.Handler { return server.OperatorHandler(a.Registry) }

// Close stops the relay, SpiceDB and the database.
func (a *App) Close() {
	if a.stop != nil {
		a.stop()
	}
	if a.embedded != nil {
		_ = a.embedded.Close()
	}
	if a.Client != nil {
		_ = a.Client.Close()
	}
}

// Reconcile compares the database's projection with the remote SpiceDB of
// cfg and, with fix, repairs the drift while no replica applies the outbox,
// then records the revision it wrote, so that every running replica reads
// the repair on its very next request.
func Reconcile(ctx context.Context, cfg Config, fix bool) (projection.Drift, error) {
	if cfg.SpiceDBEndpoint == "" {
		return projection.Drift{}, errors.New("reconcile compares the database with a SpiceDB given by --spicedb-endpoint; the embedded SpiceDB is rebuilt at every start")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	store, err := OpenStore(ctx, cfg)
	if err != nil {
		return projection.Drift{}, err
	}
	defer store.Client.Close()
	conn, err := dialSpiceDB(cfg)
	if err != nil {
		return projection.Drift{}, err
	}
	defer conn.Close()
	spice, err := authz.NewClient(conn, nil)
	if err != nil {
		return projection.Drift{}, err
	}
	if !fix {
		return projection.Reconcile(ctx, store.Client, spice, false)
	}
	var drift projection.Drift
	err = outbox.NewRelay(store.Client, spice, cfg.Log, store.postgres).Exclusive(ctx, func(ctx context.Context) error {
		drift, err = projection.Reconcile(ctx, store.Client, spice, true)
		return err
	})
	return drift, err
}
