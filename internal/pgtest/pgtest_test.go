package pgtest

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

func TestStartGivesFreshDatabases(t *testing.T) {
	srv, err := StartServer()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	}()
	ctx := context.Background()
	var names []string
	for range 2 {
		dsn, err := srv.CreateDatabase(ctx)
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		var name, version string
		err = db.QueryRowContext(ctx, "SELECT current_database(), current_setting('server_version')").Scan(&name, &version)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(version, "15") {
			t.Errorf("server version %s, want 15", version)
		}
		names = append(names, name)
	}
	if names[0] == names[1] {
		t.Fatalf("both databases are %s", names[0])
	}
}

func TestMissingPostgreSQLNamesTheBinary(t *testing.T) {
	old := BinDir
	BinDir = t.TempDir()
	defer func() { BinDir = old }()
	_, err := StartServer()
	if err == nil || !strings.Contains(err.Error(), BinDir+"/initdb") || !strings.Contains(err.Error(), "postgresql-15") {
		t.Fatalf("error %v, want one naming %s/initdb and the package", err, BinDir)
	}
}
