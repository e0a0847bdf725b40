package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/dozor-edge/dozor/region/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// writeConfig writes a configuration whose listeners take free loopback
// ports and whose files are in a temporary folder.
// The store is the SQLite file region.db there unless extra has a store
// section.
func writeConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	if !strings.Contains(extra, "store:") {
		extra += fmt.Sprintf("store: {path: %q}\n", filepath.Join(dir, "region.db"))
	}
	cfg := fmt.Sprintf(`region: {id: north}
data: {dir: %q}
broker: {mqtt_listen: "127.0.0.1:0", nats_listen: "127.0.0.1:0", sites_file: %q}
http: {listen: "127.0.0.1:0"}
%s`, dir, filepath.Join(dir, "sites"), extra)
	p := filepath.Join(dir, "regiond.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExitStatus(t *testing.T) {
	cases := []struct {
		name   string
		args   func(t *testing.T) []string
		code   int
		stderr string
	}{
		{"no flags", func(*testing.T) []string { return nil }, 2, "-config is required"},
		{"stray argument", func(*testing.T) []string { return []string{"x"} }, 2, "unexpected arguments"},
		{"missing file", func(t *testing.T) []string { return []string{"-config", filepath.Join(t.TempDir(), "none.yaml")} }, 1,
			"invalid configuration"},
		{"unknown key", func(t *testing.T) []string { return []string{"-config", writeConfig(t, "colour: red\n")} }, 1,
			`unknown key "colour"`},
		{"invalid value", func(t *testing.T) []string { return []string{"-config", writeConfig(t, "log: {level: loud}\n")} }, 1,
			"log.level"},
		{"bad sites file", func(t *testing.T) []string {
			p := writeConfig(t, "")
			if err := os.WriteFile(filepath.Join(filepath.Dir(p), "sites"), []byte("ik5 secret123\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"-config", p}
		}, 1, "cannot start: config: sites file"},
		{"store cannot open", func(t *testing.T) []string {
			file := filepath.Join(t.TempDir(), "plain")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"-config", writeConfig(t, fmt.Sprintf("store: {path: %q}\n", filepath.Join(file, "region.db")))}
		}, 1, "cannot start: store"},
		{"site without verb", func(*testing.T) []string { return []string{"site"} }, 2, "usage: regiond site"},
		{"site add without id", func(t *testing.T) []string { return []string{"site", "add", "-config", writeConfig(t, "")} }, 2,
			"usage: regiond site"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(c.args(t), &stdout, &stderr); code != c.code || !strings.Contains(stderr.String(), c.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), c.code, c.stderr)
			}
			if strings.Contains(stderr.String(), "secret123") {
				t.Errorf("stderr leaks a password: %s", stderr.String())
			}
		})
	}
}

func TestPrintExampleConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-print-example-config"}, &stdout, &stderr); code != 0 || !bytes.Equal(stdout.Bytes(), config.Example()) {
		t.Fatalf("exit %d, %d bytes (want the example's %d)", code, stdout.Len(), len(config.Example()))
	}
}

func TestSiteAddList(t *testing.T) {
	cfg := writeConfig(t, "")
	sites := filepath.Join(filepath.Dir(cfg), "sites")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"site", "add", "--config", cfg, "--site", "ik5.a"}, &stdout, &stderr); code != 0 {
		t.Fatalf("site add: exit %d: %s", code, stderr.String())
	}
	var pw string
	for _, l := range strings.Split(stdout.String(), "\n") {
		if p, ok := strings.CutPrefix(l, "password: "); ok {
			pw = p
		}
	}
	list, err := config.ReadSites(sites)
	if err != nil || len(list) != 1 || list[0].Site != "ik5.a" {
		t.Fatalf("sites file: %+v %v", list, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(list[0].PasswordHash), []byte(pw)) != nil {
		t.Fatalf("the password printed (%q) is not the one stored", pw)
	}

	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"site", "add", "-config", cfg, "-site", "ik5.a"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "already exists") {
		t.Fatalf("duplicate: exit %d, %s", code, stderr.String())
	}
	if code := run([]string{"site", "add", "-config", cfg, "-site", "ik6"}, &stdout, &stderr); code != 0 {
		t.Fatalf("second site: exit %d: %s", code, stderr.String())
	}
	stdout.Reset()
	if code := run([]string{"site", "list", "-config", cfg}, &stdout, &stderr); code != 0 || stdout.String() != "ik5.a\nik6\n" {
		t.Fatalf("site list: exit %d, %q %s", code, stdout.String(), stderr.String())
	}
}
