package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/edge/enroll"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// edgectlIn runs the built binary in dir, so that the default store and
// key paths (var/dozor.db, var/dozor.key) land there.
func edgectlIn(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(edgectlBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOZOR_MODELS="+testenv.ModelDir(t))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func enrolPhoto(t *testing.T, name string) string {
	return filepath.Join(testenv.TestData(t, "video/enroll"), name)
}

// The key is never made without --init-key, and --init-key never makes a
// key beside an existing database.
func TestEnrollKeyHandling(t *testing.T) {
	dir := t.TempDir()
	lin := enrolPhoto(t, "lin-manuel-miranda.png")
	_, stderr, err := edgectlIn(t, dir, "enroll", "--person", "P-LMM", lin)
	if err == nil || !strings.Contains(stderr, "--init-key") {
		t.Fatalf("without a key: err %v, stderr %q", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "var")); !os.IsNotExist(err) {
		t.Fatalf("a failed run left var/ behind: %v", err)
	}
	out, stderr, err := edgectlIn(t, dir, "enroll", "--init-key", "--actor", "alice", "--person", "P-LMM", "--name", "Lin-Manuel Miranda", lin)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out, stderr)
	}
	if !strings.Contains(out, "enrolled") || !strings.Contains(stderr, "created key file var/dozor.key") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, stderr)
	}
	fi, err := os.Stat(filepath.Join(dir, "var", "dozor.key"))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != store.KeySize {
		t.Fatalf("key file: %v %v", fi, err)
	}
	db := filepath.Join(dir, "var", "dozor.db")
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	// With the key gone, neither a plain run nor --init-key touches the
	// database.
	os.Rename(filepath.Join(dir, "var", "dozor.key"), filepath.Join(dir, "saved.key"))
	for _, args := range [][]string{
		{"enroll", "--person", "P-LMM", lin},
		{"enroll", "--init-key", "--person", "P-LMM", lin},
	} {
		_, stderr, err := edgectlIn(t, dir, args...)
		if err == nil || !strings.Contains(stderr, "give the") || !strings.Contains(stderr, "--key") {
			t.Fatalf("%v: err %v, stderr %q", args, err, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "var", "dozor.key")); !os.IsNotExist(err) {
		t.Fatal("a key was created beside an existing database")
	}
	after, _ := os.ReadFile(db)
	if !bytes.Equal(before, after) {
		t.Fatal("the database changed")
	}
	// A mistyped store path is not silently made into a new store.
	_, stderr, err = edgectlIn(t, dir, "enroll", "--store", "var/dozr.db", "--key", "saved.key", "--person", "P-LMM", lin)
	if err == nil || !strings.Contains(stderr, "does not exist") {
		t.Fatalf("mistyped store: err %v, stderr %q", err, stderr)
	}
}

type cliEnrollReport struct {
	Model   string          `json:"model"`
	Counts  map[string]int  `json:"counts"`
	Results []enroll.Result `json:"results"`
}

// A folder import, its re-run, a CSV with a bad line, then the gallery
// commands, all through the binary on one store.
func TestEnrollAndGalleryCommands(t *testing.T) {
	dir := t.TempDir()
	storeArgs := []string{"--store", filepath.Join(dir, "db", "facility.db"), "--key", filepath.Join(dir, "keys", "facility.key"),
		"--region", "north", "--site", "ik5"}
	imp := filepath.Join(dir, "import")
	link := func(src, rel string) {
		dst := filepath.Join(imp, rel)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.Symlink(src, dst); err != nil {
			t.Fatal(err)
		}
	}
	link(enrolPhoto(t, "lin-manuel-miranda.png"), "P-LMM/booking.png")
	link(enrolPhoto(t, "alex-lacamoire.png"), "P-AL.png")
	link(filepath.Join(testenv.TestData(t, "faces"), "pristin.jpg"), "P-GROUP_1.jpg")
	os.WriteFile(filepath.Join(imp, "P-BAD.jpg"), []byte("\xff\xd8\xff\xe0 not really"), 0o644)

	args := append([]string{"enroll", "--init-key", "--actor", "alice", "--engine", "faceplugin", "--json", "--dir", imp}, storeArgs...)
	out, stderr, err := edgectlIn(t, dir, args...)
	if err == nil || !strings.Contains(stderr, "2 of 4 photo(s) were not enrolled") {
		t.Fatalf("a failed photo must fail the command: err %v\n%s", err, stderr)
	}
	var rep cliEnrollReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bad JSON (%v):\n%s", err, out)
	}
	got := map[string]enroll.Status{}
	for _, r := range rep.Results {
		got[r.Person] = r.Status
	}
	want := map[string]enroll.Status{"P-LMM": enroll.StatusEnrolled, "P-AL": enroll.StatusEnrolled,
		"P-GROUP": enroll.StatusSeveralFaces, "P-BAD": enroll.StatusBadImage}
	for id, s := range want {
		if got[id] != s {
			t.Errorf("%s: %s, want %s", id, got[id], s)
		}
	}
	if rep.Model != "faceplugin/flip" || rep.Counts["enrolled"] != 2 {
		t.Errorf("report %+v", rep)
	}

	// The same import again: nothing new, and the table says so.
	args = append([]string{"enroll", "--actor", "alice", "--engine", "faceplugin", "--dir", imp}, storeArgs...)
	out, _, _ = edgectlIn(t, dir, args...)
	if strings.Count(out, "already_enrolled") != 2 || !strings.Contains(out, "several_faces") || !strings.Contains(out, "2 already enrolled") {
		t.Fatalf("re-run table:\n%s", out)
	}

	// A CSV with a bad line is refused whole, naming the line.
	csvPath := filepath.Join(dir, "import.csv")
	os.WriteFile(csvPath, []byte("person_id,display_name,photo\n"+
		"P-BO,Barack Obama,"+enrolPhoto(t, "obama.jpg")+"\n"+
		"P BAD,Someone,x.jpg\n"), 0o644)
	args = append([]string{"enroll", "--actor", "alice", "--engine", "faceplugin", "--csv", csvPath}, storeArgs...)
	_, stderr, err = edgectlIn(t, dir, args...)
	if err == nil || !strings.Contains(stderr, "line 3: person_id") {
		t.Fatalf("bad CSV: err %v, stderr %q", err, stderr)
	}
	os.WriteFile(csvPath, []byte("person_id,display_name,photo,watch_lists\nP-BO,Barack Obama,"+enrolPhoto(t, "obama.jpg")+",vip\n"), 0o644)
	out, stderr, err = edgectlIn(t, dir, args...)
	if err != nil || !strings.Contains(out, "LINE") || !strings.Contains(out, "P-BO") {
		t.Fatalf("CSV import: %v\n%s%s", err, out, stderr)
	}

	// Re-embedding for the fused engine adds its templates and keeps the
	// faceplugin ones; a second run has nothing to do.
	args = append([]string{"gallery", "reembed", "--actor", "bob", "--engine", "fused"}, storeArgs...)
	out, stderr, err = edgectlIn(t, dir, args...)
	if err != nil || !strings.Contains(out, "3 re-embedded (3 template(s))") {
		t.Fatalf("reembed: %v\n%s%s", err, out, stderr)
	}
	out, _, err = edgectlIn(t, dir, args...)
	if err != nil || !strings.Contains(out, "3 already had a template, 0 re-embedded") {
		t.Fatalf("second reembed: %v\n%s", err, out)
	}
	out, stderr, err = edgectlIn(t, dir, append([]string{"gallery", "list", "--json"}, storeArgs...)...)
	if err != nil {
		t.Fatalf("list: %v\n%s", err, stderr)
	}
	var l enroll.Listing
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("bad JSON (%v):\n%s", err, out)
	}
	if len(l.Models) != 2 || len(l.Persons) != 3 {
		t.Fatalf("listing %+v", l)
	}
	for _, m := range l.Models {
		if m.Templates != 3 || m.Persons != 3 {
			t.Errorf("model %+v, want 3 templates of 3 persons", m)
		}
	}
	out, _, err = edgectlIn(t, dir, "gallery", "list", "--no-key", "--store", storeArgs[1])
	if err != nil || !strings.Contains(out, "Barack Obama") || !strings.Contains(out, "faceplugin/flip:1 fused(faceplugin+dlibonnx)/flip:1") {
		t.Fatalf("list without the key: %v\n%s", err, out)
	}

	// Who did what is in the audit log under the names given.
	st, err := store.Open(storeArgs[1], store.Options{SQLite: sqlite.Binding{}, NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.AuditEntries(context.Background(), 0, store.MaxBatch)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]string{}
	for _, e := range entries {
		if e.Action == "template.enrol" && strings.Contains(e.Detail, `"model":"fused`) {
			by["reembed"] = e.Actor
		}
		if e.Action == "template.enrol" && strings.Contains(e.Detail, `"model":"faceplugin`) {
			by["enrol"] = e.Actor
		}
	}
	if by["enrol"] != "alice" || by["reembed"] != "bob" {
		t.Fatalf("actors in the audit log: %v", by)
	}
	// Each entry waits in the outbox as an audit record of the site given,
	// and each template made here goes up to the region with its photo.
	msgs, err := st.Pending(context.Background(), 0, store.MaxBatch)
	if err != nil {
		t.Fatal(err)
	}
	templates := 0
	for _, e := range entries {
		if e.Action == "template.enrol" {
			templates++
		}
	}
	count := map[string]int{}
	for _, m := range msgs {
		count[m.Topic]++
	}
	wantMsgs := map[string]int{"dozor/v1/north/ik5/audit": len(entries), "dozor/v1/north/ik5/gallery/enrol": templates}
	if !maps.Equal(count, wantMsgs) {
		t.Errorf("outbox messages by topic: %v; want %v", count, wantMsgs)
	}
}

func TestEnrollBadArguments(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"enroll"}, "give exactly one of"},
		{"two sources", []string{"enroll", "--dir", "a", "--csv", "b"}, "give exactly one of"},
		{"person without photos", []string{"enroll", "--person", "P-1"}, "no photos"},
		{"photos without person", []string{"enroll", "--dir", "a", "x.jpg"}, "unexpected arguments"},
		{"name without person", []string{"enroll", "--dir", "a", "--name", "Ann"}, "--name goes with --person"},
		{"actor with a space", []string{"enroll", "--person", "P-1", "--actor", "Ann Smith", "x.jpg"}, "without spaces"},
		{"missing CSV", []string{"enroll", "--csv", "nope.csv"}, "nope.csv"},
		{"gallery without sub-command", []string{"gallery"}, "sub-command is required"},
		{"unknown gallery sub-command", []string{"gallery", "frobnicate"}, "unknown sub-command"},
		{"reembed without engine", []string{"gallery", "reembed"}, "--engine is required"},
		{"list of a missing store", []string{"gallery", "list", "--store", "nope.db"}, "nope.db"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := edgectlIn(t, dir, c.args...)
			if err == nil || !strings.Contains(stderr, c.want) {
				t.Fatalf("err %v, stderr %q, want it to mention %q", err, stderr, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "var")); !os.IsNotExist(err) {
		t.Fatal("a refused command created var/")
	}
}

// With --config, the store, its key and the site come from the daemon's
// configuration: the audit records of an enrolment leave under the site
// the daemon runs as, not under the defaults.
func TestStoreFlagsFromConfig(t *testing.T) {
	dir := t.TempDir()
	db, key := filepath.Join(dir, "db", "f.db"), filepath.Join(dir, "keys", "f.key")
	cfgPath := filepath.Join(dir, "edged.yaml")
	yaml := fmt.Sprintf("site:\n  id: ik7\n  region: south\nstore:\n  path: %s\n  key_file: %s\n", db, key)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := edgectlIn(t, dir, "enroll", "--config", cfgPath, "--init-key", "--actor", "alice",
		"--engine", "faceplugin", "--person", "P-LMM", enrolPhoto(t, "lin-manuel-miranda.png"))
	if err != nil {
		t.Fatalf("enroll --config: %v\n%s", err, stderr)
	}
	st, err := store.Open(db, store.Options{SQLite: sqlite.Binding{}, KeyFile: key, Region: "south", Site: "ik7"})
	if err != nil {
		t.Fatalf("the store named in the configuration: %v", err)
	}
	defer st.Close()
	msgs, err := st.Pending(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) == 0 {
		t.Fatal("an enrolment left no audit record for the region")
	}
	for _, m := range msgs {
		if !strings.HasPrefix(m.Topic, "dozor/v1/south/ik7/") {
			t.Errorf("message on %s, want the configured site's dozor/v1/south/ik7/", m.Topic)
		}
	}
}
