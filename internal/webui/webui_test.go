package webui

import (
	"bufio"
	"context"
	"encoding/json"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

func TestStaticStack(t *testing.T) {
	app := fstest.MapFS{
		"js/common.js": {Data: []byte("// the app's own\n")},
		"css/app.css":  {Data: []byte("body{}\n")},
	}
	srv := httptest.NewServer(http.StripPrefix("/static/", Static(app, Assets)))
	defer srv.Close()
	get := func(p, etag string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	res, body := get("/static/js/common.js", "")
	if res.StatusCode != 200 || body != "// the app's own\n" {
		t.Fatalf("the app's file does not hide the shared one: %d %q", res.StatusCode, body)
	}
	res, body = get("/static/js/login.js", "")
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || !strings.Contains(body, "/api/v1/login") || etag == "" ||
		res.Header.Get("Cache-Control") != "no-cache" || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("shared login.js: status %d, headers %v", res.StatusCode, res.Header)
	}
	if res, _ := get("/static/js/login.js", etag); res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: status %d, want 304", res.StatusCode)
	}
	for _, p := range []string{"/static/css/app.css", "/static/css/base.css"} {
		if res, _ := get(p, ""); res.StatusCode != 200 {
			t.Errorf("%s: status %d", p, res.StatusCode)
		}
	}
	for _, p := range []string{"/static/nosuch.js", "/static/../static.go", "/static/js/"} {
		if res, _ := get(p, ""); res.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", p, res.StatusCode)
		}
	}
	res, err := http.Post(srv.URL+"/static/js/login.js", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", res.StatusCode)
	}
}

func TestDecodeJSON(t *testing.T) {
	type in struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"ok", `{"name":"a","n":1}`, 0, ""},
		{"empty", ``, 400, ""},
		{"malformed", `{"name":`, 400, ""},
		{"wrong type", `{"n":"x"}`, 400, "n"},
		{"unknown field", `{"nmae":"x"}`, 400, "nmae"},
		{"two values", `{}{}`, 400, ""},
		{"too large", `{"name":"` + strings.Repeat("a", 100) + `"}`, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			var v in
			err := DecodeJSON(httptest.NewRecorder(), r, &v, 64)
			if tc.status == 0 {
				if err != nil || v.Name != "a" || v.N != 1 {
					t.Fatalf("got %+v, %v", v, err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Status != tc.status || e.Field != tc.field || e.Msg == "" {
				t.Fatalf("got %#v, want status %d field %q", err, tc.status, tc.field)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, Errorf(409, "name", "%s is taken", "anna"))
	var got map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if w.Code != 409 || got["error"] != "anna is taken" || got["field"] != "name" || len(got) != 2 ||
		w.Header().Get("Content-Type") != "application/json; charset=utf-8" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v %v", w.Code, w.Header(), got)
	}
	w = httptest.NewRecorder()
	WriteError(w, Errorf(404, "", "not found"))
	if strings.TrimSpace(w.Body.String()) != `{"error":"not found"}` {
		t.Fatalf("body %s", w.Body)
	}
}

func TestServeEvents(t *testing.T) {
	c := make(chan int)
	var lost atomic.Uint64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ServeEvents(w, r, "test events", c, lost.Load, func(_ context.Context, n int) (string, any, bool) {
			return "n", map[string]int{"n": n}, n >= 0
		})
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	rd := bufio.NewReader(res.Body)
	// block reads one event, up to its blank line.
	block := func() string {
		t.Helper()
		var b strings.Builder
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if line == "\n" {
				return b.String()
			}
			b.WriteString(line)
		}
	}
	if got := block(); got != ": test events\nretry: 3000\n" {
		t.Fatalf("opening %q", got)
	}
	c <- 1
	if got := block(); got != "event: n\ndata: {\"n\":1}\n" {
		t.Fatalf("event %q", got)
	}
	c <- -1 // skipped by the view
	lost.Store(3)
	c <- 2
	if got := block(); got != "event: lost\ndata: {\"lost\":3}\n" {
		t.Fatalf("lost %q", got)
	}
	if got := block(); got != "event: n\ndata: {\"n\":2}\n" {
		t.Fatalf("event after the loss %q", got)
	}
}

// TestScriptsParse runs node --check on the shared scripts.
func TestScriptsParse(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (apt-get install nodejs): %v", err)
	}
	dir := t.TempDir()
	n := 0
	err = fs.WalkDir(Assets, "js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(Assets, p)
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
	if n != 2 {
		t.Fatalf("checked %d scripts, want common.js and login.js", n)
	}
}

func TestCatalogue(t *testing.T) {
	c := MustCatalogue(fstest.MapFS{
		"i18n/ru.json": {Data: []byte(`{"hi":"привет"}`)},
		"i18n/en.json": {Data: []byte(`{"hi":"hello","only.en":"x"}`)},
	}, "i18n", "ru", "en")
	if got := c.T("de", "hi"); got != "привет" {
		t.Errorf("T(de) = %q, want the default language's text", got)
	}
	if got := c.T("ru", "only.en"); got != "only.en" {
		t.Errorf("a missing text = %q, want its key", got)
	}
	var b strings.Builder
	tmpl := template.Must(template.New("").Funcs(c.Funcs("en")).Parse(`{{t "hi"}}`))
	if err := tmpl.Execute(&b, nil); err != nil || b.String() != "hello" {
		t.Errorf("template t: %q, %v", b.String(), err)
	}
	d := c.Dict("en")
	d["hi"] = "changed"
	if c.T("en", "hi") != "hello" {
		t.Error("Dict returns the catalogue itself, not a copy")
	}
	for _, tc := range []struct{ cookie, accept, want string }{
		{"", "", "ru"},
		{"en", "ru", "en"},
		{"de", "de-DE, en-GB;q=0.8", "en"},
	} {
		r := httptest.NewRequest("GET", "/login", nil)
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: LangCookie, Value: tc.cookie})
		}
		r.Header.Set("Accept-Language", tc.accept)
		if got := c.RequestLang(r); got != tc.want {
			t.Errorf("cookie %q, Accept-Language %q: %q, want %q", tc.cookie, tc.accept, got, tc.want)
		}
	}
}
