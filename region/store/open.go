package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dozor-edge/dozor/internal/storekey"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// dialect is everything SQLite and PostgreSQL disagree on in the queries
// this package runs. Upserts (INSERT ... ON CONFLICT) are spelled the same
// in both; the schemas differ in types and live in one migration history
// per dialect.
type dialect struct {
	name string
	// numbered: placeholders are $1, $2... instead of ?.
	numbered bool
	// greatest is the two-argument maximum function.
	greatest string
	// lockSite is appended to the SELECT of a site's row that every
	// writer of the site does first, so writers of one site take turns
	// (SQLite's single writer already serializes everything).
	lockSite string
	// migrationLock is run first in each migration transaction ("" when
	// the transaction itself is exclusive).
	migrationLock string
}

var (
	sqliteDialect   = dialect{name: "sqlite", greatest: "max"}
	postgresDialect = dialect{name: "postgres", numbered: true, greatest: "GREATEST", lockSite: " FOR UPDATE",
		migrationLock: "SELECT pg_advisory_xact_lock(6877516047)"}
)

// bind rewrites ? placeholders for the dialect. The queries of this
// package have no ? inside literals.
func (d dialect) bind(q string) string {
	if !d.numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// db implements Store over database/sql.
type db struct {
	d     dialect
	w     *sql.DB // writes
	r     *sql.DB // reads (the same handle for PostgreSQL)
	crops crops
	opt   Options
	// seal seals the gallery's biometric data; nil without a key.
	seal  *storekey.Sealer
	keyFP string
}

// OpenSQLite opens (creating when absent) the SQLite database at path and
// brings its schema up to date. Every connection runs in WAL mode with
// synchronous=FULL, so a commit is on disk when Ingest returns; writes go
// through one connection, reads through up to opt.MaxConns.
func OpenSQLite(path string, opt Options) (Store, error) {
	opt = opt.withDefaults(4)
	if path == "" {
		return nil, errors.New("region store: open sqlite: no database path given")
	}
	if opt.SQLite == nil {
		return nil, errors.New("region store: open sqlite: no SQLite binding given (Options.SQLite)")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("region store: open sqlite %s: %w", path, err)
	}
	if opt.CropDir == "" {
		opt.CropDir = filepath.Join(filepath.Dir(abs), "crops")
	}
	busy := fmt.Sprintf("_busy_timeout=%d", opt.BusyTimeout.Milliseconds())
	s := &db{d: sqliteDialect, opt: opt, crops: crops{dir: opt.CropDir}}
	// _txlock=immediate: a write transaction takes the write lock at BEGIN,
	// so two processes never deadlock upgrading read locks.
	s.w = sql.OpenDB(connector{opt.SQLite.Driver(sqliteHook(false)), sqliteDSN(abs, "mode=rwc&_txlock=immediate&"+busy)})
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	if err := s.setup(); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("region store: open sqlite %s: %w", abs, err)
	}
	s.r = sql.OpenDB(connector{opt.SQLite.Driver(sqliteHook(true)), sqliteDSN(abs, "mode=ro&"+busy)})
	s.r.SetMaxOpenConns(opt.MaxConns)
	s.r.SetMaxIdleConns(opt.MaxConns)
	if err := s.r.Ping(); err != nil {
		s.Close()
		return nil, fmt.Errorf("region store: open sqlite %s: %w", abs, err)
	}
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database at dsn (a pgx
// connection string: URL or key=value) and brings its schema up to date.
func OpenPostgres(dsn string, opt Options) (Store, error) {
	opt = opt.withDefaults(8)
	if dsn == "" {
		return nil, errors.New("region store: open postgres: no DSN given")
	}
	if opt.CropDir == "" {
		return nil, errors.New("region store: open postgres: no crop directory given (Options.CropDir)")
	}
	h, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("region store: open postgres: %w", err)
	}
	h.SetMaxOpenConns(opt.MaxConns)
	h.SetMaxIdleConns(opt.MaxConns)
	s := &db{d: postgresDialect, w: h, r: h, opt: opt, crops: crops{dir: opt.CropDir}}
	if err := s.setup(); err != nil {
		h.Close()
		return nil, fmt.Errorf("region store: open postgres: %w", err)
	}
	return s, nil
}

func (s *db) setup() error {
	ctx := context.Background()
	if err := s.w.PingContext(ctx); err != nil {
		return err
	}
	if err := os.MkdirAll(s.crops.dir, 0o750); err != nil {
		return fmt.Errorf("crop directory: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	return s.openKey(ctx)
}

func (s *db) Close() error {
	if s.r != nil && s.r != s.w {
		s.r.Close()
	}
	return s.w.Close()
}

// sqliteHook applies, and checks, the durability settings on every new
// connection: a PRAGMA that cannot take effect fails silently otherwise.
// WAL lets readers run beside the writer; synchronous=FULL fsyncs every
// commit, so a message acknowledged after Ingest survives power loss.
func sqliteHook(readOnly bool) func(exec func(string) error, queryOne func(string) (string, error)) error {
	return func(exec func(string) error, queryOne func(string) (string, error)) error {
		stmts := []string{"PRAGMA synchronous = FULL", "PRAGMA trusted_schema = OFF"}
		if readOnly {
			stmts = append(stmts, "PRAGMA query_only = ON")
		} else {
			stmts = append([]string{"PRAGMA journal_mode = WAL"}, stmts...)
		}
		for _, q := range stmts {
			if err := exec(q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		for name, want := range map[string]string{"journal_mode": "wal", "synchronous": "2"} {
			got, err := queryOne("PRAGMA " + name)
			if err != nil {
				return fmt.Errorf("PRAGMA %s: %w", name, err)
			}
			if got != want {
				return fmt.Errorf("PRAGMA %s is %q, the store needs %q", name, got, want)
			}
		}
		return nil
	}
}

// sqliteDSN builds a URI filename; characters with a meaning in URIs are
// escaped so that any path works.
func sqliteDSN(path, params string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + esc.Replace(filepath.ToSlash(path)) + "?" + params
}

// connector connects with a driver that is not registered by name.
type connector struct {
	drv driver.Driver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }
