//go:build cgo

package monitor

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/edge/store"
)

// examplePath fills a route's pattern with ids: existing ones for reads,
// unknown ones for writes, so that the table changes nothing it relies
// on.
func examplePath(rt route, alertID string) string {
	p := strings.TrimSuffix(rt.Pattern, "{$}")
	write := rt.Method != http.MethodGet
	id := "cam-1"
	switch {
	case strings.HasPrefix(p, "/api/v1/alerts/"):
		id = alertID
	case strings.HasPrefix(p, "/api/v1/sightings/"):
		id = "00000000-0000-4000-8000-000000000001"
	case strings.HasPrefix(p, "/api/v1/permits/"):
		id = "999999"
	case strings.Contains(p, "/persons/"):
		id = "P-1"
		if write {
			id = "P-NOBODY"
		}
	case strings.Contains(p, "/rules/"), strings.Contains(p, "/zones/"):
		id = "X-NEW"
		if rt.Method == http.MethodPut {
			id = "X-NEW-" + rt.Method
		}
	}
	r := strings.NewReplacer("{id}", id, "{photo}", "no-photo", "{name}", "nobody")
	return r.Replace(p)
}

// TestAccess is the role table: every route, every role and nobody.
func TestAccess(t *testing.T) {
	e := newEnv(t)
	alertID := e.recordAlert(1, "P-1")
	clients := map[store.Role]*client{}
	for _, role := range store.Roles {
		clients[role] = e.login(string(role))
	}
	anon := e.client()
	routes := e.srv.routes()
	for _, rt := range routes {
		path := examplePath(rt, alertID)
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			resp, body := anon.do(rt.Method, path, nil)
			switch {
			case rt.Roles == nil:
				if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
					t.Errorf("anonymous: %d on a public route: %s", resp.StatusCode, body)
				}
				return
			case rt.Page:
				if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
					t.Errorf("anonymous: %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
				}
			default:
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("anonymous: %d, want 401: %s", resp.StatusCode, body)
				}
				errBody(t, body)
			}
			for _, role := range store.Roles {
				c := clients[role]
				if rt.Pattern == "/api/v1/logout" && slices.Contains(rt.Roles, role) {
					c = e.login(string(role)) // a session of its own to end
				}
				allowed := slices.Contains(rt.Roles, role)
				if allowed && !rt.Page && rt.Method != http.MethodGet {
					// A state change without the CSRF token is refused
					// before it reaches the handler.
					resp, body := c.send(request{method: rt.Method, path: path, noCSRF: true})
					if resp.StatusCode != http.StatusForbidden || !strings.Contains(errBody(t, body).Error, "csrf") {
						t.Errorf("%s without CSRF: %d %s, want 403 naming the csrf token", role, resp.StatusCode, body)
					}
				}
				resp, body := c.do(rt.Method, path, nil)
				switch {
				case allowed && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden):
					t.Errorf("%s: %d, want access: %s", role, resp.StatusCode, body)
				case !allowed && resp.StatusCode != http.StatusForbidden:
					t.Errorf("%s: %d, want 403: %s", role, resp.StatusCode, body)
				}
			}
		})
	}
	// Every page and API pattern of the design is mounted.
	var patterns []string
	for _, rt := range routes {
		patterns = append(patterns, rt.Method+" "+rt.Pattern)
	}
	for _, want := range []string{"GET /{$}", "GET /login", "GET /live", "GET /cameras/{id}", "GET /alerts", "GET /sightings",
		"GET /persons", "GET /persons/{id}", "GET /enrol", "GET /rules", "GET /audit", "GET /users", "GET /static/"} {
		if !slices.Contains(patterns, want) {
			t.Errorf("page %s is not mounted", want)
		}
	}
}

// TestHomeByRole: / sends each role to its page.
func TestHomeByRole(t *testing.T) {
	e := newEnv(t)
	for role, want := range map[store.Role]string{store.RoleGuard: "/live", store.RoleSupervisor: "/live",
		store.RoleInstaller: "/live", store.RoleAuditor: "/audit", store.RoleAdmin: "/users"} {
		resp, _ := e.login(string(role)).do("GET", "/", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d to %q, want %s", role, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}
