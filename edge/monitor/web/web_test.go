package web

import (
	"bytes"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webui"
)

var navLinkRE = regexp.MustCompile(`<a href="[^"]*" data-page="([a-z]+)"`)

// TestRenderEveryPage renders each page in each language for each role
// and checks the top bar links exactly the role's pages.
func TestRenderEveryPage(t *testing.T) {
	want := map[store.Role][]string{
		store.RoleGuard:      {"live", "alerts", "sightings", "persons"},
		store.RoleSupervisor: {"live", "alerts", "sightings", "persons", "enrol", "rules"},
		store.RoleInstaller:  {"live"},
		store.RoleAuditor:    {"audit"},
		store.RoleAdmin:      {"users", "audit"},
	}
	if got := slices.Sorted(maps.Keys(want)); !slices.Equal(got, slices.Sorted(slices.Values(store.Roles))) {
		t.Fatalf("test covers roles %v, store has %v", got, store.Roles)
	}
	for _, lang := range Langs {
		for _, role := range store.Roles {
			for _, p := range Pages() {
				var b bytes.Buffer
				d := PageData{User: store.User{Name: "ivanov", Role: role}, CSRF: "tok<en>", Site: "SIZO-1", Lang: lang,
					Extra: map[string]string{"camera": "cam-1"}}
				if err := Render(&b, p, d); err != nil {
					t.Fatalf("%s/%s/%s: %v", lang, role, p, err)
				}
				html := b.String()
				var links []string
				for _, m := range navLinkRE.FindAllStringSubmatch(html, -1) {
					links = append(links, m[1])
				}
				if !slices.Equal(links, want[role]) {
					t.Errorf("%s/%s/%s: nav %v, want %v", lang, role, p, links, want[role])
				}
				for _, s := range []string{`<html lang="` + lang + `">`, `<meta name="csrf-token" content="tok&lt;en&gt;">`,
					`src="/static/js/` + p + `.js"`, `id="i18n"`, T(lang, "role."+string(role))} {
					if !strings.Contains(html, s) {
						t.Errorf("%s/%s/%s: page lacks %q", lang, role, p, s)
					}
				}
				// No inline script other than the JSON data blocks, no
				// inline handlers: a strict CSP must hold.
				if n := strings.Count(html, "<script"); n != 3 || strings.Count(html, `type="application/json"`) != 2 {
					t.Errorf("%s/%s/%s: %d script elements", lang, role, p, n)
				}
				if regexp.MustCompile(`\son[a-z]+=`).MatchString(html) {
					t.Errorf("%s/%s/%s: inline event handler", lang, role, p)
				}
			}
		}
	}
	if err := Render(&bytes.Buffer{}, "nosuch", PageData{}); err == nil {
		t.Error("unknown page rendered without an error")
	}
}

func TestRenderLanguage(t *testing.T) {
	for lang, want := range map[string]string{"ru": "Тревоги", "en": "Alerts", "": "Тревоги", "de": "Тревоги"} {
		var b bytes.Buffer
		if err := Render(&b, "alerts", PageData{User: store.User{Name: "g", Role: store.RoleGuard}, Lang: lang}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), ">"+want+"<") {
			t.Errorf("lang %q: page lacks %q", lang, want)
		}
	}
}

func TestRequestLang(t *testing.T) {
	cases := []struct {
		name, cookie, accept, want string
	}{
		{"default", "", "", "ru"},
		{"cookie", "en", "ru", "en"},
		{"bad cookie", "xx", "en-GB,en;q=0.9", "en"},
		{"accept", "", "de-DE, en;q=0.5", "en"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/login", nil)
			if c.cookie != "" {
				r.AddCookie(&http.Cookie{Name: LangCookie, Value: c.cookie})
			}
			r.Header.Set("Accept-Language", c.accept)
			if got := RequestLang(r); got != c.want {
				t.Errorf("RequestLang = %q, want %q", got, c.want)
			}
		})
	}
}

var (
	jsKeyRE   = regexp.MustCompile(`\bt\('([^']+)'`)
	tmplKeyRE = regexp.MustCompile(`\bt "([^"]+)"`)
)

// TestCatalogues checks both languages have the same keys, none empty,
// and every key the templates and scripts use, including those built
// from page and role names.
func TestCatalogues(t *testing.T) {
	ru, en := texts.Dict("ru"), texts.Dict("en")
	for k, v := range ru {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is in ru, not in en", k)
		}
		if strings.TrimSpace(v) == "" {
			t.Errorf("ru %q is empty", k)
		}
	}
	for k, v := range en {
		if _, ok := ru[k]; !ok {
			t.Errorf("key %q is in en, not in ru", k)
		}
		if strings.TrimSpace(v) == "" {
			t.Errorf("en %q is empty", k)
		}
	}
	used := map[string]string{}
	for _, p := range pages {
		used["page."+p] = "page names"
	}
	for _, r := range store.Roles {
		used["role."+string(r)] = "role names"
	}
	scan := func(fsys fs.FS, dir string, re *regexp.Regexp) {
		err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = p
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	scan(templateFS, "templates", tmplKeyRE)
	scan(staticFS, "static/js", jsKeyRE)
	scan(webui.Assets, "js", jsKeyRE)
	if len(used) < 100 {
		t.Fatalf("found only %d keys in use: the scan is broken", len(used))
	}
	for k, where := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("%s uses key %q, missing from the catalogues", where, k)
		}
	}
}

// TestScriptsParse runs node --check on every script.
func TestScriptsParse(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (apt-get install nodejs): %v", err)
	}
	dir := t.TempDir()
	n := 0
	err = fs.WalkDir(staticFS, "static/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(staticFS, p)
		// .mjs: node parses it as an ES module.
		f := dir + "/" + strings.TrimSuffix(path.Base(p), ".js") + ".mjs"
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return err
		}
		if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", p, err, out)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("checked %d scripts", n)
	}
}

func TestStatic(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("/static/", Static()))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/static/js/common.js")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || etag == "" || res.Header.Get("Cache-Control") != "no-cache" ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("status %d, headers %v", res.StatusCode, res.Header)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/static/js/common.js", nil)
	req.Header.Set("If-None-Match", etag)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: status %d, want 304", res.StatusCode)
	}
	for _, p := range []string{"/static/css/base.css", "/static/img/icon.svg"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d", p, res.StatusCode)
		}
	}
	for _, p := range []string{"/static/nosuch.js", "/static/../web.go", "/static/js/"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", p, res.StatusCode)
		}
	}
}

func TestNav(t *testing.T) {
	if got := HomePath(store.RoleAdmin); got != "/users" {
		t.Errorf("HomePath(admin) = %q", got)
	}
	if got := HomePath("nobody"); got != "/login" {
		t.Errorf("HomePath(nobody) = %q", got)
	}
	for _, p := range Pages() {
		if PagePath(p) == "" {
			t.Errorf("page %s has no path", p)
		}
	}
}
