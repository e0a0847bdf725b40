package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/dozor-edge/dozor/internal/sqlite"
)

// TestUpgradeKeepsRevisionInForce upgrades a database made before the
// master gallery: the revision each site runs stays what its acks said.
func TestUpgradeKeepsRevisionInForce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "region.db")
	migs, err := loadMigrations("sqlite")
	must(t, err)
	old := sql.OpenDB(connector{sqlite.Binding{}.Driver(nil), sqliteDSN(path, "mode=rwc")})
	must(t, old.Ping())
	if _, err := old.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,
		applied_at_ns BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs[:2] {
		if _, err := old.Exec(m.sql); err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(`INSERT INTO schema_migrations VALUES (?, ?, ?, 0)`, m.version, m.name, m.checksum); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []struct {
		site   string
		seq    int
		rev    int
		status string
	}{{"ik5", 3, 7, "applied"}, {"ik5", 4, 8, "failed"}, {"ik6", 1, 2, "applied"}} {
		if _, err := old.Exec(`INSERT INTO sites (site) VALUES (?) ON CONFLICT DO NOTHING`, a.site); err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(`INSERT INTO gallery_acks VALUES (?, ?, ?, ?, 0, 0, '', 0)`, a.site, a.seq, a.rev, a.status); err != nil {
			t.Fatal(err)
		}
	}
	must(t, old.Close())

	s, err := OpenSQLite(path, Options{SQLite: sqlite.Binding{}, KeyFile: filepath.Join(t.TempDir(), "store.key")})
	must(t, err)
	defer s.Close()
	if st := site(t, s, "ik5"); st.GalleryRevision != 7 {
		t.Errorf("ik5 in force %d after the upgrade, want 7", st.GalleryRevision)
	}
	if g := gallerySite(t, s, "ik5"); g.InForce != 7 || g.Issued != 7 || g.LastAckStatus != "failed" {
		t.Errorf("ik5 gallery site %+v", g)
	}
	// The next change to ik5 follows what it runs.
	must(t, s.PutPerson(context.Background(), boss, Person{ID: "P-1", DisplayName: "X", Facility: "ik5"}))
	if g := gallerySite(t, s, "ik5"); g.Issued != 8 {
		t.Errorf("ik5 issued %d, want 8", g.Issued)
	}
	if g := gallerySite(t, s, "ik6"); g.InForce != 2 {
		t.Errorf("ik6 gallery site %+v", g)
	}
}
