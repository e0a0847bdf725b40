package webauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dozor-edge/dozor/internal/testenv"
)

// A session ends after IdleTimeout without a request and after
// AbsoluteTimeout in any case; each step waits, then makes a request.
func TestSessionTimeouts(t *testing.T) {
	type step struct {
		wait time.Duration
		ok   bool
	}
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"fresh", []step{{0, true}}},
		{"just inside the idle timeout", []step{{30*time.Minute - time.Second, true}}},
		{"idle timeout", []step{{30 * time.Minute, false}}},
		{"requests keep it alive", []step{{20 * time.Minute, true}, {20 * time.Minute, true}, {29 * time.Minute, true}}},
		{"an expired session stays ended", []step{{31 * time.Minute, false}, {0, false}}},
		{"absolute timeout despite activity", slices.Concat(
			slices.Repeat([]step{{20 * time.Minute, true}}, 35), // 11 h 40 min
			[]step{{19 * time.Minute, true}, {time.Minute, false}})},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newManager(t, newMemUsers(map[string]string{"ivanov": "guard"}), Config{})
				s := login(t, m, "ivanov")
				for i, st := range c.steps {
					time.Sleep(st.wait)
					got, err := m.Authenticate(request("GET", "/api/v1/me", s))
					if ok := err == nil; ok != st.ok {
						t.Fatalf("step %d (after %v): Authenticate = %v, %v; want ok=%v", i, st.wait, got, err, st.ok)
					}
					if err != nil && !errors.Is(err, ErrNoSession) {
						t.Fatalf("step %d: %v, want ErrNoSession", i, err)
					}
					if err == nil && !got.LastSeen.Equal(time.Now()) {
						t.Fatalf("step %d: last seen %v, want now %v", i, got.LastSeen, time.Now())
					}
				}
			})
		})
	}
}

// The login limits: an account locks after AccountFailures failures in
// the window and opens AccountLockout later; an address is refused while
// AddressFailures of its failures lie within the window.
func TestLoginLimits(t *testing.T) {
	type try = loginTry
	const wrong = "wrong password!"
	a1, a2 := "192.0.2.1:1000", "192.0.2.2:1000"
	bad := func(name, addr string) try { return try{name: name, pw: wrong, addr: addr, want: "bad"} }
	good := func(name, addr string) try { return try{name: name, pw: testPassword, addr: addr, want: "ok"} }
	wait := func(d time.Duration, t try) try { t.wait = d; return t }
	refused := func(t try, scope string, retry time.Duration) try { t.want, t.retry = scope, retry; return t }
	for _, c := range []struct {
		name  string
		tries []try
	}{
		{"four failures then success", append(slices.Repeat([]try{bad("ivanov", a1)}, 4), good("ivanov", a1))},
		{"fifth failure locks, even the right password", append(slices.Repeat([]try{bad("ivanov", a1)}, 5),
			refused(good("ivanov", a2), ScopeAccount, 15*time.Minute))},
		{"lock lasts its time", append(slices.Repeat([]try{bad("ivanov", a1)}, 5),
			refused(wait(15*time.Minute-time.Second, good("ivanov", a2)), ScopeAccount, time.Second),
			wait(time.Second, good("ivanov", a2)))},
		{"failures age out of the window", []try{
			bad("ivanov", a1), bad("ivanov", a1), bad("ivanov", a1), bad("ivanov", a1),
			wait(15*time.Minute, bad("ivanov", a1)), bad("ivanov", a1), bad("ivanov", a1), good("ivanov", a1)}},
		{"success resets the count", append(append(slices.Repeat([]try{bad("ivanov", a1)}, 4), good("ivanov", a1)),
			append(slices.Repeat([]try{bad("ivanov", a1)}, 4), good("ivanov", a1))...)},
		{"unknown names lock the same way", append(slices.Repeat([]try{bad("nobody", a1)}, 5),
			refused(bad("nobody", a1), ScopeAccount, 15*time.Minute))},
		{"one account's lock leaves others alone", append(slices.Repeat([]try{bad("ivanov", a1)}, 5),
			good("petrov", a2))},
		{"address limit", append(addrFailures(20, a1), refused(good("ivanov", a1), ScopeAddress, 15*time.Minute),
			good("ivanov", a2))},
		{"address limit until the oldest failure ages out", append(addrFailures(20, a1),
			refused(wait(15*time.Minute-time.Second, good("ivanov", a1)), ScopeAddress, time.Second),
			wait(time.Second, good("ivanov", a1)))},
		{"invalid names count against the address", append(slices.Repeat([]try{bad("bad name", a1)}, 20),
			refused(good("ivanov", a1), ScopeAddress, 15*time.Minute))},
		{"IPv6 counts by /64", append(addrFailuresV6(20), refused(good("ivanov", "[2001:db8:0:1:ffff::1]:443"), ScopeAddress, 15*time.Minute),
			good("ivanov", "[2001:db8:0:2::1]:443"))},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				users := newMemUsers(map[string]string{"ivanov": "guard", "petrov": "guard"})
				m := newManager(t, users, Config{})
				for i, tr := range c.tries {
					time.Sleep(tr.wait)
					s, err := m.Login(context.Background(), tr.name, tr.pw, tr.addr)
					var lim *LimitedError
					switch {
					case tr.want == "ok" && err == nil && s.User.Name == tr.name:
					case tr.want == "bad" && errors.Is(err, ErrBadCredentials):
					case errors.As(err, &lim) && lim.Scope == tr.want && lim.RetryAfter == tr.retry:
					default:
						t.Fatalf("try %d (%s from %s): %v, %v; want %s %v", i, tr.name, tr.addr, s, err, tr.want, tr.retry)
					}
				}
			})
		})
	}
}

// loginTry is one login of TestLoginLimits, after a wait.
type loginTry struct {
	wait     time.Duration
	name, pw string
	addr     string
	want     string // "ok", "bad", or the scope of a LimitedError
	retry    time.Duration
}

// addrFailures is n failed logins from addr, each for another name so
// that no account locks.
func addrFailures(n int, addr string) []loginTry {
	out := make([]loginTry, n)
	for i := range out {
		out[i].name, out[i].pw, out[i].addr, out[i].want = fmt.Sprintf("user%d", i), "wrong password!", addr, "bad"
	}
	return out
}

func addrFailuresV6(n int) []loginTry {
	out := addrFailures(n, "")
	for i := range out {
		out[i].addr = fmt.Sprintf("[2001:db8:0:1::%x]:443", i+1)
	}
	return out
}

// Wrong passwords, unknown and invalid names give the same error; the
// audit log tells them apart, and sanitises what it quotes.
func TestLoginOutcomesAudited(t *testing.T) {
	users := newMemUsers(map[string]string{"ivanov": "guard", "sidorov": "guard"})
	users.update("sidorov", func(u *User) { u.Disabled = true })
	var logs bytes.Buffer
	m := newManager(t, users, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	long := strings.Repeat("я", 100)
	for _, c := range []struct {
		name, pw string
		err      error
		audit    string
	}{
		{"ivanov", "wrong password!", ErrBadCredentials, `anonymous auth.login_failed user:ivanov {"address":"192.0.2.7","reason":"wrong password"}`},
		{"nobody", testPassword, ErrBadCredentials, `anonymous auth.login_failed user:nobody {"address":"192.0.2.7","reason":"unknown user"}`},
		{"a\x00b\nc d", testPassword, ErrBadCredentials, `anonymous auth.login_failed user:a?b?c?d {"address":"192.0.2.7","reason":"invalid name"}`},
		{long, testPassword, ErrBadCredentials, `anonymous auth.login_failed user:` + strings.Repeat("я", 32) + `... {"address":"192.0.2.7","reason":"invalid name"}`},
		{"", testPassword, ErrBadCredentials, `anonymous auth.login_failed user:? {"address":"192.0.2.7","reason":"invalid name"}`},
		{"sidorov", "wrong password!", ErrBadCredentials, `anonymous auth.login_failed user:sidorov {"address":"192.0.2.7","reason":"wrong password"}`},
		{"sidorov", testPassword, ErrDisabled, `anonymous auth.login_failed user:sidorov {"address":"192.0.2.7","reason":"disabled"}`},
		{"ivanov", testPassword, nil, `ivanov auth.login user:ivanov {"address":"192.0.2.7"}`},
	} {
		users.audit = nil
		_, err := m.Login(ctx, c.name, c.pw, "192.0.2.7:40000")
		if !errors.Is(err, c.err) && !(err == nil && c.err == nil) {
			t.Errorf("login %q: %v, want %v", c.name, err, c.err)
		}
		if len(users.audit) != 1 {
			t.Fatalf("login %q: audit %v, want one record", c.name, users.audit)
		}
		if a := users.audit[0]; a.String()+" "+a.detail != c.audit {
			t.Errorf("login %q audited\n%s %s\nwant\n%s", c.name, a, a.detail, c.audit)
		}
	}
	if strings.Contains(logs.String(), "$argon2id$") {
		t.Errorf("the log shows a hash:\n%s", logs.String())
	}
}

// A change to the account in the store applies to its next request.
func TestAccountChangesApplyAtOnce(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*memUsers)
		ok     bool
		role   string
	}{
		{"nothing", func(*memUsers) {}, true, "guard"},
		{"role", func(u *memUsers) { u.update("ivanov", func(u *User) { u.Role = "supervisor" }) }, true, "supervisor"},
		{"language", func(u *memUsers) { u.update("ivanov", func(u *User) { u.Lang = "en" }) }, true, "guard"},
		{"disabled", func(u *memUsers) { u.update("ivanov", func(u *User) { u.Disabled = true }) }, false, ""},
		{"deleted", func(u *memUsers) { u.remove("ivanov") }, false, ""},
		{"new password", func(u *memUsers) {
			u.update("ivanov", func(u *User) { u.PasswordHash = strings.Replace(u.PasswordHash, "t=2", "t=3", 1) })
		}, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			users := newMemUsers(map[string]string{"ivanov": "guard"})
			m := newManager(t, users, Config{})
			s1, s2 := login(t, m, "ivanov"), login(t, m, "ivanov")
			c.change(users)
			got, err := m.Authenticate(request("GET", "/", s1))
			if !c.ok {
				if !errors.Is(err, ErrNoSession) {
					t.Fatalf("Authenticate = %v, %v; want ErrNoSession", got, err)
				}
				// Every session of the account ended, not only this one.
				users.update("ivanov", func(u *User) {
					*u = User{Name: "ivanov", Role: "guard", Lang: "ru", PasswordHash: testHash()}
				})
				if _, err := m.Authenticate(request("GET", "/", s2)); !errors.Is(err, ErrNoSession) {
					t.Fatalf("the account's other session survived: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.User.Role != c.role || got.User.PasswordHash != "" {
				t.Fatalf("session user %+v, want role %s and no hash", got.User, c.role)
			}
		})
	}
}

func TestLogoutAndEndSessions(t *testing.T) {
	users := newMemUsers(map[string]string{"ivanov": "guard", "petrov": "guard"})
	m := newManager(t, users, Config{})
	a, b, p := login(t, m, "ivanov"), login(t, m, "ivanov"), login(t, m, "petrov")
	users.audit = nil
	if err := m.Logout(request("POST", "/api/v1/logout", a)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(request("GET", "/", a)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after logout: %v", err)
	}
	if _, err := m.Authenticate(request("GET", "/", b)); err != nil {
		t.Fatalf("logout ended the account's other session: %v", err)
	}
	if got := users.actions(); !slices.Equal(got, []string{"ivanov auth.logout user:ivanov"}) {
		t.Errorf("audit %q", got)
	}
	// A second logout, or one without a cookie, does nothing.
	if err := m.Logout(request("POST", "/api/v1/logout", a)); err != nil || len(users.audit) != 1 {
		t.Fatalf("repeated logout: %v, audit %v", err, users.audit)
	}
	if n := m.EndSessions("ivanov"); n != 1 {
		t.Fatalf("EndSessions ended %d, want 1", n)
	}
	if _, err := m.Authenticate(request("GET", "/", b)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after EndSessions: %v", err)
	}
	if _, err := m.Authenticate(request("GET", "/", p)); err != nil {
		t.Fatalf("EndSessions ended another account's session: %v", err)
	}
}

// An account keeps at most MaxSessionsPerUser sessions; the oldest go.
func TestSessionCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, newMemUsers(map[string]string{"ivanov": "guard"}), Config{MaxSessionsPerUser: 3})
		var ss []*Session
		for range 5 {
			ss = append(ss, login(t, m, "ivanov"))
			time.Sleep(time.Second)
		}
		for i, s := range ss {
			_, err := m.Authenticate(request("GET", "/", s))
			if live := err == nil; live != (i >= 2) {
				t.Errorf("session %d live=%v (%v), want only the newest 3", i, live, err)
			}
		}
	})
}

// Expired sessions and stale limiter entries are swept without a
// request for them.
func TestSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		users := newMemUsers(map[string]string{"ivanov": "guard", "petrov": "guard"})
		m := newManager(t, users, Config{})
		login(t, m, "ivanov")
		m.Login(context.Background(), "nobody", "wrong password!", "192.0.2.9:1")
		time.Sleep(31 * time.Minute)
		login(t, m, "petrov")
		m.mu.Lock()
		defer m.mu.Unlock()
		if len(m.sessions) != 1 || len(m.accounts.keys) != 0 || len(m.addresses.keys) != 0 {
			t.Fatalf("after the sweep: %d sessions, %d accounts, %d addresses; want 1, 0, 0",
				len(m.sessions), len(m.accounts.keys), len(m.addresses.keys))
		}
	})
}

func TestConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{"defaults", Config{CookieName: testCookie}, ""},
		{"negative idle", Config{CookieName: testCookie, IdleTimeout: -time.Second}, "IdleTimeout is negative"},
		{"negative failures", Config{CookieName: testCookie, AccountFailures: -1}, "AccountFailures is negative"},
		{"absolute shorter than idle", Config{CookieName: testCookie, IdleTimeout: time.Hour, AbsoluteTimeout: time.Minute}, "AbsoluteTimeout (1m0s) is shorter than IdleTimeout (1h0m0s)"},
		{"no cookie name", Config{}, "CookieName is empty"},
		{"cookie name with a space", Config{CookieName: "dozor session"}, `CookieName "dozor session" is not a valid cookie name`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewManager(newMemUsers(nil), c.cfg)
			testenv.ErrAsWanted(t, err, c.err)
		})
	}
	if _, err := NewManager(nil, Config{CookieName: testCookie}); err == nil {
		t.Error("NewManager accepted no store")
	}
}

// Tokens never show in formatted output or logs.
func TestTokensRedacted(t *testing.T) {
	m := newManager(t, newMemUsers(map[string]string{"ivanov": "guard"}), Config{})
	s := login(t, m, "ivanov")
	tok := s.Token.Value()
	if len(tok) != 43 || len(s.CSRF) != 43 || tok == s.CSRF {
		t.Fatalf("token %d chars, csrf %d chars: want two different 43-char tokens", len(tok), len(s.CSRF))
	}
	var out strings.Builder
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		fmt.Fprintf(&out, f+"\n", s)
		fmt.Fprintf(&out, f+"\n", *s)
		fmt.Fprintf(&out, f+"\n", s.Token)
	}
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "session", s, "token", s.Token)
	slog.New(slog.NewTextHandler(&out, nil)).Info("x", "session", s, "token", s.Token)
	if strings.Contains(out.String(), tok) || strings.Contains(out.String(), s.CSRF) {
		t.Fatalf("a token shows in:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "ivanov") {
		t.Fatalf("the account does not show in:\n%s", out.String())
	}
}

func TestClientAddress(t *testing.T) {
	for in, want := range map[string][2]string{
		"192.0.2.1:5000":              {"192.0.2.1", "192.0.2.1"},
		"[::ffff:192.0.2.1]:5000":     {"192.0.2.1", "192.0.2.1"},
		"[2001:db8::1%eth0]:5000":     {"2001:db8::1", "2001:db8::/64"},
		"[2001:db8:0:0:5::9]:1":       {"2001:db8::5:0:0:9", "2001:db8::/64"},
		"192.0.2.1":                   {"192.0.2.1", "192.0.2.1"},
		"":                            {"?", "?"},
		"pipe\x00name with spaces:80": {"pipe?name?with?spaces", "pipe?name?with?spaces"},
	} {
		host, key := clientAddress(in)
		if host != want[0] || key != want[1] {
			t.Errorf("clientAddress(%q) = %q, %q; want %q, %q", in, host, key, want[0], want[1])
		}
	}
}

// Hammering a locked account or a limited address writes one audit
// record a minute for it, carrying the count, not one per attempt.
func TestRefusalsAuditedOncePerMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		users := newMemUsers(map[string]string{"ivanov": "guard"})
		m := newManager(t, users, Config{})
		ctx := context.Background()
		for range 5 {
			m.Login(ctx, "ivanov", "wrong password!", "192.0.2.1:1")
		}
		users.audit = nil
		for range 2 {
			for range 100 {
				var lim *LimitedError
				if _, err := m.Login(ctx, "ivanov", testPassword, "192.0.2.1:1"); !errors.As(err, &lim) {
					t.Fatalf("login while locked: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		var got []string
		for _, a := range users.audit {
			got = append(got, a.action+" "+a.detail)
		}
		// 200 refusals within 20 s: the first is recorded, the rest wait
		// for the next record.
		want := []string{`auth.login_refused {"address":"192.0.2.1","reason":"account limited","refused":1}`}
		if !slices.Equal(got, want) {
			t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		time.Sleep(time.Minute)
		m.Login(ctx, "ivanov", testPassword, "192.0.2.1:1")
		if a := users.audit[len(users.audit)-1]; a.detail != `{"address":"192.0.2.1","reason":"account limited","refused":200}` {
			t.Fatalf("the next record a minute later: %s %s", a, a.detail)
		}
	})
}
