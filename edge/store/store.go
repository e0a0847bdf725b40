package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
)

// SQLite is the SQLite library the store runs on: database/sql drivers
// and SQLite's result codes. The cgo package internal/sqlite provides it
// (sqlite.Binding); the store itself is plain Go, so its users build
// without cgo.
type SQLite interface {
	// Driver returns a driver for go-sqlite3 DSNs that runs hook (when not
	// nil) on every new connection before it is used.
	Driver(hook func(exec func(query string) error, queryOne func(query string) (string, error)) error) driver.Driver
	// Code returns SQLite's primary and extended result codes of err, with
	// ok false when err did not come from SQLite.
	Code(err error) (primary, extended int, ok bool)
}

// Options configure Open.
type Options struct {
	// SQLite is the SQLite binding; required.
	SQLite SQLite
	// KeyFile is the path of the 32-byte master key (see GenerateKeyFile).
	// It must live outside the database and its backups, and must not be
	// accessible to group or others. Required unless NoKey is set.
	KeyFile string
	// NoKey opens an existing store without its key, read-only: persons,
	// zones, rules, events, the outbox and the audit log (including
	// VerifyAudit) can be read; biometric data cannot (ErrNoKey) and
	// nothing can be written (ErrReadOnly). It is how an auditor inspects a
	// store whose key was withheld or destroyed. It never creates or
	// migrates a database.
	NoKey bool
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection or process; zero means 5 seconds.
	BusyTimeout time.Duration
	// MaxReaders bounds concurrent read connections; zero means 4. Writes
	// always go through one connection, one transaction at a time.
	MaxReaders int
	// Region and Site name the site on the wire (sync/wire topic levels):
	// every audit entry the store appends is enqueued, in the same
	// transaction, as an audit record on the site's audit topic. Required
	// unless NoKey is set.
	Region, Site string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives rare lifecycle messages (migrations applied); nil
	// discards them. Keys and biometric values are never logged.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.MaxReaders <= 0 {
		o.MaxReaders = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is the facility database. It is safe for concurrent use.
type Store struct {
	path   string
	w      *sql.DB // the single writer; nil in no-key mode
	r      *sql.DB // read-only connections
	seal   *sealer // nil in no-key mode
	sqlite SQLite
	site   string // the site's id in audit records
	region string // the site's region, for the topics of gallery messages
	// auditTopic is where audit records go; "" in no-key mode, which
	// never writes.
	auditTopic string
	key        string // fingerprint of the key, for messages
	now        func() time.Time
	log        *slog.Logger
}

// appID marks files made by this store in the SQLite header
// (PRAGMA application_id), so another application's database is refused.
const appID = 0x647A6F72 // "dzor"

const sqliteMagic = "SQLite format 3\x00"

// durableHook applies the durability rules to every new connection and
// verifies that they hold, because a PRAGMA that cannot take effect (WAL on
// a file system without shared memory, say) fails silently otherwise:
//   - journal_mode=WAL: readers never block the writer;
//   - synchronous=FULL: every commit is fsynced before it returns, so a
//     committed event survives power loss (the driver's default in WAL
//     mode, NORMAL, can lose the last commits);
//   - foreign_keys=ON: references are enforced;
//   - trusted_schema=OFF, cell_size_check=ON: less trust in the file's
//     contents, earlier detection of damaged pages.
//
// Read connections are also query_only.
func durableHook(readOnly bool) func(exec func(string) error, queryOne func(string) (string, error)) error {
	return func(exec func(string) error, queryOne func(string) (string, error)) error {
		stmts := []string{
			"PRAGMA foreign_keys = ON",
			"PRAGMA synchronous = FULL",
			"PRAGMA trusted_schema = OFF",
			"PRAGMA cell_size_check = ON",
		}
		if readOnly {
			stmts = append(stmts, "PRAGMA query_only = ON")
		} else {
			stmts = append([]string{"PRAGMA journal_mode = WAL"}, stmts...)
			stmts = append(stmts, "PRAGMA journal_size_limit = 67108864")
		}
		for _, q := range stmts {
			if err := exec(q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		want := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"}
		for name, v := range want {
			got, err := queryOne("PRAGMA " + name)
			if err != nil {
				return fmt.Errorf("PRAGMA %s: %w", name, err)
			}
			if got != v {
				return fmt.Errorf("PRAGMA %s is %q, the store needs %q", name, got, v)
			}
		}
		return nil
	}
}

// openDB returns a handle whose connections use drv and dsn.
func openDB(drv driver.Driver, dsn string) *sql.DB { return sql.OpenDB(connector{drv, dsn}) }

// connector connects to one DSN with a driver that is not registered by
// name: each store builds its own drivers from its binding.
type connector struct {
	drv driver.Driver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// dsn builds a URI filename; characters with a meaning in URIs are escaped
// so that any path works.
func dsn(path, params string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + esc.Replace(filepath.ToSlash(path)) + "?" + params
}

func busyParam(d time.Duration) string {
	return fmt.Sprintf("_busy_timeout=%d", d.Milliseconds())
}

// Open opens the store at path, creating it when no file exists there.
//
// An existing file is checked before anything can write to it: it must be
// an SQLite database made by this store, pass PRAGMA quick_check, be at a
// schema version this build knows, and match the key. A file failing any
// check is refused with an error wrapping ErrNotDatabase, ErrCorrupt,
// ErrNewerSchema or ErrWrongKey, and is left byte for byte as it was: the
// store never repairs or recreates a damaged database. A new database is
// built under a temporary name and linked into place only when complete,
// so an interrupted first start never leaves a half-made file at path.
func Open(path string, opt Options) (*Store, error) {
	ctx := context.Background()
	opt = opt.withDefaults()
	if path == "" {
		return nil, errors.New("store: open: no database path given")
	}
	if opt.SQLite == nil {
		return nil, errors.New("store: open: no SQLite binding given (Options.SQLite)")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	var key Key
	switch {
	case opt.NoKey && opt.KeyFile != "":
		return nil, fmt.Errorf("store: open %s: both NoKey and KeyFile are set; choose one", abs)
	case !opt.NoKey:
		if key, err = LoadKeyFile(opt.KeyFile); err != nil {
			return nil, fmt.Errorf("store: open %s: %w", abs, err)
		}
	}
	var auditTopic string
	if !opt.NoKey {
		if opt.Region == "" || opt.Site == "" {
			return nil, fmt.Errorf("store: open %s: no site given (Options.Region and Options.Site, the daemon's "+
				"site.region and site.id): a writable store enqueues its audit records on the site's topic", abs)
		}
		if auditTopic, err = wire.AuditTopic(opt.Region, opt.Site); err != nil {
			return nil, fmt.Errorf("store: open %s: site: %w", abs, err)
		}
	}
	migs, err := loadMigrations(migrationFS)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}

	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if opt.NoKey {
			return nil, fmt.Errorf("store: open %s: %w (no-key mode never creates a database)", abs, fs.ErrNotExist)
		}
		if err := create(ctx, abs, key, migs, opt); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", abs, err)
		}
	case err != nil:
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("store: open %s: %w: not a regular file", abs, ErrNotDatabase)
	}
	if err := checkHeader(abs); err != nil {
		return nil, fmt.Errorf("store: open %s: %w; the file was left untouched", abs, err)
	}
	hadSidecars := sidecarsExist(abs)
	if err := probe(ctx, abs, key, migs, opt); err != nil {
		if !hadSidecars {
			removeProbeSidecars(abs)
		}
		return nil, fmt.Errorf("store: open %s: %w; the file was left untouched", abs, err)
	}
	if filepath.Dir(abs) == filepath.Dir(mustAbs(opt.KeyFile)) && !opt.NoKey {
		opt.Logger.Warn("store: the key file is in the database's directory; a copy of that directory carries the key with the data it protects",
			"key_file", opt.KeyFile)
	}

	s := &Store{path: abs, now: opt.Now, log: opt.Logger, key: key.Fingerprint(), sqlite: opt.SQLite, site: opt.Site,
		region: opt.Region, auditTopic: auditTopic}
	s.r = openDB(opt.SQLite.Driver(durableHook(true)), dsn(abs, "mode=ro&"+busyParam(opt.BusyTimeout)))
	s.r.SetMaxOpenConns(opt.MaxReaders)
	s.r.SetMaxIdleConns(opt.MaxReaders)
	if !opt.NoKey {
		s.w = openDB(opt.SQLite.Driver(durableHook(false)), dsn(abs, "mode=rw&_txlock=immediate&"+busyParam(opt.BusyTimeout)))
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		err = migrate(ctx, s.w, migs, s.nowMs, s.log, s.sqlite, s.upgrades())
		if err == nil {
			s.removeShipMarker()
			s.seal, err = newSealer(key)
		}
	}
	if err == nil {
		err = s.r.PingContext(ctx)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, dbErr(opt.SQLite, "setup", err))
	}
	return s, nil
}

// OpenFirst is Open for the daemon: on its very first start, when neither
// the database nor the key file exists, it first makes the key (nothing
// can be lost then) and reports that it did, so that the operator is told
// to back it up. A database whose key is missing is never given a new
// one: Open refuses it.
func OpenFirst(path string, opt Options) (s *Store, madeKey bool, err error) {
	if !opt.NoKey && opt.KeyFile != "" && !exists(opt.KeyFile) && !exists(path) {
		if _, err := GenerateKeyFile(opt.KeyFile); err != nil {
			return nil, false, fmt.Errorf("store: first start: creating the key file: %w", err)
		}
		madeKey = true
	}
	s, err = Open(path, opt)
	return s, madeKey, err
}

// exists reports whether anything is at path, or whether that cannot be
// told (an unreadable directory): only a certain absence counts.
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// Close closes the database. Every committed write is already durable.
// The read connections close first, so that the writer's close is the last
// one and folds the WAL back into the database file.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// Path returns the database file's absolute path.
func (s *Store) Path() string { return s.path }

// KeyFingerprint identifies the key the store was opened with ("none" in
// no-key mode).
func (s *Store) KeyFingerprint() string { return s.key }

// checkHeader refuses, from the first bytes alone, files that are not
// SQLite databases or were cut short mid-page. It reads and never writes.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return fmt.Errorf("%w: the file is empty; an existing file is never initialised "+
			"(remove it only if this is a new installation)", ErrNotDatabase)
	}
	hdr := make([]byte, 100)
	if _, err := io.ReadFull(f, hdr); err != nil || !bytes.HasPrefix(hdr, []byte(sqliteMagic)) {
		return fmt.Errorf("%w: the file is not an SQLite database (no SQLite header)", ErrNotDatabase)
	}
	pageSize := int64(binary.BigEndian.Uint16(hdr[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return fmt.Errorf("%w: the header gives an impossible page size %d", ErrCorrupt, pageSize)
	}
	if fi.Size()%pageSize != 0 {
		return fmt.Errorf("%w: the file is %d bytes, not a whole number of %d-byte pages (truncated or overwritten)",
			ErrCorrupt, fi.Size(), pageSize)
	}
	return nil
}

// sidecarsExist reports whether the database's -wal or -shm file exists.
func sidecarsExist(path string) bool {
	for _, p := range []string{path + "-wal", path + "-shm"} {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	return false
}

// removeProbeSidecars removes the -shm and empty -wal files that SQLite's
// read-only probe created beside a file it then refused, so the directory
// is left as it was found. A non-empty WAL holds data and is never removed.
func removeProbeSidecars(path string) {
	if fi, err := os.Lstat(path + "-wal"); err == nil {
		if fi.Size() != 0 {
			return
		}
		os.Remove(path + "-wal")
	}
	os.Remove(path + "-shm")
}

func mustAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// probe checks an existing file through a read-only connection that sets no
// PRAGMA, so nothing can be written to a file that is then refused.
func probe(ctx context.Context, path string, key Key, migs []migration, opt Options) (err error) {
	db := openDB(opt.SQLite.Driver(nil), dsn(path, "mode=ro&"+busyParam(opt.BusyTimeout)))
	defer db.Close()
	db.SetMaxOpenConns(1)

	rows, err := db.QueryContext(ctx, "PRAGMA quick_check(20)")
	if err != nil {
		return dbErr(opt.SQLite, "integrity check (quick_check)", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return dbErr(opt.SQLite, "integrity check (quick_check)", err)
		}
		problems = append(problems, line)
	}
	if err := rows.Close(); err != nil {
		return dbErr(opt.SQLite, "integrity check (quick_check)", err)
	}
	if err := rows.Err(); err != nil {
		return dbErr(opt.SQLite, "integrity check (quick_check)", err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fmt.Errorf("%w: quick_check found: %s; restore the file from a backup",
			ErrCorrupt, strings.Join(problems, "; "))
	}

	var app int64
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return dbErr(opt.SQLite, "read application id", err)
	}
	if app != appID {
		return fmt.Errorf("%w: an SQLite file of another application (application_id %#x)", ErrNotDatabase, app)
	}
	applied, err := readApplied(ctx, db)
	if err != nil {
		return fmt.Errorf("%w: cannot read schema_version: %w", ErrNotDatabase, err)
	}
	if err := checkApplied(applied, migs); err != nil {
		return err
	}
	if opt.NoKey && len(applied) != len(migs) {
		return fmt.Errorf("the database is at schema version %d and needs migrating to %d, which no-key mode never does; "+
			"open it once with its key", len(applied), len(migs))
	}
	if len(applied) == 0 {
		return fmt.Errorf("%w: no schema version recorded", ErrNotDatabase)
	}
	var check []byte
	err = db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'key_check'`).Scan(&check)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: the key check value is missing", ErrCorrupt)
	}
	if err != nil {
		return dbErr(opt.SQLite, "read key check", err)
	}
	if !opt.NoKey && !hmac.Equal(check, key.checkValue()) {
		return fmt.Errorf("%w: key %s does not open this database", ErrWrongKey, key.Fingerprint())
	}
	return nil
}

// create builds a new database under a temporary name: schema, application
// id and key check value. Only when that is complete and on disk is it
// linked to path, which fails rather than replaces if path appeared
// meanwhile.
func create(ctx context.Context, path string, key Key, migs []migration, opt Options) error {
	if _, err := os.Lstat(path + "-wal"); err == nil {
		return fmt.Errorf("%s-wal exists without its database: refusing to create a new database beside it "+
			"(it holds committed data of a database that has gone missing)", path)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := path + ".init-" + hex.EncodeToString(rnd[:])
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	removeTmp := func() {
		for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
			os.Remove(p)
		}
	}
	now := func() int64 { return opt.Now().UnixMilli() }
	db := openDB(opt.SQLite.Driver(durableHook(false)), dsn(tmp, "mode=rw&_txlock=immediate&"+busyParam(opt.BusyTimeout)))
	db.SetMaxOpenConns(1)
	err = func() error {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", appID)); err != nil {
			return err
		}
		// A new database has no rows for a migration's Go step to upgrade.
		if err := migrate(ctx, db, migs, now, opt.Logger, opt.SQLite, nil); err != nil {
			return err
		}
		return inTx(ctx, db, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('key_check', ?), ('created_at_ms', ?)`,
				key.checkValue(), now())
			return err
		})
	}()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if _, serr := os.Lstat(tmp + "-wal"); serr == nil {
			err = errors.New("the new database's WAL was not folded back into it on close")
		}
	}
	if err == nil {
		err = syncFile(tmp)
	}
	if err != nil {
		removeTmp()
		return dbErr(opt.SQLite, "initialise", err)
	}
	err = os.Link(tmp, path)
	removeTmp()
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first; open theirs.
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is one row to read: a *sql.Row or the current row of *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// appendRows runs query and appends each row, as scan reads it, to dst.
func appendRows[T any](ctx context.Context, q querier, dst []T, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		dst = append(dst, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return dst, nil
}

// readRows is appendRows in a read transaction of its own, for an
// operation that is one query.
func readRows[T any](ctx context.Context, s *Store, op string, dst []T, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	err := s.read(ctx, op, func(tx *sql.Tx) (err error) {
		dst, err = appendRows(ctx, tx, dst, scan, query, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// inTx runs fn in a transaction and commits it; any error rolls back all
// of fn's writes.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// write runs fn as one write transaction (BEGIN IMMEDIATE on the single
// writer connection). Commit returns only after the WAL is fsynced.
func (s *Store) write(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	if s.w == nil {
		return fmt.Errorf("store: %s: %w", op, ErrReadOnly)
	}
	if err := inTx(ctx, s.w, fn); err != nil {
		return dbErr(s.sqlite, "store: "+op, err)
	}
	return nil
}

// read runs fn in a read transaction, so several queries see one snapshot.
func (s *Store) read(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(s.sqlite, "store: "+op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return dbErr(s.sqlite, "store: "+op, err)
	}
	return nil
}

// needKey is checked first by every biometric operation.
func (s *Store) needKey(op string) error {
	if s.seal == nil {
		return fmt.Errorf("store: %s: %w", op, ErrNoKey)
	}
	return nil
}

func (s *Store) nowMs() int64 { return s.now().UnixMilli() }

func fromMs(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
