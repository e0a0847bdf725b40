package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/dozor-edge/dozor/internal/webauth"
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
	pages     = []string{"login", "overview", "timeline", "quarantine", "users"}
	pagePaths = map[string]string{"login": "/login", "overview": "/overview", "timeline": "/timeline",
		"quarantine": "/quarantine", "users": "/users"}
)

// navPages are the top-bar links of each role, in order; the first is
// where the role lands after logging in.
var navPages = map[string][]string{
	RoleOperator:   {"overview", "timeline"},
	RoleSupervisor: {"overview", "timeline", "quarantine"},
	RoleAuditor:    {"overview", "quarantine"},
	RoleAdmin:      {"users"},
}

// catalogues maps a language to its texts by key; a test checks both
// have the same keys.
var catalogues = func() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, l := range langs {
		b, err := pageFS.ReadFile("web/i18n/" + l + ".json")
		if err != nil {
			panic(fmt.Sprintf("dashboard: catalogue %s: %v", l, err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("dashboard: catalogue %s: %v", l, err))
		}
		out[l] = m
	}
	return out
}()

func normLang(l string) string {
	if _, ok := catalogues[l]; ok {
		return l
	}
	return langs[0]
}

func tr(lang, key string) string {
	if s, ok := catalogues[normLang(lang)][key]; ok {
		return s
	}
	return key
}

// requestLang is the login page's language: the dozor_lang cookie its
// switch sets, else the first of langs named in Accept-Language, else the
// default.
func requestLang(r *http.Request) string {
	if c, err := r.Cookie("dozor_lang"); err == nil {
		if _, ok := catalogues[c.Value]; ok {
			return c.Value
		}
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if _, ok := catalogues[base]; ok {
			return base
		}
	}
	return langs[0]
}

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
	v := pageView{Page: page, Region: s.d.Region, Lang: requestLang(r)}
	if ss := webauth.FromContext(r.Context()); ss != nil {
		v.User, v.CSRF, v.Lang = ss.User, ss.CSRF, normLang(ss.User.Lang)
		for _, p := range navPages[ss.User.Role] {
			v.Nav = append(v.Nav, navLink{Page: p, Path: pagePaths[p], Key: "page." + p})
		}
	}
	lang := v.Lang
	t.Funcs(template.FuncMap{"t": func(key string) string { return tr(lang, key) }})
	v.Title = tr(lang, "page."+page)
	v.Dict = maps.Clone(catalogues[lang])
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

type asset struct {
	data []byte
	etag string
}

var assets = sync.OnceValue(func() map[string]asset {
	out := map[string]asset{}
	sub, _ := fs.Sub(staticFS, "web/static")
	fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[p] = asset{data: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return out
})

// staticHandler serves the embedded stylesheet and scripts; browsers
// revalidate by ETag (the content's hash).
func staticHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		a, ok := assets()[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", a.etag)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, p, time.Time{}, bytes.NewReader(a.data))
	})
}
