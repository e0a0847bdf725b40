package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/dozor-edge/dozor/region/store"
)

// memStore is an in-memory Store: the routes' role checks need no
// database; the browser test runs against the real one.
type memStore struct {
	mu    sync.Mutex
	users map[string]store.User
	memGallery
}

func (m *memStore) Sites(context.Context) ([]store.Site, error) {
	return []store.Site{{ID: "ik5", State: "online", CamerasUp: 1, CamerasTotal: 1}}, nil
}
func (m *memStore) Gaps(context.Context, string) ([]store.Gap, error)       { return nil, nil }
func (m *memStore) Cameras(context.Context, string) ([]store.Camera, error) { return nil, nil }
func (m *memStore) Sightings(context.Context, store.SightingQuery) ([]store.Sighting, string, error) {
	return nil, "", nil
}
func (m *memStore) Alerts(context.Context, store.AlertQuery) ([]store.Alert, error) { return nil, nil }
func (m *memStore) Counts(context.Context, time.Time, time.Time, time.Duration) ([]store.Count, error) {
	return nil, nil
}
func (m *memStore) Crop(context.Context, string) ([]byte, error) { return nil, store.ErrNotFound }
func (m *memStore) QuarantinedMessages(context.Context, string, int) ([]store.QuarantineEntry, error) {
	return nil, nil
}
func (m *memStore) PutUser(_ context.Context, u store.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users[u.Name] = u
	return nil
}
func (m *memStore) User(_ context.Context, name string) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[name]
	if !ok {
		return u, store.ErrNotFound
	}
	return u, nil
}
func (m *memStore) Users(context.Context) ([]store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]store.User, 0, len(m.users))
	for _, u := range m.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b store.User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
func (m *memStore) DeleteUser(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[name]; !ok {
		return store.ErrNotFound
	}
	delete(m.users, name)
	return nil
}

const testPassword = "correct horse battery"

// client logs in as name (or stays anonymous when name is "") and
// returns a client with its cookie and the session's CSRF token.
func client(t *testing.T, base, name string) (*http.Client, string) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if name == "" {
		return c, ""
	}
	resp, err := c.Post(base+"/api/v1/login", "application/json", strings.NewReader(`{"user":"`+name+`","password":"`+testPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s sessionView
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&s) != nil {
		t.Fatalf("login %s: %s", name, resp.Status)
	}
	if !slices.ContainsFunc(resp.Cookies(), func(c *http.Cookie) bool { return c.Name == CookieName }) {
		t.Fatalf("login %s set no %s cookie", name, CookieName)
	}
	return c, s.CSRF
}

// TestRoutesByRole asks every route as every role and as nobody, and
// checks the role table: 2xx/3xx for the roles a route names, 403 for
// the others, 401 (API) or a redirect to the login (pages) without a
// session.
func TestRoutesByRole(t *testing.T) {
	st := &memStore{users: map[string]store.User{}}
	for _, r := range Roles {
		if err := AddUser(context.Background(), st, string(r), string(r), "en", testPassword); err != nil {
			t.Fatal(err)
		}
	}
	// The account the admin routes change and finally delete.
	if err := AddUser(context.Background(), st, "spare", RoleOperator, "en", testPassword); err != nil {
		t.Fatal(err)
	}
	transfer := seedGallery(t, st)
	s, err := New(Deps{Store: st, Enroller: fakeEnroller{&st.memGallery}, Events: NewHub(), Region: "north"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	type who struct {
		c    *http.Client
		csrf string
	}
	clients := map[string]who{}
	for _, r := range append([]string{""}, "operator", "supervisor", "admin", "auditor") {
		c, csrf := client(t, srv.URL, r)
		clients[r] = who{c, csrf}
	}
	for _, rt := range s.routes() {
		if rt.Method == "POST" && (rt.Pattern == "/api/v1/login" || rt.Pattern == "/api/v1/logout") {
			continue // logging in and out is the client helper's and the browser test's
		}
		path := routePath(rt, transfer)
		for name, w := range clients {
			t.Run(rt.Method+" "+path+" as "+name, func(t *testing.T) {
				body := strings.NewReader(routeBodies[rt.Method+" "+rt.Pattern])
				req, _ := http.NewRequest(rt.Method, srv.URL+path, body)
				req.Header.Set("X-CSRF-Token", w.csrf)
				if ct := routeTypes[rt.Method+" "+rt.Pattern]; ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				if rt.Pattern == "/api/v1/events" {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					req = req.WithContext(ctx)
				}
				resp, err := w.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				allowed := rt.Roles == nil || (name != "" && roleIn(rt.Roles, name))
				got := resp.StatusCode
				switch {
				case allowed && rt.Pattern == "/api/v1/crops/{sha256}":
					if got != 404 {
						t.Fatalf("status %d, want 404 (allowed, no such crop)", got)
					}
				case allowed:
					if got >= 400 {
						t.Fatalf("status %d, want success", got)
					}
				case name == "" && rt.Page:
					if got != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
						t.Fatalf("status %d to %q, want a redirect to the login", got, resp.Header.Get("Location"))
					}
				case name == "":
					if got != 401 {
						t.Fatalf("status %d, want 401", got)
					}
				default:
					if got != 403 {
						t.Fatalf("status %d, want 403", got)
					}
				}
				if resp.Header.Get("Content-Security-Policy") == "" {
					t.Fatal("no Content-Security-Policy")
				}
			})
		}
	}
}

// routeBodies are valid bodies for the routes that take one: only the
// allowed role gets past the role check, so each succeeds once.
var routeBodies = map[string]string{
	"PATCH /api/v1/me":                   `{"lang":"ru"}`,
	"POST /api/v1/users":                 `{"name":"newbie","role":"auditor","lang":"en","password":"` + testPassword + `"}`,
	"PUT /api/v1/users/{name}":           `{"role":"supervisor","lang":"ru","disabled":true,"password":"` + testPassword + ` 2"}`,
	"PUT /api/v1/gallery/persons/{id}":   `{"display_name":"Renamed","categories":["adult"],"status":"active"}`,
	"POST /api/v1/gallery/enrol":         enrolBody,
	"POST /api/v1/transfers":             `{"person":"P-3","to":"ik6","reason":"court order 12/7"}`,
	"POST /api/v1/transfers/{id}/cancel": `{"reason":"court order withdrawn"}`,
}

// routeTypes are the content types of the bodies that are not JSON.
var routeTypes = map[string]string{"POST /api/v1/gallery/enrol": enrolType}

// enrolBody is an enrolment of one photo, as the enrolment page sends it.
var enrolBody, enrolType = multipartBody(map[string]string{"id": "P-9", "facility": "ik5", "display_name": "New Arrival"},
	"photos", map[string][]byte{"face.png": pngOf(64, 64)})

// seedGallery puts the persons the routes read and change in the
// gallery, and returns the id of an open transfer: P-1 with a photo,
// P-2 for deleting, P-3 to transfer, P-4 in transit.
func seedGallery(t *testing.T, st *memStore) string {
	t.Helper()
	ctx := context.Background()
	for _, id := range []string{"P-1", "P-2", "P-3", "P-4"} {
		if err := st.PutPerson(ctx, "seed", store.Person{ID: id, DisplayName: "Person " + id, Facility: "ik5", Status: store.PersonActive}); err != nil {
			t.Fatal(err)
		}
	}
	testPhotoSHA = st.addPhoto("P-1", pngOf(8, 8))
	tr, err := st.StartTransfer(ctx, "seed", "P-4", "ik6", "moved")
	if err != nil {
		t.Fatal(err)
	}
	return tr.ID
}

// testPhotoSHA is the sha256 of P-1's photo.
var testPhotoSHA string

// routePath is the path a route is asked at: its wildcards filled with
// objects that exist.
func routePath(rt route, transfer string) string {
	path := strings.ReplaceAll(rt.Pattern, "{$}", "")
	path = strings.ReplaceAll(path, "{sha256}", strings.Repeat("a", 64))
	path = strings.ReplaceAll(path, "{name}", "spare")
	switch {
	case path == "/static/":
		return "/static/css/app.css"
	case strings.HasPrefix(path, "/api/v1/transfers/"):
		return strings.ReplaceAll(path, "{id}", transfer)
	case rt.Pattern == "/api/v1/gallery/persons/{id}/photos/{sha256}":
		return "/api/v1/gallery/persons/P-1/photos/" + testPhotoSHA
	case rt.Method == "DELETE":
		return strings.ReplaceAll(path, "{id}", "P-2")
	}
	return strings.ReplaceAll(path, "{id}", "P-1")
}

// TestStateChangesNeedCSRF sends every state-changing route, as a role
// it allows, without the CSRF token: 403 each time, nothing changed.
func TestStateChangesNeedCSRF(t *testing.T) {
	st := &memStore{users: map[string]store.User{}}
	for _, r := range Roles {
		if err := AddUser(context.Background(), st, r, r, "en", testPassword); err != nil {
			t.Fatal(err)
		}
	}
	transfer := seedGallery(t, st)
	s, err := New(Deps{Store: st, Enroller: fakeEnroller{&st.memGallery}, Events: NewHub(), Region: "north"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	clients := map[string]*http.Client{}
	for _, r := range Roles {
		clients[r], _ = client(t, srv.URL, r)
	}
	for _, rt := range s.routes() {
		if rt.Roles == nil || rt.Method == "GET" || rt.Pattern == "/api/v1/logout" {
			continue
		}
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			req, _ := http.NewRequest(rt.Method, srv.URL+routePath(rt, transfer), strings.NewReader(routeBodies[rt.Method+" "+rt.Pattern]))
			if ct := routeTypes[rt.Method+" "+rt.Pattern]; ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			resp, err := clients[rt.Roles[0]].Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d without a CSRF token, want 403", resp.StatusCode)
			}
		})
	}
	if _, err := st.Person(context.Background(), "P-2"); err != nil {
		t.Fatalf("P-2 was removed without a CSRF token: %v", err)
	}
	if tr, _ := st.Transfer(context.Background(), transfer); !tr.Open() {
		t.Fatal("the transfer was cancelled without a CSRF token")
	}
}

func roleIn(roles []string, r string) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// TestOpenAPI checks the document is valid OpenAPI 3 and describes every
// API route.
func TestOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDoc)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	for _, rt := range s.routes() {
		p, ok := strings.CutPrefix(rt.Pattern, "/api/v1")
		if !ok {
			continue
		}
		item := doc.Paths.Value(p)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s is not in openapi.json", rt.Method, p)
		}
	}
}

// TestCatalogues checks both languages have the same keys.
func TestCatalogues(t *testing.T) {
	for k := range texts.Dict("en") {
		if _, ok := texts.Dict("ru")[k]; !ok {
			t.Errorf("ru lacks %q", k)
		}
	}
	for k := range texts.Dict("ru") {
		if _, ok := texts.Dict("en")[k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
}
