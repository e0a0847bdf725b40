//go:build cgo

package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/webauth"
)

// clock is a settable clock shared by the store and the accounts.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t *testing.T, now func() time.Time) *store.Store {
	t.Helper()
	key := filepath.Join(t.TempDir(), "store.key")
	if _, err := store.GenerateKeyFile(key); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "facility.db"),
		store.Options{SQLite: sqlite.Binding{}, KeyFile: key, Region: "north", Site: "ik5", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A brute force against one account, through the monitor's accounts on
// a real store: the failures, the lock, the refusals while locked, and
// after the lockout the owner's login, each in the audit log in order
// and under the right actor.
func TestBruteForceAudited(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	st := openStore(t, clk.now)
	hash, err := webauth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutUser(ctx, "edgectl:root", store.User{Name: "ivanov", Role: store.RoleGuard, Lang: "ru", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	m, err := NewAccounts(st, webauth.Config{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	const attacker = "198.51.100.4:4000"
	for i := range 5 {
		if _, err := m.Login(ctx, "ivanov", "guess number "+string(rune('1'+i)), attacker); !errors.Is(err, webauth.ErrBadCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
		clk.add(time.Second)
	}
	for _, pw := range []string{"guess number 6", password} {
		var lim *webauth.LimitedError
		if _, err := m.Login(ctx, "ivanov", pw, attacker); !errors.As(err, &lim) || lim.Scope != webauth.ScopeAccount {
			t.Fatalf("login while locked: %v, want the account limit", err)
		}
	}
	// The second refusal is counted in the next record, a minute later.
	clk.add(time.Minute)
	if _, err := m.Login(ctx, "ivanov", "guess number 7", attacker); err == nil {
		t.Fatal("a login a minute into the lockout passed")
	}
	clk.add(14 * time.Minute)
	s, err := m.Login(ctx, "ivanov", password, "192.0.2.10:5000")
	if err != nil {
		t.Fatalf("login after the lockout: %v", err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: s.Token.Value()})
	if _, err := m.Authenticate(r); err != nil {
		t.Fatal(err)
	}

	entries, err := st.AuditEntries(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "auth.") {
			got = append(got, e.Actor+" "+e.Action+" "+e.Object+" "+e.Detail)
		}
	}
	fail := `anonymous auth.login_failed user:ivanov {"address":"198.51.100.4","reason":"wrong password"}`
	refused := `anonymous auth.login_refused user:ivanov {"address":"198.51.100.4","reason":"account limited","refused":%d}`
	want := slices.Concat(slices.Repeat([]string{fail}, 5), []string{
		`anonymous auth.locked user:ivanov {"address":"198.51.100.4","reason":"5 failures within 15m0s; locked for 15m0s"}`,
		fmt.Sprintf(refused, 1), fmt.Sprintf(refused, 2),
		`ivanov auth.login user:ivanov {"address":"192.0.2.10"}`,
	})
	if !slices.Equal(got, want) {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if v, err := st.VerifyAudit(ctx); err != nil {
		t.Fatalf("audit chain: %v %+v", err, v)
	}
}
