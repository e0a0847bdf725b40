package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
)

// auditStore makes a store with a few audit entries and a daemon
// configuration naming it; the key stays where the command never looks.
func auditStore(t *testing.T) (dbPath, cfgPath string, head store.AuditHead) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	dbPath, keyPath := filepath.Join(dir, "db", "f.db"), filepath.Join(t.TempDir(), "f.key")
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GenerateKeyFile(keyPath); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dbPath, store.Options{SQLite: sqlite.Binding{}, KeyFile: keyPath, Region: "south", Site: "ik7"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct{ actor, action, object string }{
		{"anna", "search.photo", "camera:cam-1"},
		{"boris", "crop.read", "sighting:1"},
		{"anna", "crop.read", "sighting:2"},
		{"boris", "export", "person:P-1"},
	} {
		if err := st.Audit(ctx, e.actor, e.action, e.object, "{}"); err != nil {
			t.Fatal(err)
		}
	}
	if head, err = st.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(dir, "edged.yaml")
	yaml := fmt.Sprintf("site:\n  id: ik7\n  region: south\nstore:\n  path: %s\n  key_file: %s\n", dbPath,
		filepath.Join(dir, "missing.key"))
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return dbPath, cfgPath, head
}

func runAuditCmd(args ...string) (string, error) {
	var out bytes.Buffer
	err := auditCommand(context.Background(), args, &out)
	return out.String(), err
}

// An entry edited with plain SQL, behind the store's back (its guard
// trigger dropped first), is named by audit verify.
func TestAuditVerify(t *testing.T) {
	dbPath, cfgPath, head := auditStore(t)
	out, err := runAuditCmd("verify", "--config", cfgPath)
	if err != nil {
		t.Fatalf("intact log: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("audit log: 4 entries, chain intact, head %s\n", hex.EncodeToString(head.Hash[:])); out != want {
		t.Fatalf("intact log printed %q, want %q", out, want)
	}

	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP TRIGGER audit_log_no_update`,
		`UPDATE audit_log SET actor = 'carol' WHERE seq = 3`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	out, err = runAuditCmd("verify", "--config", cfgPath)
	if !errors.Is(err, store.ErrAuditBroken) || !strings.Contains(err.Error(), "entry 3") {
		t.Fatalf("edited entry 3: err %v, output %q", err, out)
	}
	if strings.Contains(out, "intact") {
		t.Errorf("a broken log printed %q", out)
	}
	// The command finds the store by --store as well.
	if _, err := runAuditCmd("verify", "--store", dbPath); err == nil || !strings.Contains(err.Error(), "entry 3") {
		t.Errorf("--store: %v", err)
	}
}

func TestAuditList(t *testing.T) {
	_, cfgPath, _ := auditStore(t)
	out, err := runAuditCmd("list", "--config", cfgPath, "--actor", "anna", "--action", "crop.")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "SEQ") || !strings.HasPrefix(lines[1], "3 ") ||
		!strings.Contains(lines[1], "crop.read") || !strings.Contains(lines[1], "sighting:2") || lines[3] != "1 entries" {
		t.Errorf("list --actor anna --action crop.:\n%s", out)
	}
	out, err = runAuditCmd("list", "--config", cfgPath, "--after", "1", "--limit", "2", "--from", "2000-01-01")
	if err != nil || !strings.Contains(out, "\n2 ") || !strings.Contains(out, "\n3 ") || strings.Contains(out, "\n4 ") {
		t.Errorf("list --after 1 --limit 2: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"list", "--config", cfgPath, "--from", "yesterday"},
		{"list", "--config", cfgPath, "--limit", "0"},
		{"list", "--config", cfgPath, "--actor", "a b"},
		{"list", "--config", cfgPath, "extra"},
		{"verify", "--store", filepath.Join(t.TempDir(), "none.db")},
		{"nonsense"},
		{},
	} {
		if _, err := runAuditCmd(args...); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
