//go:build cgo

package monitor

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSecurityHeaders: pages, assets, API answers and refusals all carry
// the security headers; HSTS only over TLS.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	g := e.login("guard")
	anon := e.client()
	check := func(name string, resp *http.Response, tls bool) {
		t.Helper()
		h := resp.Header
		for k, want := range map[string]string{
			"Content-Security-Policy": contentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s %q, want %q", name, k, got, want)
			}
		}
		if got := h.Get("Strict-Transport-Security"); (got != "") != tls {
			t.Errorf("%s: Strict-Transport-Security %q over TLS=%v", name, got, tls)
		}
	}
	for _, c := range []struct {
		name   string
		client *client
		path   string
	}{
		{"page", g, "/live"},
		{"login page", anon, "/login"},
		{"redirect", anon, "/alerts"},
		{"asset", anon, "/static/js/common.js"},
		{"api", g, "/api/v1/cameras"},
		{"api refusal", anon, "/api/v1/cameras"},
		{"api error", g, "/api/v1/cameras/nope"},
		{"image", g, "/api/v1/cameras/cam-1/snapshot"},
		{"not found", anon, "/nothing-here"},
	} {
		resp, _ := c.client.do("GET", c.path, nil)
		check(c.name, resp, false)
	}
	for _, directive := range []string{"script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "media-src 'self' blob:"} {
		if !strings.Contains(contentSecurityPolicy, directive) {
			t.Errorf("the policy lacks %s", directive)
		}
	}

	// Over TLS the browser is also told to stay on HTTPS.
	d := e.srv.d
	d.TLS = true
	tlsSrv, err := New(d)
	must(t, err)
	rec := httptest.NewRecorder()
	tlsSrv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	check("tls", rec.Result(), true)
}

// TestEnrolSimilar: a photo refused as too like another person names that
// person and the score.
func TestEnrolSimilar(t *testing.T) {
	e := newEnv(t)
	sup := e.login("supervisor")
	resp, body := sup.upload("/api/v1/persons/P-1/photos", "photo", map[string][]byte{"lookalike.png": testPNG(t, 40, 30)}, nil)
	expect(t, resp, body, http.StatusOK)
	if !strings.Contains(string(body), `"status":"similar"`) || !strings.Contains(string(body), `"similar_to":"P-2"`) ||
		!strings.Contains(string(body), `"score":0.81`) {
		t.Errorf("results %s lack the similar person and score", body)
	}
}
