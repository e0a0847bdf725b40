package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/region/enrol"
	"github.com/dozor-edge/dozor/region/store"
)

// Store is what the dashboard reads of the region's store.
type Store interface {
	Sites(ctx context.Context) ([]store.Site, error)
	Gaps(ctx context.Context, site string) ([]store.Gap, error)
	Cameras(ctx context.Context, site string) ([]store.Camera, error)
	Sightings(ctx context.Context, q store.SightingQuery) ([]store.Sighting, string, error)
	Alerts(ctx context.Context, q store.AlertQuery) ([]store.Alert, error)
	Counts(ctx context.Context, from, to time.Time, bucket time.Duration) ([]store.Count, error)
	Crop(ctx context.Context, sha256 string) ([]byte, error)
	QuarantinedMessages(ctx context.Context, site string, limit int) ([]store.QuarantineEntry, error)
	store.Users
	Gallery
}

// Gallery is what the dashboard reads and changes of the master gallery;
// store.Store implements it. Reads of photos and templates are audited by
// the store under the account's name.
type Gallery interface {
	Persons(ctx context.Context, q store.PersonQuery) ([]store.Person, string, error)
	Person(ctx context.Context, id string) (store.Person, error)
	PutPerson(ctx context.Context, actor string, p store.Person) error
	RemovePerson(ctx context.Context, actor, id string) error
	Photo(ctx context.Context, actor, person, sha string) ([]byte, error)
	PersonBiometrics(ctx context.Context, actor, person string) ([]store.Photo, []store.Template, error)
	GallerySites(ctx context.Context) ([]store.GallerySite, error)
	StartTransfer(ctx context.Context, actor, person, to, reason string) (store.Transfer, error)
	CancelTransfer(ctx context.Context, actor, id, reason string) (store.Transfer, error)
	Transfers(ctx context.Context, q store.TransferQuery) ([]store.Transfer, error)
	Transfer(ctx context.Context, id string) (store.Transfer, error)
	AuditLog(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error)
	VerifyAudit(ctx context.Context) (uint64, error)
}

// Enroller enrols uploaded photos into the master gallery with a verdict
// per photo; *enrol.Enroller implements it.
type Enroller interface {
	Enrol(ctx context.Context, actor string, p enrol.Profile, photos []enrol.Photo) ([]enrol.Result, error)
}

// Deps is what regiond hands the dashboard.
type Deps struct {
	Store Store
	// Enroller enrols photos uploaded on the enrolment page; nil when
	// regiond runs without a face engine, and the page says so.
	Enroller Enroller
	// Events carries what the ingesters stored to the browsers.
	Events *Hub
	// Region is the region's ID, shown in the top bar.
	Region string
	// Secure marks the session cookie Secure (the dashboard is behind
	// HTTPS).
	Secure bool
	Logger *slog.Logger
	Now    func() time.Time
}

// Server is the dashboard: pages, the JSON API and the event stream.
type Server struct {
	d   Deps
	st  Store
	acc *webauth.Manager
	log *slog.Logger
	now func() time.Time
	mux *http.ServeMux
	// accounts serialises account changes, so that two cannot both
	// remove the last enabled admin.
	accounts sync.Mutex
}

// New checks d and builds the server.
func New(d Deps) (*Server, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("dashboard: Deps.Store is nil")
	case d.Events == nil:
		return nil, errors.New("dashboard: Deps.Events is nil")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{d: d, st: d.Store, log: d.Logger, now: d.Now}
	acc, err := webauth.NewManager(accounts{st: d.Store, log: d.Logger.With("component", "audit")},
		webauth.Config{CookieName: CookieName, Secure: d.Secure, Now: d.Now, Logger: d.Logger})
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	s.acc = acc
	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.guard(rt))
	}
	return s, nil
}

// Handler serves the pages, /static/ and /api/v1, every response with
// the security headers.
func (s *Server) Handler() http.Handler { return secure(s.mux) }

// Role groups.
var (
	anyRole    = Roles
	watchRoles = []string{RoleOperator, RoleSupervisor}
	siteRoles  = []string{RoleOperator, RoleSupervisor, RoleAuditor}
	auditRoles = []string{RoleSupervisor, RoleAuditor}
	adminRoles = []string{RoleAdmin}
	// galleryRoles see and change the master gallery and its transfers:
	// photos and templates are for supervisors only.
	galleryRoles = []string{RoleSupervisor}
)

// route is one endpoint: who may use it and what serves it. Roles nil
// means anonymous.
type route struct {
	Method, Pattern string
	Roles           []string
	Page            bool
	Handler         http.HandlerFunc
}

func (s *Server) routes() []route {
	api := func(method, pattern string, roles []string, h http.HandlerFunc) route {
		return route{Method: method, Pattern: "/api/v1" + pattern, Roles: roles, Handler: h}
	}
	page := func(name string, roles []string) route {
		return route{Method: http.MethodGet, Pattern: pagePaths[name], Roles: roles, Page: true, Handler: s.page(name)}
	}
	return []route{
		{Method: http.MethodGet, Pattern: "/{$}", Roles: anyRole, Page: true, Handler: s.home},
		{Method: http.MethodGet, Pattern: "/login", Handler: s.loginPage},
		{Method: http.MethodGet, Pattern: "/static/", Handler: http.StripPrefix("/static/", staticHandler()).ServeHTTP},
		page("overview", siteRoles),
		page("timeline", watchRoles),
		page("quarantine", auditRoles),
		page("users", adminRoles),
		page("gallery", galleryRoles),
		page("person", galleryRoles),
		page("enrol", galleryRoles),
		page("transfers", galleryRoles),
		page("revisions", auditRoles),
		page("audit", auditRoles),

		api("POST", "/login", nil, s.login),
		api("POST", "/logout", anyRole, s.logout),
		api("GET", "/me", anyRole, s.me),
		api("PATCH", "/me", anyRole, s.patchMe),
		api("GET", "/openapi.json", nil, s.openAPI),

		api("GET", "/sites", siteRoles, s.sites),
		api("GET", "/counts", siteRoles, s.counts),
		api("GET", "/events", watchRoles, s.events),
		api("GET", "/alerts", watchRoles, s.alerts),
		api("GET", "/alerts/latency", watchRoles, s.latency),
		api("GET", "/sightings", watchRoles, s.sightings),
		api("GET", "/crops/{sha256}", watchRoles, s.crop),
		api("GET", "/quarantine", auditRoles, s.quarantine),
		api("GET", "/users", adminRoles, s.users),
		api("POST", "/users", adminRoles, s.createUser),
		api("PUT", "/users/{name}", adminRoles, s.updateUser),
		api("DELETE", "/users/{name}", adminRoles, s.deleteUser),

		api("GET", "/gallery/persons", galleryRoles, s.persons),
		api("GET", "/gallery/persons/{id}", galleryRoles, s.person),
		api("PUT", "/gallery/persons/{id}", galleryRoles, s.putPerson),
		api("DELETE", "/gallery/persons/{id}", galleryRoles, s.removePerson),
		api("GET", "/gallery/persons/{id}/photos/{sha256}", galleryRoles, s.photo),
		api("POST", "/gallery/enrol", galleryRoles, s.enrol),
		api("GET", "/gallery/sites", auditRoles, s.gallerySites),
		api("GET", "/transfers", galleryRoles, s.transfers),
		api("POST", "/transfers", galleryRoles, s.startTransfer),
		api("GET", "/transfers/{id}", galleryRoles, s.transfer),
		api("POST", "/transfers/{id}/cancel", galleryRoles, s.cancelTransfer),
		api("GET", "/audit", auditRoles, s.auditLog),
		api("GET", "/audit/verify", auditRoles, s.verifyAudit),
	}
}

// guard puts the role check in front of a route.
func (s *Server) guard(rt route) http.Handler {
	h := http.Handler(rt.Handler)
	switch {
	case rt.Roles == nil:
		return h
	case rt.Page:
		return s.acc.Page(rt.Roles...)(h)
	default:
		return s.acc.API(rt.Roles...)(h)
	}
}

// contentSecurityPolicy lets the pages run only their own ES modules and
// styles: the inline scripts are JSON data blocks, which the browser does
// not execute. Nothing may frame the dashboard or post a form elsewhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
