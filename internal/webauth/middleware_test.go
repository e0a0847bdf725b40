package webauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// echo answers 200 with the account the middleware put in the context.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	s := FromContext(r.Context())
	if s == nil {
		http.Error(w, "no session in the context", http.StatusInternalServerError)
		return
	}
	fmt.Fprint(w, "hello "+s.User.Name)
})

func TestAPIMiddleware(t *testing.T) {
	users := newMemUsers(map[string]string{"ivanov": "guard", "smirnova": "supervisor"})
	m := newManager(t, users, Config{})
	guard, sup := login(t, m, "ivanov"), login(t, m, "smirnova")
	mux := http.NewServeMux()
	mux.Handle("/api/v1/alerts", m.API("guard", "supervisor")(echo))
	mux.Handle("/api/v1/rules", m.API("supervisor")(echo))
	mux.Handle("/api/v1/me", m.API(anyRole...)(echo))

	for _, c := range []struct {
		name, method, path string
		s                  *Session
		csrf               string
		code               int
		body               string
	}{
		{"anonymous", "GET", "/api/v1/alerts", nil, "", 401, `{"error":"login required"}`},
		{"anonymous post", "POST", "/api/v1/alerts", nil, "", 401, `{"error":"login required"}`},
		{"forged cookie", "GET", "/api/v1/alerts", &Session{Token: Secret(strings.Repeat("A", 43))}, "", 401, `{"error":"login required"}`},
		{"guard reads alerts", "GET", "/api/v1/alerts", guard, "", 200, "hello ivanov"},
		{"guard head", "HEAD", "/api/v1/alerts", guard, "", 200, "hello ivanov"},
		{"guard reads rules", "GET", "/api/v1/rules", guard, "", 403, `{"error":"role guard may not GET /api/v1/rules"}`},
		{"guard writes rules", "PUT", "/api/v1/rules", guard, guard.CSRF, 403, `{"error":"role guard may not PUT /api/v1/rules"}`},
		{"supervisor writes rules", "PUT", "/api/v1/rules", sup, sup.CSRF, 200, "hello smirnova"},
		{"post without csrf", "POST", "/api/v1/alerts", guard, "", 403, `{"error":"csrf token missing or wrong"}`},
		{"post with another session's csrf", "POST", "/api/v1/alerts", guard, sup.CSRF, 403, `{"error":"csrf token missing or wrong"}`},
		{"post with a prefix of the csrf", "POST", "/api/v1/alerts", guard, guard.CSRF[:20], 403, `{"error":"csrf token missing or wrong"}`},
		{"delete without csrf", "DELETE", "/api/v1/rules", sup, "", 403, `{"error":"csrf token missing or wrong"}`},
		{"patch without csrf", "PATCH", "/api/v1/me", sup, "", 403, `{"error":"csrf token missing or wrong"}`},
		{"post with csrf", "POST", "/api/v1/alerts", guard, guard.CSRF, 200, "hello ivanov"},
		{"any role", "GET", "/api/v1/me", sup, "", 200, "hello smirnova"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := request(c.method, c.path, c.s)
			if c.csrf != "" {
				r.Header.Set(CSRFHeader, c.csrf)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			body := strings.TrimSpace(w.Body.String())
			if w.Code != c.code || body != c.body {
				t.Fatalf("%s %s: %d %s; want %d %s", c.method, c.path, w.Code, body, c.code, c.body)
			}
			if c.code != 200 {
				if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				var e struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("error body %q: %v", body, err)
				}
			} else if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
		})
	}
}

func TestPageMiddleware(t *testing.T) {
	users := newMemUsers(map[string]string{"ivanov": "guard", "orlova": "auditor"})
	m := newManager(t, users, Config{})
	guard, auditor := login(t, m, "ivanov"), login(t, m, "orlova")
	h := m.Page("guard", "supervisor")(echo)
	for _, c := range []struct {
		name, method, target string
		s                    *Session
		code                 int
		location, body       string
	}{
		{"anonymous", "GET", "/desk?camera=cam-1", nil, 303, "/login?next=%2Fdesk%3Fcamera%3Dcam-1", ""},
		{"guard", "GET", "/desk", guard, 200, "", "hello ivanov"},
		{"auditor", "GET", "/desk", auditor, 403, "", "Forbidden: role auditor may not GET /desk"},
		{"post without csrf", "POST", "/desk", guard, 403, "", "Forbidden: csrf token missing or wrong"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, request(c.method, c.target, c.s))
			if w.Code != c.code || w.Header().Get("Location") != c.location {
				t.Fatalf("%d to %q, want %d to %q", w.Code, w.Header().Get("Location"), c.code, c.location)
			}
			if c.body != "" && strings.TrimSpace(w.Body.String()) != c.body {
				t.Fatalf("body %q, want %q", w.Body.String(), c.body)
			}
		})
	}
}

func TestCookies(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprint("secure=", secure), func(t *testing.T) {
			m := newManager(t, newMemUsers(map[string]string{"ivanov": "guard"}), Config{Secure: secure})
			s := login(t, m, "ivanov")
			w := httptest.NewRecorder()
			m.SetCookie(w, s)
			set := w.Header().Values("Set-Cookie")
			want := testCookie + "=" + s.Token.Value() + "; Path=/; HttpOnly; SameSite=Strict"
			if secure {
				want = testCookie + "=" + s.Token.Value() + "; Path=/; HttpOnly; Secure; SameSite=Strict"
			}
			if len(set) != 1 || set[0] != want {
				t.Fatalf("Set-Cookie %q, want %q", set, want)
			}
			// The cookie the browser sends back authenticates.
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", strings.SplitN(set[0], ";", 2)[0])
			if _, err := m.Authenticate(r); err != nil {
				t.Fatal(err)
			}
			w = httptest.NewRecorder()
			m.ClearCookie(w)
			clear := w.Header().Get("Set-Cookie")
			for _, attr := range []string{testCookie + "=;", "Max-Age=0", "HttpOnly", "SameSite=Strict", "Path=/"} {
				if !strings.Contains(clear, attr) {
					t.Errorf("clearing cookie %q lacks %q", clear, attr)
				}
			}
		})
	}
}

func TestCheckOrigin(t *testing.T) {
	m := newManager(t, newMemUsers(nil), Config{})
	for _, c := range []struct {
		name    string
		headers map[string]string
		ok      bool
	}{
		{"no browser headers", nil, true},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://box.local:8080"}, true},
		{"typed by the user", map[string]string{"Sec-Fetch-Site": "none"}, true},
		{"cross site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, false},
		{"same site, other origin", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"origin only, matching", map[string]string{"Origin": "http://box.local:8080"}, true},
		{"origin only, other host", map[string]string{"Origin": "http://evil.example"}, false},
		{"origin only, other port", map[string]string{"Origin": "http://box.local:9090"}, false},
		{"null origin", map[string]string{"Origin": "null"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://box.local:8080/api/v1/login", nil)
			for k, v := range c.headers {
				r.Header.Set(k, v)
			}
			if err := m.CheckOrigin(r); (err == nil) != c.ok {
				t.Fatalf("CheckOrigin = %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/desk?camera=cam-1":   "/desk?camera=cam-1",
		"/":                    "/",
		"":                     "/",
		"//evil.example/x":     "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"javascript:alert(1)":  "/",
		"desk":                 "/",
	} {
		if got := SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// A store that cannot answer gives 500 without its internals, not 401.
func TestMiddlewareStoreDown(t *testing.T) {
	users := newMemUsers(map[string]string{"ivanov": "guard"})
	m := newManager(t, users, Config{})
	s := login(t, m, "ivanov")
	users.mu.Lock()
	users.down = errors.New("disk I/O error at /var/lib/dozor/facility.db")
	users.mu.Unlock()
	w := httptest.NewRecorder()
	m.API(anyRole...)(echo).ServeHTTP(w, request("GET", "/api/v1/me", s))
	if body := strings.TrimSpace(w.Body.String()); w.Code != 500 || body != `{"error":"internal error"}` {
		t.Fatalf("%d %s", w.Code, body)
	}
	// The session survives the outage.
	users.mu.Lock()
	users.down = nil
	users.mu.Unlock()
	if _, err := m.Authenticate(request("GET", "/", s)); err != nil {
		t.Fatal(err)
	}
}

// Logins, requests and ends of sessions from many goroutines at once
// (run with -race).
func TestConcurrentUse(t *testing.T) {
	users := newMemUsers(map[string]string{"ivanov": "guard", "petrov": "guard"})
	m := newManager(t, users, Config{MaxSessionsPerUser: 3})
	ss := []*Session{login(t, m, "ivanov"), login(t, m, "petrov")}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				m.Authenticate(request("GET", "/", ss[i%2]))
			}
		})
	}
	wg.Go(func() {
		for range 3 {
			m.Login(context.Background(), "ivanov", testPassword, "192.0.2.3:1")
			m.EndSessions("petrov")
		}
	})
	wg.Wait()
	if _, err := m.Authenticate(request("GET", "/", ss[1])); !errors.Is(err, ErrNoSession) {
		t.Fatalf("petrov's session after EndSessions: %v", err)
	}
}
