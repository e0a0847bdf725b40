package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/webauth"
)

// userIn runs the user command in this process with stdin, returning
// stdout and stderr.
func userIn(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := userCmd{in: strings.NewReader(stdin), out: &out, errOut: &errb}.run(context.Background(), args)
	return out.String(), errb.String(), err
}

// The accounts' life on a real store named by the daemon's config:
// add, list, passwd, disable, enable and delete, each audited under
// edgectl and the actor.
func TestUserCommand(t *testing.T) {
	dir := t.TempDir()
	db, key := filepath.Join(dir, "db", "f.db"), filepath.Join(dir, "keys", "f.key")
	cfg := filepath.Join(dir, "edged.yaml")
	yaml := fmt.Sprintf("site:\n  id: ik7\n  region: south\nstore:\n  path: %s\n  key_file: %s\n", db, key)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// list reads only, and so takes no --actor.
	withConf := func(args []string) []string {
		args = append(args, "--config", cfg)
		if args[0] != "list" {
			args = append(args, "--actor", "alice")
		}
		return args
	}
	run := func(stdin string, args ...string) string {
		t.Helper()
		out, stderr, err := userIn(t, stdin, withConf(args)...)
		if err != nil {
			t.Fatalf("user %q: %v\n%s", args, err, stderr)
		}
		return out
	}
	fails := func(stdin, want string, args ...string) {
		t.Helper()
		_, _, err := userIn(t, stdin, withConf(args)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("user %q: %v, want an error containing %q", args, err, want)
		}
	}

	fails("", "pass --init-key", "add", "--name", "root", "--role", "admin", "--password-stdin")
	out := run("first admin pw\n", "add", "--init-key", "--name", "root", "--role", "admin", "--password-stdin")
	if out != "added user root (role admin, language ru)\n" {
		t.Fatalf("add printed %q", out)
	}
	run("guard password\r\n", "add", "--name", "ivanov", "--role", "guard", "--lang", "en", "--password-stdin")

	for _, c := range []struct {
		name, stdin, want string
		args              []string
	}{
		{"existing", "another password", "already exists", []string{"add", "--name", "ivanov", "--role", "guard", "--password-stdin"}},
		{"short password", "short\n", "at least 10", []string{"add", "--name", "petrov", "--role", "guard", "--password-stdin"}},
		{"one character", "xxxxxxxxxxxx\n", "repeats one character", []string{"add", "--name", "petrov", "--role", "guard", "--password-stdin"}},
		{"no password", "", "holds no password", []string{"add", "--name", "petrov", "--role", "guard", "--password-stdin"}},
		{"not a terminal", "a good password\n", "--password-stdin", []string{"add", "--name", "petrov", "--role", "guard"}},
		{"bad role", "a good password\n", `--role "warden": want one of guard, supervisor, admin, auditor, installer`, []string{"add", "--name", "petrov", "--role", "warden", "--password-stdin"}},
		{"bad lang", "a good password\n", `--lang "de"`, []string{"add", "--name", "petrov", "--role", "guard", "--lang", "de", "--password-stdin"}},
		{"bad name", "a good password\n", "--name: user name may hold only printable characters without spaces", []string{"add", "--name", "pet rov", "--role", "guard", "--password-stdin"}},
		{"no name", "", "--name: user name is empty", []string{"disable"}},
		{"unknown user", "", "no user petrov", []string{"disable", "--name", "petrov"}},
		{"unknown sub-command", "", `unknown sub-command "promote"`, []string{"promote"}},
	} {
		t.Run(c.name, func(t *testing.T) { fails(c.stdin, c.want, c.args...) })
	}

	st, err := store.Open(db, store.Options{SQLite: sqlite.Binding{}, KeyFile: key, Region: "south", Site: "ik7"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	user := func(name string) store.User {
		t.Helper()
		u, err := st.User(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	checkPassword := func(name, pw string) {
		t.Helper()
		if ok, err := webauth.CheckPassword(user(name).PasswordHash, pw); !ok || err != nil {
			t.Fatalf("%s's password is not %q: %v, %v", name, pw, ok, err)
		}
	}
	checkPassword("root", "first admin pw")
	checkPassword("ivanov", "guard password")

	out = run("", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "ivanov guard en false ") ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[2]), " "), "root admin ru false ") {
		t.Fatalf("list printed:\n%s", out)
	}
	var listed struct {
		Users []map[string]any `json:"users"`
	}
	if err := json.Unmarshal([]byte(run("", "list", "--json")), &listed); err != nil || len(listed.Users) != 2 {
		t.Fatalf("list --json: %v %+v", err, listed)
	}
	if strings.Contains(out+fmt.Sprint(listed), "argon2") {
		t.Fatal("list shows a password hash")
	}

	before := user("ivanov").PasswordHash
	run("a new guard password\n", "passwd", "--name", "ivanov", "--password-stdin")
	checkPassword("ivanov", "a new guard password")
	if user("ivanov").PasswordHash == before {
		t.Fatal("passwd kept the old hash")
	}
	fails("short\n", "at least 10", "passwd", "--name", "ivanov", "--password-stdin")
	checkPassword("ivanov", "a new guard password")

	run("", "disable", "--name", "ivanov")
	if !user("ivanov").Disabled {
		t.Fatal("disable left the account enabled")
	}
	if out := run("", "disable", "--name", "ivanov"); out != "user ivanov is already disabled\n" {
		t.Fatalf("second disable printed %q", out)
	}
	run("", "enable", "--name", "ivanov")
	if u := user("ivanov"); u.Disabled || u.Role != store.RoleGuard || u.Lang != "en" {
		t.Fatalf("after enable: %+v", u)
	}
	run("", "delete", "--name", "ivanov")
	if _, err := st.User(ctx, "ivanov"); err == nil {
		t.Fatal("delete left the account")
	}

	entries, err := st.AuditEntries(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "user.") {
			got = append(got, e.Actor+" "+e.Action+" "+e.Object)
		}
	}
	want := []string{
		"edgectl:alice user.put user:root", "edgectl:alice user.put user:ivanov", // add, add
		"edgectl:alice user.put user:ivanov", "edgectl:alice user.put user:ivanov", // passwd, disable
		"edgectl:alice user.put user:ivanov", "edgectl:alice user.delete user:ivanov", // enable, delete
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUserHelp(t *testing.T) {
	_, stderr, err := userIn(t, "", "-h")
	if err == nil || !strings.Contains(stderr, "edgectl user add") {
		t.Fatalf("user -h: %v\n%s", err, stderr)
	}
}
