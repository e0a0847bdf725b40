package monitor

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/live"
	"github.com/dozor-edge/dozor/edge/enroll"
	"github.com/dozor-edge/dozor/edge/monitor/web"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/internal/webui"
	"github.com/dozor-edge/dozor/recognizer"
)

// Deps is what the daemon hands the monitor.
type Deps struct {
	Store Store
	// Accounts checks every request's session and role; NewAccounts
	// builds it over the store.
	Accounts *webauth.Manager
	Site     Site
	// Cameras reports the state of every running camera; names, zones and
	// regions come from Store.Cameras.
	Cameras func() []CameraState
	// Live returns a camera's live fan-out, nil when it has none (the
	// browser then refreshes snapshots).
	Live func(camera string) *live.Hub
	// Snapshot returns the latest decoded frame of a camera as JPEG.
	Snapshot func(camera string) (jpeg []byte, at time.Time, ok bool)
	// Events carries alerts, sightings, camera changes and boxes from the
	// daemon to the browsers.
	Events *Hub
	// Decode is the recognizer's safe image decoder; the result's longest
	// side is at most maxSide.
	Decode func(data []byte, maxSide int) (*recognizer.Image, error)
	// Recognize finds and identifies the faces of an uploaded image.
	Recognize func(ctx context.Context, img *recognizer.Image) ([]FaceResult, error)
	// Enroll enrols photos of a person for actor, one result per photo.
	Enroll func(ctx context.Context, actor string, p enroll.Profile, photos []Upload) ([]enroll.Result, error)
	// Decide stores a decision with its outbox message; its errors wrap
	// the store's (store.ErrAlreadyDecided...).
	Decide func(ctx context.Context, d store.AlertDecision) error
	// Reload tells the daemon that persons, templates, rules, zones or
	// permits changed.
	Reload func()
	// TLS says the monitor is served over HTTPS.
	TLS    bool
	Logger *slog.Logger
	Now    func() time.Time
}

// Site names the facility the box serves.
type Site struct {
	Region, ID, Name string
}

// CameraState is a running camera as the daemon sees it.
type CameraState struct {
	ID     string
	Codec  string // "h264", "h265" or "" before the first session
	Health camera.Health
}

// FaceResult is one face found in an uploaded image.
type FaceResult struct {
	Box     recognizer.Rect
	Quality float32
	Usable  bool
	Reason  string // why the face is not usable
	Matches []Match
}

// Match is one candidate identity of a face, best first.
type Match struct {
	Person string
	Score  float32
}

// Upload is one uploaded file.
type Upload = webui.Upload

// Server is the guard-post monitor: pages, the REST API, the event stream
// and the live video sockets.
type Server struct {
	d   Deps
	st  Store
	acc *webauth.Manager
	log *slog.Logger
	now func() time.Time
	mux *http.ServeMux
	// accounts serialises the account changes that check for the last
	// enabled administrator.
	accounts sync.Mutex
}

// New checks d and builds the server.
func New(d Deps) (*Server, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("monitor: Deps.Store is nil")
	case d.Accounts == nil:
		return nil, errors.New("monitor: Deps.Accounts is nil")
	case d.Cameras == nil:
		return nil, errors.New("monitor: Deps.Cameras is nil")
	case d.Events == nil:
		return nil, errors.New("monitor: Deps.Events is nil")
	case d.Decode == nil, d.Recognize == nil, d.Enroll == nil, d.Decide == nil:
		return nil, errors.New("monitor: Deps.Decode, Recognize, Enroll and Decide are required")
	}
	if d.Live == nil {
		d.Live = func(string) *live.Hub { return nil }
	}
	if d.Snapshot == nil {
		d.Snapshot = func(string) ([]byte, time.Time, bool) { return nil, time.Time{}, false }
	}
	if d.Reload == nil {
		d.Reload = func() {}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{d: d, st: d.Store, acc: d.Accounts, log: d.Logger, now: d.Now}
	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.guard(rt))
	}
	return s, nil
}

// Handler serves the pages, /static/ and /api/v1, every response with
// the security headers.
func (s *Server) Handler() http.Handler { return s.secure(s.mux) }

// Role groups, as the monitor's role table has them.
var (
	anyRole     = store.Roles
	liveRoles   = []store.Role{store.RoleGuard, store.RoleSupervisor, store.RoleInstaller}
	deskRoles   = []store.Role{store.RoleGuard, store.RoleSupervisor}
	supervisor  = []store.Role{store.RoleSupervisor}
	regionRoles = []store.Role{store.RoleSupervisor, store.RoleInstaller}
	auditRoles  = []store.Role{store.RoleAdmin, store.RoleAuditor}
	adminRoles  = []store.Role{store.RoleAdmin}
)

// route is one endpoint: who may use it and what serves it. Roles nil
// means anonymous.
type route struct {
	Method, Pattern string
	Roles           []store.Role
	Page            bool
	Handler         http.HandlerFunc
}

func (s *Server) routes() []route {
	api := func(method, pattern string, roles []store.Role, h http.HandlerFunc) route {
		return route{Method: method, Pattern: "/api/v1" + pattern, Roles: roles, Handler: h}
	}
	page := func(name string, roles []store.Role) route {
		return route{Method: http.MethodGet, Pattern: web.PagePath(name), Roles: roles, Page: true, Handler: s.page(name)}
	}
	return []route{
		{Method: http.MethodGet, Pattern: "/{$}", Roles: anyRole, Page: true, Handler: s.home},
		{Method: http.MethodGet, Pattern: web.PagePath("login"), Handler: s.loginPage},
		{Method: http.MethodGet, Pattern: "/static/", Handler: s.static().ServeHTTP},
		page("live", liveRoles),
		page("camera", liveRoles),
		page("alerts", deskRoles),
		page("sightings", deskRoles),
		page("persons", deskRoles),
		page("person", deskRoles),
		page("enrol", supervisor),
		page("rules", supervisor),
		page("audit", auditRoles),
		page("users", adminRoles),

		api("POST", "/login", nil, s.login),
		api("POST", "/logout", anyRole, s.logout),
		api("GET", "/me", anyRole, s.me),
		api("PATCH", "/me", anyRole, s.patchMe),
		api("GET", "/openapi.json", nil, s.openAPI),

		api("GET", "/cameras", liveRoles, s.cameras),
		api("GET", "/cameras/{id}", liveRoles, s.camera),
		api("GET", "/cameras/{id}/snapshot", liveRoles, s.snapshot),
		api("GET", "/cameras/{id}/live", liveRoles, s.live),
		api("PUT", "/cameras/{id}/region", regionRoles, s.putRegion),
		api("GET", "/cameras/{id}/sightings", liveRoles, s.cameraSightings),

		api("GET", "/events", deskRoles, s.events),

		api("GET", "/alerts", deskRoles, s.alerts),
		api("GET", "/alerts/{id}", deskRoles, s.alert),
		api("POST", "/alerts/{id}/ack", deskRoles, s.ack),
		api("POST", "/alerts/{id}/decision", deskRoles, s.decide),

		api("GET", "/sightings", deskRoles, s.sightings),
		api("GET", "/sightings/{id}", deskRoles, s.sighting),
		api("GET", "/sightings/{id}/crop", deskRoles, s.crop),

		api("GET", "/persons", deskRoles, s.persons),
		api("POST", "/persons", supervisor, s.createPerson),
		api("GET", "/persons/{id}", deskRoles, s.person),
		api("PUT", "/persons/{id}", supervisor, s.updatePerson),
		api("DELETE", "/persons/{id}", supervisor, s.removePerson),
		api("GET", "/persons/{id}/photos/{photo}", deskRoles, s.photo),
		api("POST", "/persons/{id}/photos", supervisor, s.enrol),
		api("POST", "/recognize", supervisor, s.recognize),

		api("GET", "/rules", supervisor, s.rules),
		api("PUT", "/rules/{id}", supervisor, s.putRule),
		api("DELETE", "/rules/{id}", supervisor, s.deleteRule),
		api("GET", "/zones", supervisor, s.zones),
		api("PUT", "/zones/{id}", supervisor, s.putZone),
		api("GET", "/persons/{id}/permits", supervisor, s.permits),
		api("POST", "/persons/{id}/permits", supervisor, s.addPermit),
		api("DELETE", "/permits/{id}", supervisor, s.removePermit),
		api("GET", "/keep-apart", supervisor, s.keepAparts),
		api("PUT", "/keep-apart", supervisor, s.putKeepApart),
		api("DELETE", "/keep-apart", supervisor, s.removeKeepApart),

		api("GET", "/audit", auditRoles, s.audit),
		api("GET", "/audit/verify", auditRoles, s.verifyAudit),

		api("GET", "/users", adminRoles, s.users),
		api("POST", "/users", adminRoles, s.createUser),
		api("PUT", "/users/{name}", adminRoles, s.updateUser),
		api("DELETE", "/users/{name}", adminRoles, s.deleteUser),
	}
}

// guard puts the role check in front of a route.
func (s *Server) guard(rt route) http.Handler {
	h := http.Handler(rt.Handler)
	switch {
	case rt.Roles == nil:
		return h
	case rt.Page:
		return s.acc.Page(roleNames(rt.Roles)...)(h)
	default:
		return s.acc.API(roleNames(rt.Roles)...)(h)
	}
}

// actor is the account name of the request's session.
func actor(r *http.Request) string {
	if ss := webauth.FromContext(r.Context()); ss != nil {
		return ss.User.Name
	}
	return ""
}
