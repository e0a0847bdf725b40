package webauth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The password of every test account.
const testPassword = "correct horse battery"

// testHash is testPassword's hash, made once: each hash costs tens of
// milliseconds.
var testHash = sync.OnceValue(func() string {
	h, err := HashPassword(testPassword)
	if err != nil {
		panic(err)
	}
	return h
})

// auditRec is one record written through Users.Audit.
type auditRec struct{ actor, action, object, detail string }

func (a auditRec) String() string { return a.actor + " " + a.action + " " + a.object }

// memUsers is an in-memory Users for the tests that run in a synctest
// bubble, where a SQLite store's goroutines do not belong; the audit
// sequence against a real store is in store_test.go.
type memUsers struct {
	mu    sync.Mutex
	users map[string]User
	audit []auditRec
	// down, when set, is the error every User call returns.
	down error
}

func newMemUsers(roles map[string]string) *memUsers {
	u := &memUsers{users: map[string]User{}}
	for name, role := range roles {
		u.put(User{Name: name, Role: role, Lang: "ru", PasswordHash: testHash()})
	}
	return u
}

func (u *memUsers) put(usr User) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.users[usr.Name] = usr
}

func (u *memUsers) update(name string, f func(*User)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	usr := u.users[name]
	f(&usr)
	u.users[name] = usr
}

func (u *memUsers) remove(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.users, name)
}

func (u *memUsers) User(_ context.Context, name string) (User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.down != nil {
		return User{}, u.down
	}
	usr, ok := u.users[name]
	if !ok {
		return User{}, fmt.Errorf("%w: user %q", ErrNotFound, name)
	}
	return usr, nil
}

func (u *memUsers) Audit(_ context.Context, actor, action, object, detail string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.audit = append(u.audit, auditRec{actor, action, object, detail})
	return nil
}

func (u *memUsers) actions() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, a := range u.audit {
		out = append(out, a.String())
	}
	return out
}

// testCookie is the session cookie of the tests' Managers.
const testCookie = "dozor_test_session"

// anyRole is every role of the tests' accounts: to the Manager, roles
// are only names.
var anyRole = []string{"guard", "supervisor", "admin", "auditor", "installer"}

// newManager returns a Manager over users, with the tests' cookie name
// unless cfg names one.
func newManager(t testing.TB, users Users, cfg Config) *Manager {
	t.Helper()
	if cfg.CookieName == "" {
		cfg.CookieName = testCookie
	}
	m, err := NewManager(users, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func login(t testing.TB, m *Manager, name string) *Session {
	t.Helper()
	s, err := m.Login(context.Background(), name, testPassword, "192.0.2.10:50000")
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return s
}

// request is a request carrying s's cookie (none when s is nil).
func request(method, target string, s *Session) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	if s != nil {
		r.AddCookie(&http.Cookie{Name: testCookie, Value: s.Token.Value()})
	}
	return r
}
