package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenCreatesThenReopens(t *testing.T) {
	keyPath := newKeyFile(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "facility.db")
	for i := range 3 {
		s, err := Open(dbPath, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath})
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if got := count(t, s, `SELECT count(*) FROM schema_version`); got != SchemaVersion() {
			t.Errorf("open #%d: %d migrations recorded, want %d", i+1, got, SchemaVersion())
		}
		if i == 0 {
			setupSite(t, s)
		}
		if got := count(t, s, `SELECT count(*) FROM persons`); got != 3 {
			t.Errorf("open #%d: %d persons, want 3", i+1, got)
		}
		must(t, s.Close())
	}
	if SchemaVersion() < 1 {
		t.Fatalf("SchemaVersion() = %d", SchemaVersion())
	}
	fi, err := os.Stat(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("database file mode %#o, want 0600", perm)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".init-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestMigrationsEmbedded(t *testing.T) {
	migs, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migs {
		if m.version != i+1 || m.sql == "" || len(m.checksum) != 64 {
			t.Errorf("migration %d: %+v", i, m)
		}
	}
}

func TestDurabilityPragmas(t *testing.T) {
	s, _, _ := openNew(t)
	ctx := context.Background()
	for _, pool := range []struct {
		name string
		db   *sql.DB
		want map[string]string
	}{
		{"writer", s.w, map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1",
			"busy_timeout": "5000", "query_only": "0", "trusted_schema": "0"}},
		{"reader", s.r, map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1",
			"busy_timeout": "5000", "query_only": "1"}},
	} {
		for name, want := range pool.want {
			var got string
			if err := pool.db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", pool.name, name, err)
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %q, want %q", pool.name, name, got, want)
			}
		}
	}
	if _, err := s.r.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('x', 1)`); err == nil {
		t.Error("a read connection accepted a write")
	}
	var app int64
	must(t, s.r.QueryRow("PRAGMA application_id").Scan(&app))
	if app != appID {
		t.Errorf("application_id %#x, want %#x", app, appID)
	}
}

// rawExec changes a closed database file the way someone with the file, but
// not the store's code, could.
func rawExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(path, "mode=rw"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func pageSize(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return int64(b[16])<<8 | int64(b[17])
}

// TestOpenRefusesBadFiles damages a real, closed database in each way and
// checks that Open refuses it with the right error and leaves every byte
// of it as it found them.
func TestOpenRefusesBadFiles(t *testing.T) {
	cases := []struct {
		name    string
		damage  func(t *testing.T, path string)
		want    error
		message string
	}{
		{"garbage over a page in the middle", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			must(t, err)
			defer f.Close()
			fi, _ := f.Stat()
			ps := pageSize(t, path)
			page := fi.Size() / ps / 2
			garbage := make([]byte, ps)
			for i := range garbage {
				garbage[i] = byte(i*7 + 13)
			}
			_, err = f.WriteAt(garbage, page*ps)
			must(t, err)
		}, ErrCorrupt, "quick_check"},
		{"truncated mid-page", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			must(t, os.Truncate(path, fi.Size()/2+100))
		}, ErrCorrupt, "not a whole number"},
		{"truncated to half its pages", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			ps := pageSize(t, path)
			must(t, os.Truncate(path, fi.Size()/ps/2*ps))
		}, ErrCorrupt, ""},
		{"truncated inside the header", func(t *testing.T, path string) {
			must(t, os.Truncate(path, 50))
		}, ErrNotDatabase, "no SQLite header"},
		{"emptied", func(t *testing.T, path string) {
			must(t, os.Truncate(path, 0))
		}, ErrNotDatabase, "empty"},
		{"not SQLite at all", func(t *testing.T, path string) {
			must(t, os.WriteFile(path, []byte(strings.Repeat("camera: cam-1\nzone: yard\n", 400)), 0o600))
		}, ErrNotDatabase, "not an SQLite database"},
		{"header magic overwritten", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			must(t, err)
			_, err = f.WriteAt([]byte("SQLite format 4"), 0)
			must(t, err)
			must(t, f.Close())
		}, ErrNotDatabase, ""},
		{"another application's SQLite file", func(t *testing.T, path string) {
			rawExec(t, path, "PRAGMA application_id = 42")
		}, ErrNotDatabase, "another application"},
		{"written by a newer build", func(t *testing.T, path string) {
			rawExec(t, path, fmt.Sprintf(`INSERT INTO schema_version (version, name, checksum, applied_at_ms) VALUES (%d, 'future', 'x', 0)`,
				SchemaVersion()+1))
		}, ErrNewerSchema, fmt.Sprintf("schema version %d", SchemaVersion()+1)},
		{"applied migration differs from this build's", func(t *testing.T, path string) {
			rawExec(t, path, `UPDATE schema_version SET checksum = 'other' WHERE version = 1`)
		}, ErrNotDatabase, "was applied as"},
		{"key check value removed", func(t *testing.T, path string) {
			rawExec(t, path, `DELETE FROM meta WHERE key = 'key_check'`)
		}, ErrCorrupt, "key check"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, path, keyPath := openSite(t)
			ctx := context.Background()
			for i := range 60 {
				_, err := s.RecordSighting(ctx, sightingN(i, "P-1"), msg("dozor/F-07/sightings"))
				must(t, err)
			}
			must(t, s.Close())
			if _, err := os.Stat(path + "-wal"); err == nil {
				t.Fatal("WAL still present after Close")
			}
			tc.damage(t, path)
			before := fileSum(t, path)
			fi, _ := os.Stat(path)

			s2, err := Open(path, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath})
			if err == nil {
				s2.Close()
				t.Fatal("Open accepted the damaged file")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v\nis not %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.message) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q should name the file and say %q", err, tc.message)
			}
			if after := fileSum(t, path); after != before {
				t.Error("Open changed the refused file")
			}
			if fi2, _ := os.Stat(path); fi2.Size() != fi.Size() {
				t.Errorf("size changed from %d to %d", fi.Size(), fi2.Size())
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("directory holds %v after the refusal, want only the database", names)
			}
			t.Logf("refused: %v", err)
		})
	}
}

func TestOpenRefusesStrayWAL(t *testing.T) {
	keyPath := newKeyFile(t)
	path := filepath.Join(t.TempDir(), "facility.db")
	must(t, os.WriteFile(path+"-wal", []byte("committed data of a lost database"), 0o600))
	if _, err := Open(path, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath}); err == nil || !strings.Contains(err.Error(), "-wal exists") {
		t.Fatalf("Open next to a stray WAL: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("a database was created next to the stray WAL")
	}
}

func TestOpenOptions(t *testing.T) {
	keyPath := newKeyFile(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		path string
		opt  Options
		want error
	}{
		{"no key file", filepath.Join(dir, "a.db"), Options{SQLite: lib}, ErrKeyFile},
		{"key file missing", filepath.Join(dir, "b.db"), Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: filepath.Join(dir, "nope.key")}, ErrKeyFile},
		{"both NoKey and KeyFile", filepath.Join(dir, "c.db"), Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath, NoKey: true}, nil},
		{"no-key mode never creates", filepath.Join(dir, "d.db"), Options{SQLite: lib, NoKey: true}, os.ErrNotExist},
		{"directory instead of file", dir, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath}, ErrNotDatabase},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.path, tc.opt)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v is not %v", err, tc.want)
			}
			if tc.path != dir {
				if _, err := os.Stat(tc.path); !os.IsNotExist(err) {
					t.Error("a file was created")
				}
			}
		})
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	keyPath := newKeyFile(t)
	dir := filepath.Join(t.TempDir(), "odd ?#%20& dir")
	must(t, os.Mkdir(dir, 0o700))
	path := filepath.Join(dir, "f?x=1#y.db")
	for range 2 {
		s, err := Open(path, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath})
		must(t, err)
		must(t, s.PutZone(context.Background(), "admin", Zone{ID: "Z", Name: "Z", Kind: ZoneYard}))
		must(t, s.Close())
	}
	entries, err := os.ReadDir(dir)
	must(t, err)
	if len(entries) != 1 || entries[0].Name() != "f?x=1#y.db" {
		t.Errorf("directory holds %v", entries)
	}
}

// OpenFirst makes the key only on the very first start, with neither the
// database nor the key there: a database whose key went missing is never
// given a new one that could not read it.
func TestOpenFirst(t *testing.T) {
	dir := t.TempDir()
	db, key := filepath.Join(dir, "f.db"), filepath.Join(t.TempDir(), "f.key")
	opt := Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: key}
	s, made, err := OpenFirst(db, opt)
	if err != nil || !made {
		t.Fatalf("first start: made key %v, %v; want a new key and store", made, err)
	}
	s.Close()
	s, made, err = OpenFirst(db, opt)
	if err != nil || made {
		t.Fatalf("second start: made key %v, %v; want the existing key", made, err)
	}
	s.Close()
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	if _, made, err = OpenFirst(db, opt); made || !errors.Is(err, ErrKeyFile) {
		t.Fatalf("database without its key: made key %v, %v; want no new key and ErrKeyFile", made, err)
	}
	if _, err := os.Stat(key); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a key file was made for a database that had another: %v", err)
	}
}
