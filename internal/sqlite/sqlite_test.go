package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

func open(t *testing.T, b Binding, hook func(func(string) error, func(string) (string, error)) error) *sql.DB {
	t.Helper()
	drv := b.Driver(hook)
	name := "sqlite-test-" + t.Name()
	sql.Register(name, drv)
	db, err := sql.Open(name, "file:"+filepath.Join(t.TempDir(), "t.db")+"?mode=rwc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestHookRunsOnEveryConnection(t *testing.T) {
	var b Binding
	var seen []string
	db := open(t, b, func(exec func(string) error, queryOne func(string) (string, error)) error {
		if err := exec("PRAGMA foreign_keys = ON"); err != nil {
			return err
		}
		v, err := queryOne("PRAGMA foreign_keys")
		seen = append(seen, v)
		return err
	})
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "1" {
		t.Fatalf("hook saw %q, want one connection with foreign_keys 1", seen)
	}
}

func TestHookErrorRefusesTheConnection(t *testing.T) {
	var b Binding
	boom := errors.New("settings do not hold")
	db := open(t, b, func(func(string) error, func(string) (string, error)) error { return boom })
	if err := db.Ping(); !errors.Is(err, boom) {
		t.Fatalf("Ping = %v, want the hook's error", err)
	}
}

func TestCode(t *testing.T) {
	var b Binding
	db := open(t, b, nil)
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec("INSERT INTO t VALUES (1)")
	code, ext, ok := b.Code(err)
	// SQLITE_CONSTRAINT (19), SQLITE_CONSTRAINT_PRIMARYKEY (1555).
	if !ok || code != 19 || ext != 1555 {
		t.Fatalf("Code(%v) = %d, %d, %v; want 19, 1555, true", err, code, ext, ok)
	}
	if _, _, ok := b.Code(errors.New("not from SQLite")); ok {
		t.Fatal("Code of a plain error says it came from SQLite")
	}
}
