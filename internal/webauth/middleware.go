package webauth

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// CSRFHeader carries the session's CSRF token on every state change.
const CSRFHeader = "X-CSRF-Token"

// API protects JSON endpoints: a request without a live session gets
// 401 {"error":"login required"}, one whose account's role is not among
// roles gets 403, and a state change (any method but GET, HEAD and
// OPTIONS) without the session's CSRF token in X-CSRF-Token gets 403
// {"error":"csrf token missing or wrong"}. Otherwise the session is in
// the request's context (FromContext). Roles are the caller's names,
// compared with User.Role as they are.
func (m *Manager) API(roles ...string) func(http.Handler) http.Handler {
	return m.guard(roles, apiRefusal)
}

// Page protects HTML pages: without a session it redirects (303) to
// /login?next=<the page>; a wrong role or a missing CSRF token on a
// state change gets a plain-text 403.
func (m *Manager) Page(roles ...string) func(http.Handler) http.Handler {
	return m.guard(roles, pageRefusal)
}

// refusal writes the response to a refused request: code is 401, 403 or
// 500.
type refusal func(w http.ResponseWriter, r *http.Request, code int, msg string)

func (m *Manager) guard(roles []string, refuse refusal) func(http.Handler) http.Handler {
	roles = slices.Clone(roles)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := m.Authenticate(r)
			switch {
			case errors.Is(err, ErrNoSession):
				refuse(w, r, http.StatusUnauthorized, ErrNoSession.Error())
				return
			case err != nil:
				m.log.Error("auth: checking a session failed", "path", r.URL.Path, "err", err)
				refuse(w, r, http.StatusInternalServerError, "internal error")
				return
			}
			if !slices.Contains(roles, s.User.Role) {
				refuse(w, r, http.StatusForbidden, fmt.Sprintf("role %s may not %s %s", s.User.Role, r.Method, clip(r.URL.Path)))
				return
			}
			if !safeMethod(r.Method) && !validCSRF(r.Header.Get(CSRFHeader), s.CSRF) {
				refuse(w, r, http.StatusForbidden, "csrf token missing or wrong")
				return
			}
			// Answers behind a login are one account's view, and some are
			// biometric: no cache may keep them.
			w.Header().Set("Cache-Control", "no-store")
			next.ServeHTTP(w, r.WithContext(WithSession(r.Context(), s)))
		})
	}
}

func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

func validCSRF(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// clip shortens a request path quoted back in a message.
func clip(p string) string {
	if len(p) > 120 {
		return p[:120] + "..."
	}
	return p
}

func apiRefusal(w http.ResponseWriter, _ *http.Request, code int, msg string) {
	WriteError(w, code, msg)
}

func pageRefusal(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if code == http.StatusUnauthorized {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	http.Error(w, http.StatusText(code)+": "+msg, code)
}

// WriteError writes the JSON error body {"error": msg}.
func WriteError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// SafeNext returns next when it is a path on this site, "/" otherwise:
// the login page's ?next= must not send a browser elsewhere.
func SafeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || u.IsAbs() || u.Host != "" {
		return "/"
	}
	return next
}

// CheckOrigin checks the login POST, which has no session and so no
// CSRF token: when the browser says where the request comes from
// (Sec-Fetch-Site, or else Origin), it must be this site. Requests that
// say neither (curl, old browsers) pass: a browser that could be tricked
// into a cross-site post sends at least one of them.
func (m *Manager) CheckOrigin(r *http.Request) error {
	if err := m.origin.Check(r); err != nil {
		return fmt.Errorf("cross-origin request refused: %w", err)
	}
	return nil
}
