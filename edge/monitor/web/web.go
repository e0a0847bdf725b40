package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"sync"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webui"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Static serves the monitor's scripts and images and the shared
// stylesheet and scripts, below the prefix the server strips
// (http.StripPrefix("/static/", Static())).
func Static() http.Handler {
	app, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	return webui.Static(app, webui.Assets)
}

// PageData is what the server knows when it renders a page.
type PageData struct {
	Page, Title string
	User        store.User // zero on the login page
	CSRF        string     // the session's token, sent back by the scripts on every state change
	Site        string     // the site's name for the top bar
	Lang        string     // "ru" or "en"; anything else is Russian
	TLS         bool
	// Extra carries page parameters to the scripts: "camera" (camera
	// page), "person" (person page), "next" (login page).
	Extra map[string]string
}

// pages lists the pages in the order Pages returns them.
var pages = []string{"login", "live", "camera", "alerts", "sightings", "persons", "person", "enrol", "rules", "audit", "users"}

// paths are the URL paths the server mounts the pages on, in
// net/http.ServeMux pattern syntax; the scripts link to these.
var paths = map[string]string{
	"login": "/login", "live": "/live", "camera": "/cameras/{id}", "alerts": "/alerts",
	"sightings": "/sightings", "persons": "/persons", "person": "/persons/{id}", "enrol": "/enrol",
	"rules": "/rules", "audit": "/audit", "users": "/users",
}

// Pages returns the names of the pages Render knows.
func Pages() []string { return slices.Clone(pages) }

// PagePath returns the URL pattern (ServeMux syntax) a page is served at,
// and "" for an unknown page. The pages' scripts and links use these paths.
func PagePath(page string) string { return paths[page] }

// navLink is one link of the top bar.
type navLink struct {
	Page, Path, Key string
}

// navPages are the top-bar links each role may follow, in display order.
var navPages = map[store.Role][]string{
	store.RoleGuard:      {"live", "alerts", "sightings", "persons"},
	store.RoleSupervisor: {"live", "alerts", "sightings", "persons", "enrol", "rules"},
	store.RoleInstaller:  {"live"},
	store.RoleAuditor:    {"audit"},
	store.RoleAdmin:      {"users", "audit"},
}

// Nav returns the pages linked from the top bar for role, in order; none
// for an unknown role.
func Nav(role store.Role) []string { return slices.Clone(navPages[role]) }

// HomePath returns where a role lands after logging in: its first page.
func HomePath(role store.Role) string {
	if n := navPages[role]; len(n) > 0 {
		return paths[n[0]]
	}
	return paths["login"]
}

// view is what the templates execute on.
type view struct {
	PageData
	Nav    []navLink
	Dict   map[string]string // the language's catalogue, for the scripts
	Params map[string]any    // the page's parameters, for the scripts
}

// parsed holds one template set per page, parsed once and never executed:
// Render executes clones, so that each can bind t to its own language.
var parsed = sync.OnceValues(func() (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(pages))
	for _, p := range pages {
		t := template.New("layout.html").Funcs(template.FuncMap{"t": func(string) string { return "" }})
		t, err := t.ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse page %s: %w", p, err)
		}
		out[p] = t
	}
	return out, nil
})

// Render writes the HTML of page. An unknown page, or a template that
// fails, is an error and nothing is written.
func Render(w io.Writer, page string, d PageData) error {
	all, err := parsed()
	if err != nil {
		return err
	}
	master, ok := all[page]
	if !ok {
		return fmt.Errorf("web: unknown page %q", page)
	}
	t, err := master.Clone()
	if err != nil {
		return fmt.Errorf("web: page %s: %w", page, err)
	}
	d.Page = page
	d.Lang = NormLang(d.Lang)
	lang := d.Lang
	t.Funcs(texts.Funcs(lang))
	if d.Title == "" {
		d.Title = T(lang, "page."+page)
	}
	v := view{PageData: d, Dict: texts.Dict(lang)}
	for _, p := range navPages[d.User.Role] {
		v.Nav = append(v.Nav, navLink{Page: p, Path: paths[p], Key: "page." + p})
	}
	v.Params = map[string]any{
		"page": page, "lang": lang, "site": d.Site, "tls": d.TLS,
		"user": d.User.Name, "role": string(d.User.Role), "extra": d.Extra,
		"paths": paths,
	}
	// Render into a buffer so that a failing template writes nothing.
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return fmt.Errorf("web: page %s: %w", page, err)
	}
	_, err = w.Write(b.Bytes())
	return err
}
