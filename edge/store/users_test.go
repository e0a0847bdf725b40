package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const testHash = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"

func TestUsers(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	path := t.TempDir() + "/facility.db"
	key := newKeyFile(t)
	s, err := Open(path, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: key, Now: clock.now})
	must(t, err)
	defer s.Close()

	must(t, s.PutUser(ctx, "root", User{Name: "petrov", Role: RoleGuard, Lang: "ru", PasswordHash: testHash}))
	must(t, s.PutUser(ctx, "root", User{Name: "anna", Role: RoleAuditor, Lang: "en", PasswordHash: testHash}))
	clock.t = clock.t.Add(time.Hour)
	must(t, s.PutUser(ctx, "root", User{Name: "petrov", Role: RoleSupervisor, Lang: "en", PasswordHash: testHash + "x", Disabled: true}))

	u, err := s.User(ctx, "petrov")
	must(t, err)
	want := User{Name: "petrov", Role: RoleSupervisor, Lang: "en", PasswordHash: testHash + "x", Disabled: true,
		CreatedAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	if u != want {
		t.Errorf("user %+v, want %+v", u, want)
	}
	all, err := s.Users(ctx)
	must(t, err)
	if len(all) != 2 || all[0].Name != "anna" || all[1].Name != "petrov" {
		t.Errorf("users %+v, want anna then petrov", all)
	}
	if _, err := s.User(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}

	must(t, s.DeleteUser(ctx, "root", "anna"))
	if err := s.DeleteUser(ctx, "root", "anna"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	if _, err := s.User(ctx, "anna"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted user: %v", err)
	}

	entries, err := s.QueryAudit(ctx, AuditQuery{Action: "user."})
	must(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.Object+" "+e.Detail)
		if strings.Contains(e.Detail, "argon2id") {
			t.Errorf("audit entry %d holds the password hash: %s", e.Seq, e.Detail)
		}
	}
	wantActions := []string{
		`user.put user:petrov {"created":true,"disabled":false,"lang":"ru","role":"guard"}`,
		`user.put user:anna {"created":true,"disabled":false,"lang":"en","role":"auditor"}`,
		`user.put user:petrov {"created":false,"disabled":true,"lang":"en","role":"supervisor"}`,
		`user.delete user:anna {"role":"auditor"}`,
	}
	if strings.Join(actions, "\n") != strings.Join(wantActions, "\n") {
		t.Errorf("audit entries:\n%s\nwant:\n%s", strings.Join(actions, "\n"), strings.Join(wantActions, "\n"))
	}
	s.Close()

	// Accounts are not biometric: a store without its key reads them, and
	// writes nothing.
	ro, err := Open(path, Options{SQLite: lib, NoKey: true})
	must(t, err)
	defer ro.Close()
	if u, err := ro.User(ctx, "petrov"); err != nil || u.Role != RoleSupervisor {
		t.Errorf("no-key read: %+v %v", u, err)
	}
	if err := ro.PutUser(ctx, "root", User{Name: "x", Role: RoleGuard, Lang: "ru", PasswordHash: testHash}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("no-key write: %v", err)
	}
}

func TestRoles(t *testing.T) {
	for _, r := range []Role{"guard", "supervisor", "admin", "auditor", "installer"} {
		if !r.Valid() {
			t.Errorf("%q is not valid", r)
		}
	}
	for _, r := range []Role{"", "Guard", "root"} {
		if r.Valid() {
			t.Errorf("%q is valid", r)
		}
	}
	if len(Roles) != 5 {
		t.Errorf("Roles = %v", Roles)
	}
}
