package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sync"

	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/internal/webui"
)

//go:embed web/templates/*.html web/i18n/*.json
var pageFS embed.FS

//go:embed web/static
var staticFS embed.FS

// langs are the interface languages, the default first: the
// facilities' staff read Russian.
var langs = []string{"ru", "en"}

// pages and the paths they are served at.
var (
	pages = []string{"login", "overview", "timeline", "quarantine", "users",
		"gallery", "person", "enrol", "transfers", "revisions", "audit"}
	pagePaths = map[string]string{"login": "/login", "overview": "/overview", "timeline": "/timeline",
		"quarantine": "/quarantine", "users": "/users", "gallery": "/gallery", "person": "/gallery/person",
		"enrol": "/enrol", "transfers": "/transfers", "revisions": "/revisions", "audit": "/audit"}
)

// navPages are the top-bar links of each role, in order; the first is
// where the role lands after logging in.
var navPages = map[string][]string{
	RoleOperator:   {"overview", "timeline"},
	RoleSupervisor: {"overview", "timeline", "gallery", "enrol", "transfers", "revisions", "audit", "quarantine"},
	RoleAuditor:    {"overview", "quarantine", "revisions", "audit"},
	RoleAdmin:      {"users"},
}

// texts are the dashboard's catalogues; a test checks both languages
// have the same keys.
var texts = webui.MustCatalogue(pageFS, "web/i18n", langs...)

// templates holds one parsed set per page; render executes clones bound
// to the request's language.
var templates = sync.OnceValues(func() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, p := range pages {
		t := template.New("layout.html").Funcs(template.FuncMap{"t": func(string) string { return "" }})
		t, err := t.ParseFS(pageFS, "web/templates/layout.html", "web/templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse page %s: %w", p, err)
		}
		out[p] = t
	}
	return out, nil
})

type navLink struct{ Page, Path, Key string }

// pageView is what the templates execute on.
type pageView struct {
	Page, Title, Lang, CSRF, Region string
	User                            webauth.User
	Nav                             []navLink
	Dict                            map[string]string
	Params                          map[string]any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, page string) {
	all, err := templates()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := all[page].Clone()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := pageView{Page: page, Region: s.d.Region, Lang: texts.RequestLang(r)}
	if ss := webauth.FromContext(r.Context()); ss != nil {
		v.User, v.CSRF, v.Lang = ss.User, ss.CSRF, texts.Norm(ss.User.Lang)
		for _, p := range navPages[ss.User.Role] {
			v.Nav = append(v.Nav, navLink{Page: p, Path: pagePaths[p], Key: "page." + p})
		}
	}
	lang := v.Lang
	t.Funcs(texts.Funcs(lang))
	v.Title = texts.T(lang, "page."+page)
	v.Dict = texts.Dict(lang)
	v.Params = map[string]any{"page": page, "lang": lang, "region": s.d.Region, "user": v.User.Name, "role": v.User.Role}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.render(w, r, name) }
}

// home sends an account to its role's first page.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	to := "/login"
	if ss := webauth.FromContext(r.Context()); ss != nil {
		if n := navPages[ss.User.Role]; len(n) > 0 {
			to = pagePaths[n[0]]
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "login")
}

// staticHandler serves the dashboard's stylesheet and scripts ahead of
// the shared ones.
func staticHandler() http.Handler {
	app, err := fs.Sub(staticFS, "web/static")
	if err != nil {
		panic(err)
	}
	return webui.Static(app, webui.Assets)
}
