//go:build cgo

package monitor

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestLastAdmin: the API never leaves the site without an enabled
// administrator, however the change is asked for.
func TestLastAdmin(t *testing.T) {
	e := newEnv(t)
	adm := e.login("admin")
	ok := status(t, http.StatusOK)
	last := func(field string) func(*http.Response, []byte) {
		return func(resp *http.Response, body []byte) {
			t.Helper()
			expect(t, resp, body, http.StatusConflict)
			got := errBody(t, body)
			if got.Field != field || !strings.Contains(got.Error, "last enabled administrator") {
				t.Errorf("%+v: want a last-administrator refusal naming %s", got, field)
			}
		}
	}
	last("name")(adm.do("DELETE", "/api/v1/users/admin", nil))
	last("disabled")(adm.do("PUT", "/api/v1/users/admin", map[string]any{"disabled": true}))
	last("role")(adm.do("PUT", "/api/v1/users/admin", map[string]any{"role": "auditor"}))
	u, err := e.st.User(context.Background(), "admin")
	must(t, err)
	if u.Role != "admin" || u.Disabled {
		t.Fatalf("the last administrator changed: %+v", u)
	}

	// With a second administrator, either may go, but not oneself, and
	// not both.
	status(t, http.StatusCreated)(adm.do("POST", "/api/v1/users", map[string]string{"name": "admin2", "role": "admin", "password": password}))
	resp, body := adm.do("PUT", "/api/v1/users/admin", map[string]any{"disabled": true})
	expect(t, resp, body, http.StatusConflict)
	if got := errBody(t, body); !strings.Contains(got.Error, "own account") {
		t.Errorf("self-disable: %+v", got)
	}
	ok(adm.do("PUT", "/api/v1/users/admin2", map[string]any{"disabled": true}))
	// admin2 disabled: admin is the last enabled one again.
	last("name")(adm.do("DELETE", "/api/v1/users/admin", nil))
	ok(adm.do("PUT", "/api/v1/users/admin2", map[string]any{"disabled": false}))
	ok(adm.do("PUT", "/api/v1/users/admin2", map[string]any{"role": "auditor"}))
	last("role")(adm.do("PUT", "/api/v1/users/admin", map[string]any{"role": "guard"}))
	// Other accounts are not held back.
	ok(adm.do("PUT", "/api/v1/users/guard", map[string]any{"disabled": true}))
	status(t, http.StatusNoContent)(adm.do("DELETE", "/api/v1/users/guard", nil))
}

// status returns a check of one status for calls whose body is of no
// further interest.
func status(t testing.TB, want int) func(*http.Response, []byte) {
	return func(resp *http.Response, body []byte) {
		t.Helper()
		expect(t, resp, body, want)
	}
}

// TestPasswordChangeKeepsSession: changing one's own password ends every
// session of the account, yet the browser that changed it goes on with a
// new session cookie and CSRF token; the old password stops working.
func TestPasswordChangeKeepsSession(t *testing.T) {
	e := newEnv(t)
	ok := status(t, http.StatusOK)
	g := e.login("guard")
	other := e.login("guard") // another browser of the same account
	const newPassword = "a brand new long password"
	resp, body := g.do("PATCH", "/api/v1/me", map[string]any{"password": map[string]string{"old": password, "new": newPassword}})
	expect(t, resp, body, http.StatusOK)
	var s sessionView
	must(t, json.Unmarshal(body, &s))
	if s.User.Name != "guard" || s.CSRF == "" || s.CSRF == g.csrf {
		t.Fatalf("answer %s: want the account and a new CSRF token", body)
	}
	if !hasCookie(resp, CookieName) {
		t.Error("no new session cookie")
	}
	// The old token is dead with the old session; the new one works.
	resp, body = g.do("PATCH", "/api/v1/me", map[string]any{"lang": "ru"})
	expect(t, resp, body, http.StatusForbidden)
	g.csrf = s.CSRF
	ok(g.do("PATCH", "/api/v1/me", map[string]any{"lang": "ru"}))
	ok(g.do("GET", "/api/v1/me", nil))

	resp, body = other.do("GET", "/api/v1/me", nil)
	expect(t, resp, body, http.StatusUnauthorized)
	resp, body = e.client().do("POST", "/api/v1/login", map[string]string{"user": "guard", "password": password})
	expect(t, resp, body, http.StatusUnauthorized)
	resp, body = e.client().do("POST", "/api/v1/login", map[string]string{"user": "guard", "password": newPassword})
	expect(t, resp, body, http.StatusOK)

	// A new password that breaks the policy changes nothing.
	resp, body = g.do("PATCH", "/api/v1/me", map[string]any{"password": map[string]string{"old": newPassword, "new": "short"}})
	expect(t, resp, body, http.StatusBadRequest)
	if f := errBody(t, body).Field; f != "password.new" {
		t.Errorf("field %q, want password.new", f)
	}
	ok(g.do("GET", "/api/v1/me", nil))
}

func hasCookie(resp *http.Response, name string) bool {
	for _, c := range resp.Cookies() {
		if c.Name == name && c.Value != "" {
			return true
		}
	}
	return false
}
