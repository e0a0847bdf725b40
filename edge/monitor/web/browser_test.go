package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image/color"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// browser is a headless Chromium tab on the fake API, collecting the
// console's errors.
type browser struct {
	t    *testing.T
	ctx  context.Context
	url  string
	shot string // folder of the screenshots

	mu   sync.Mutex
	errs []string
}

func chromiumPath(t *testing.T) string {
	for _, b := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if b != "" {
			if _, err := os.Stat(b); err == nil {
				return b
			}
		}
	}
	t.Fatal("headless Chromium not found (apt-get install chromium; scripts/deps.sh installs it) or set $CHROMIUM")
	return ""
}

func newBrowser(t *testing.T, f *fakeAPI) *browser {
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(f.done) })
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1366, 768), chromedp.UserDataDir(t.TempDir()), chromedp.Flag("hide-scrollbars", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancelA)
	t.Cleanup(cancel) // runs first: closes the tab, then the browser
	b := &browser{t: t, ctx: ctx, url: srv.URL, shot: filepath.Join(testenv.ArtifactDir(t), "monitor-web")}
	if err := os.MkdirAll(b.shot, 0o755); err != nil {
		t.Fatal(err)
	}
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errs = append(b.errs, m.String()+" ("+m.URL+")")
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs steps with a deadline, failing the test with what.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v (console errors: %v)", what, err, b.takeErrs())
	}
}

func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) takeErrs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.errs
	b.errs = nil
	return e
}

// visit opens path, waits for ready and checks the page has thrown and
// logged no error and does not scroll sideways.
func (b *browser) visit(path, ready string) {
	b.t.Helper()
	b.takeErrs()
	b.do("open "+path, chromedp.Navigate(b.url+path), chromedp.WaitReady(chromedp.CSS(ready)))
	// Let the page's first requests settle before judging it.
	b.do("settle "+path, chromedp.Poll[chromedp.Void](`document.readyState === "complete"`))
	if errs := b.takeErrs(); len(errs) > 0 {
		b.t.Errorf("%s: console errors: %v", path, errs)
	}
	if w := eval[int](b, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		b.t.Errorf("%s: the page is %d px wider than the 1366 px screen", path, w)
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.shot, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	testenv.DecodePNG(b.t, p, 1366, 768)
}

func TestBrowser(t *testing.T) {
	f := newFakeAPI()
	b := newBrowser(t, f)

	t.Run("pages", func(t *testing.T) {
		b.t = t
		cases := []struct {
			name, path, ready string
			role              store.Role
			lang              string
		}{
			{"login", "/login", "#login-form", "", "ru"},
			{"live", "/live", `[data-camera="cam-1"][data-drawn*="lin-manuel-miranda"]`, store.RoleGuard, "ru"},
			{"camera", "/cameras/cam-1", `#camera-sightings li.sighting`, store.RoleSupervisor, "ru"},
			{"alerts", "/alerts", `.alert-item[data-id="a1"]`, store.RoleGuard, "en"},
			{"sightings", "/sightings", `#sighting-table tbody tr`, store.RoleGuard, "ru"},
			{"persons", "/persons", `#person-table tbody tr`, store.RoleSupervisor, "ru"},
			{"person", "/persons/lin-manuel-miranda", `#template-table tbody tr`, store.RoleSupervisor, "en"},
			{"enrol", "/enrol", `select[name="camera"] option`, store.RoleSupervisor, "ru"},
			{"rules", "/rules", `#rule-list .rule`, store.RoleSupervisor, "en"},
			{"audit", "/audit", `#audit-table tbody tr`, store.RoleAuditor, "ru"},
			{"users", "/users", `#user-table tbody tr`, store.RoleAdmin, "ru"},
		}
		for _, c := range cases {
			f.setUser("ivanov", c.role, c.lang)
			b.visit(c.path, c.ready)
			b.screenshot(c.name)
		}
	})

	t.Run("live", func(t *testing.T) {
		b.t = t
		f.setUser("ivanov", store.RoleGuard, "en")
		// Each tile draws its boxes when its first overlay arrives: wait for
		// both, not for the attribute, which an empty overlay sets too.
		b.visit("/live", `[data-camera="cam-2"][data-drawn*="unknown"]`)
		b.do("wait for cam-1's overlay", chromedp.WaitReady(chromedp.CSS(`[data-camera="cam-1"][data-drawn*="lin-manuel-miranda"]`)))
		tiles := eval[[]map[string]string](b, `Array.from(document.querySelectorAll('[data-camera]'), (e) =>
			({id: e.dataset.camera, mode: e.dataset.mode, state: e.dataset.state, drawn: e.dataset.drawn,
			  badge: e.querySelector('.badge').textContent, video: String(!!e.querySelector('video.live-video'))}))`)
		want := []map[string]string{
			{"id": "cam-1", "mode": "snapshot", "state": "streaming", "drawn": `["lin-manuel-miranda"]`, "badge": "snapshot · streaming", "video": "true"},
			{"id": "cam-2", "mode": "snapshot", "state": "down", "drawn": `["unknown"]`, "badge": "snapshot · down: connection refused", "video": "true"},
		}
		if len(tiles) != 2 {
			t.Fatalf("tiles %v", tiles)
		}
		for i := range want {
			for k, v := range want[i] {
				if tiles[i][k] != v {
					t.Errorf("tile %d %s = %q, want %q", i, k, tiles[i][k], v)
				}
			}
		}
		b.do("click a tile", chromedp.Click(chromedp.CSS(`[data-camera="cam-1"]`)), chromedp.WaitReady(chromedp.CSS(`#player[data-mode="snapshot"]`)))
	})

	t.Run("alert desk", func(t *testing.T) {
		b.t = t
		f.setUser("ivanov", store.RoleGuard, "en")
		b.visit("/alerts", `.alert-item[data-id="a2"]`)
		if ids := eval[[]string](b, `Array.from(document.querySelectorAll('.alert-item'), (e) => e.dataset.id)`); !slices.Equal(ids, []string{"a1", "a2"}) {
			t.Errorf("alert order %v, want newest first", ids)
		}
		if title := eval[string](b, `document.title`); !strings.HasPrefix(title, "(2) ") {
			t.Errorf("title %q lacks the count", title)
		}
		// A new alert arrives on the events stream and shows without a reload.
		newer := alert("a3", "high", "keep_apart", "p-104", "Петров П. П.", 0)
		f.mu.Lock()
		f.alerts = append(f.alerts, newer)
		f.mu.Unlock()
		f.publish("alert", newer)
		b.do("live alert", chromedp.WaitReady(chromedp.CSS(`.alert-item[data-id="a3"]:first-child`)))

		b.do("select", chromedp.Click(chromedp.CSS(`.alert-item[data-id="a1"]`)), chromedp.WaitReady(chromedp.CSS(`.evidence img`)),
			chromedp.Poll[chromedp.Void](`Array.from(document.querySelectorAll('.evidence img')).every((i) => i.complete && i.naturalWidth > 0)`))
		if n := eval[int](b, `document.querySelectorAll('.evidence img').length`); n != 3 {
			t.Errorf("evidence shows %d pictures, want the crop and 2 photos", n)
		}
		text := eval[string](b, `document.querySelector('#alert-detail').textContent`)
		for _, s := range []string{"0.712", "0.183", "Lin-Manuel Miranda (lin-manuel-miranda)", "corridor-2", "cam-1", "critical",
			"watch list", "escape-risk", "cam-1 · corridor-2 · ", "Петров П. П. (p-104)"} {
			if !strings.Contains(text, s) {
				t.Errorf("evidence lacks %q", s)
			}
		}
		if strings.ContainsAny(text, "{[") || strings.Contains(text, `"Sighting"`) {
			t.Errorf("the evidence shows raw JSON: %s", text)
		}
		// The rule's evidence starts folded, and its sighting links to
		// the sightings page at that moment.
		if eval[bool](b, `document.querySelector('details.rule-evidence').open`) {
			t.Error("the rule's evidence is unfolded by default")
		}
		if href := eval[string](b, `document.querySelector('.evidence-sightings a').getAttribute('href')`); !strings.HasPrefix(href, "/sightings?camera=cam-1&") ||
			!strings.Contains(href, "sighting=s-a1") {
			t.Errorf("evidence sighting links to %q", href)
		}
		// At 1366x768 the decision controls are on screen without scrolling.
		for _, sel := range []string{`button[data-action="ack"]`, `textarea[name="reason"]`, `button[data-action="confirm"]`, `button[data-action="reject"]`} {
			if !eval[bool](b, `(() => { const r = document.querySelector('`+sel+`').getBoundingClientRect();
				return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; })()`) {
				t.Errorf("%s is not visible without scrolling", sel)
			}
		}
		if eval[bool](b, `!document.querySelector('button[data-action="confirm"]').disabled`) {
			t.Error("confirm is enabled before acknowledging")
		}
		b.do("ack", chromedp.Click(chromedp.CSS(`button[data-action="ack"]`)),
			chromedp.WaitReady(chromedp.CSS(`textarea[name="reason"]:not([disabled])`)))
		if eval[bool](b, `!document.querySelector('button[data-action="confirm"]').disabled`) {
			t.Error("confirm is enabled with an empty reason")
		}
		b.do("reason", chromedp.SendKeys(chromedp.CSS(`textarea[name="reason"]`), "Seen at the gate, identity checked"),
			chromedp.WaitReady(chromedp.CSS(`button[data-action="confirm"]:not([disabled])`)))
		// An update of the same alert from the event stream redraws the
		// panel: the reason being written survives it.
		eval[bool](b, `(window.__reasonBox = document.querySelector('textarea[name="reason"]'), true)`)
		f.mu.Lock()
		var a1 map[string]any
		for _, a := range f.alerts {
			if a["id"] == "a1" {
				a1 = a
			}
		}
		f.mu.Unlock()
		f.publish("alert_update", a1)
		b.do("redrawn", chromedp.Poll[chromedp.Void](`document.querySelector('textarea[name="reason"]') !== window.__reasonBox`))
		if got := eval[string](b, `document.querySelector('textarea[name="reason"]').value`); got != "Seen at the gate, identity checked" {
			t.Errorf("after a redraw the reason reads %q", got)
		}
		if eval[bool](b, `document.querySelector('button[data-action="confirm"]').disabled`) {
			t.Error("after a redraw confirm is disabled though the reason is written")
		}
		b.screenshot("alerts-evidence")
		b.do("confirm", chromedp.Click(chromedp.CSS(`button[data-action="confirm"]`)),
			chromedp.WaitNotPresent(chromedp.CSS(`.alert-item[data-id="a1"]`)))
		acks := f.recorded("POST", "/api/v1/alerts/a1/ack")
		dec := f.recorded("POST", "/api/v1/alerts/a1/decision")
		if len(acks) != 1 || len(dec) != 1 {
			t.Fatalf("posted %d acks and %d decisions", len(acks), len(dec))
		}
		var body map[string]string
		if err := json.Unmarshal(dec[0].Body, &body); err != nil {
			t.Fatal(err)
		}
		if body["decision"] != "confirmed" || body["reason"] != "Seen at the gate, identity checked" || len(body) != 2 ||
			dec[0].CSRF != f.csrf || acks[0].CSRF != f.csrf || !strings.HasPrefix(dec[0].ContentType, "application/json") {
			t.Errorf("decision %+v, body %v", dec[0], body)
		}

		// Someone else acknowledged a2 after this desk loaded it: the
		// conflict names them.
		f.mu.Lock()
		f.alerts[1]["acknowledged_by"] = "petrov"
		f.mu.Unlock()
		b.do("conflict", chromedp.Click(chromedp.CSS(`.alert-item[data-id="a2"]`)),
			chromedp.Click(chromedp.CSS(`button[data-action="ack"]`)),
			chromedp.Poll[chromedp.Void](`document.querySelector('.conflict').textContent.includes('petrov')`))
		if text := eval[string](b, `document.querySelector('.conflict').textContent`); text != "Acknowledged by petrov" {
			t.Errorf("conflict says %q", text)
		}
		b.takeErrs() // the 409 is logged as a failed request
	})

	t.Run("audit chain", func(t *testing.T) {
		b.t = t
		f.setUser("smith", store.RoleAuditor, "en")
		for _, bad := range []bool{false, true} {
			f.mu.Lock()
			f.auditBad = bad
			f.mu.Unlock()
			b.visit("/audit", `#audit-table tbody tr`)
			b.do("check", chromedp.Click(chromedp.CSS(`#check-chain`)), chromedp.WaitReady(chromedp.CSS(`#chain-status[data-ok]`)))
			got := eval[map[string]string](b, `(() => { const s = document.querySelector('#chain-status');
				return {ok: s.dataset.ok, at: s.dataset.brokenAt || '', text: s.textContent}; })()`)
			entries := auditLog(23, false)
			head := entries[len(entries)-1]["hash"].(string)
			if !bad && (got["ok"] != "true" || !strings.Contains(got["text"], "23 entries") || !strings.Contains(got["text"], head)) {
				t.Errorf("good log: %v, want intact with 23 entries and head %s", got, head)
			}
			if bad && (got["ok"] != "false" || got["at"] != "5") {
				t.Errorf("tampered log: %v, want broken at 5", got)
			}
			name := "audit-chain-intact"
			if bad {
				name = "audit-chain-broken"
			}
			b.screenshot(name)
		}
		// The bundled SHA-256 agrees with WebCrypto and with Go.
		inputs := []string{"", "abc", strings.Repeat("a", 55), strings.Repeat("b", 56), strings.Repeat("c", 64), strings.Repeat("d", 1000), "Проверка ✓"}
		js, _ := json.Marshal(inputs)
		got := eval[[][2]string](b, `(async () => {
			const m = await import('/static/js/sha256.js');
			const out = [];
			for (const s of `+string(js)+`) {
				const bytes = new TextEncoder().encode(s);
				out.push([m.hex(m.sha256(bytes)), m.hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)))]);
			}
			return out; })()`)
		for i, in := range inputs {
			sum := sha256.Sum256([]byte(in))
			want := hex.EncodeToString(sum[:])
			if got[i][0] != want || got[i][1] != want {
				t.Errorf("sha256(%.20q): js %s, webcrypto %s, go %s", in, got[i][0], got[i][1], want)
			}
		}
		// Without crypto.subtle (plain http on a LAN address) the check
		// runs on the bundled implementation and still finds the break.
		b.do("no webcrypto", chromedp.Navigate(b.url+"/audit"), chromedp.WaitReady(chromedp.CSS(`#audit-table tbody tr`)))
		eval[bool](b, `(Object.defineProperty(crypto, 'subtle', {value: undefined}), true)`)
		b.do("check", chromedp.Click(chromedp.CSS(`#check-chain`)), chromedp.WaitReady(chromedp.CSS(`#chain-status[data-ok]`)))
		if text := eval[string](b, `document.querySelector('#chain-status[data-ok="false"][data-broken-at="5"]')?.textContent || ''`); !strings.Contains(text, "5") {
			t.Errorf("JS SHA-256 check: %q", text)
		}
	})

	t.Run("enrol", func(t *testing.T) {
		b.t = t
		f.setUser("sidorov", store.RoleSupervisor, "en")
		b.visit("/enrol", `select[name="camera"] option`)
		dir := t.TempDir()
		var files []string
		for _, n := range []string{"front.png", "small.png", "lookalike.png"} {
			p := filepath.Join(dir, n)
			if err := os.WriteFile(p, pngBytes(96, 96, colorFor(n)), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
		b.do("fill", chromedp.SendKeys(chromedp.CSS(`input[name="id"]`), "lin-manuel-miranda"),
			chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "Lin-Manuel Miranda"),
			chromedp.SendKeys(chromedp.CSS(`input[name="watch_lists"]`), "escape-risk"),
			chromedp.SetUploadFiles(chromedp.CSS(`input[name="photo"]`), files),
			chromedp.WaitReady(chromedp.CSS(`.verdict[data-status="pending"] img`)),
			chromedp.Click(chromedp.CSS(`#enrol-form button[type="submit"]`)),
			chromedp.WaitReady(chromedp.CSS(`.verdict[data-status="similar"]`)))
		got := eval[[]map[string]string](b, `Array.from(document.querySelectorAll('.verdict'), (e) =>
			({status: e.dataset.status, text: e.textContent, thumb: String(!!e.querySelector('img.thumb[src^="blob:"]'))}))`)
		want := []struct{ status, text string }{
			{"enrolled", "enrolled"}, {"poor_quality", "face too small"}, {"similar", "looks like Петров П. П. (p-104) (score 0.630)"},
		}
		if len(got) != len(want) {
			t.Fatalf("verdicts %v", got)
		}
		for i, w := range want {
			if got[i]["status"] != w.status || !strings.Contains(got[i]["text"], w.text) || got[i]["thumb"] != "true" {
				t.Errorf("verdict %d: %v, want %s with %q and a local thumbnail", i, got[i], w.status, w.text)
			}
		}
		// The person existed (409), so it was updated, then the photos sent.
		if c, u, p := f.recorded("POST", "/api/v1/persons"), f.recorded("PUT", "/api/v1/persons/lin-manuel-miranda"),
			f.recorded("POST", "/api/v1/persons/lin-manuel-miranda/photos"); len(c) != 1 || len(u) != 1 || len(p) != 1 ||
			p[0].CSRF != f.csrf || !strings.HasPrefix(p[0].ContentType, "multipart/form-data") {
			t.Errorf("enrolment requests: create %d, update %d, photos %+v", len(c), len(u), p)
		}
		b.screenshot("enrol-verdicts")
	})

	t.Run("search by photo", func(t *testing.T) {
		b.t = t
		f.setUser("sidorov", store.RoleSupervisor, "en")
		b.visit("/persons", `#recognize-form`)
		p := filepath.Join(t.TempDir(), "visitor.png")
		if err := os.WriteFile(p, pngBytes(320, 200, colorFor("visitor")), 0o644); err != nil {
			t.Fatal(err)
		}
		b.do("search", chromedp.SetUploadFiles(chromedp.CSS(`#recognize-form input[name="image"]`), []string{p}),
			chromedp.Click(chromedp.CSS(`#recognize-form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#recognize-faces li.face`)))
		got := eval[map[string]any](b, `(() => {
			const faces = Array.from(document.querySelectorAll('#recognize-faces li.face'));
			const box = document.querySelector('.face-box').getBoundingClientRect();
			const img = document.querySelector('#recognize-image').getBoundingClientRect();
			return {faces: faces.map((f) => f.textContent), boxes: document.querySelectorAll('.face-box').length,
				links: Array.from(faces[0].querySelectorAll('a'), (a) => a.getAttribute('href')),
				left: (box.left - img.left) / img.width, audited: document.querySelector('#recognize-audited').textContent}; })()`)
		faces, _ := got["faces"].([]any)
		if len(faces) != 2 || got["boxes"] != float64(2) {
			t.Fatalf("search by photo shows %v", got)
		}
		if f0 := faces[0].(string); !strings.Contains(f0, "Lin-Manuel Miranda (lin-manuel-miranda)") || !strings.Contains(f0, "0.740") || !strings.Contains(f0, "searched") {
			t.Errorf("first face: %q", f0)
		}
		if f1 := faces[1].(string); !strings.Contains(f1, "not usable") || !strings.Contains(f1, "face too small") || !strings.Contains(f1, "blurred") {
			t.Errorf("second face: %q", f1)
		}
		if links := got["links"].([]any); len(links) != 2 || links[0] != "/persons/lin-manuel-miranda" {
			t.Errorf("match links %v", links)
		}
		if left := got["left"].(float64); left < 0.1 || left > 0.15 { // 40 of 320 px
			t.Errorf("the first box starts at %.3f of the width, want 0.125", left)
		}
		if !strings.Contains(got["audited"].(string), "audit log") {
			t.Errorf("the search does not say it is audited: %q", got["audited"])
		}
		if r := f.recorded("POST", "/api/v1/recognize"); len(r) != 1 || r[0].CSRF != f.csrf || !strings.HasPrefix(r[0].ContentType, "multipart/form-data") {
			t.Errorf("recognize requests %+v", r)
		}
		b.screenshot("search-by-photo")
		// A guard has no search by photo.
		f.setUser("ivanov", store.RoleGuard, "en")
		b.visit("/persons", `#person-table tbody tr`)
		if eval[bool](b, `!!document.querySelector('#recognize')`) {
			t.Error("a guard sees the search by photo")
		}
	})

	t.Run("rules field error", func(t *testing.T) {
		b.t = t
		f.setUser("sidorov", store.RoleSupervisor, "en")
		b.visit("/rules", `#rule-list .rule`)
		b.do("save", chromedp.Click(chromedp.CSS(`#rule-list .rule button[type="submit"]`)),
			chromedp.Poll[chromedp.Void](`document.querySelector('#rule-list .rule .field-error[data-for="params"]').textContent.includes('at least one list')`))
	})

	t.Run("login", func(t *testing.T) {
		b.t = t
		f.setUser("", "", "ru")
		b.visit("/login?next=/alerts", "#login-form")
		b.do("locked", chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), "locked"),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "x"),
			chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#login-error`)))
		if text := eval[string](b, `document.querySelector('#login-error').textContent`); !strings.Contains(text, "37") {
			t.Errorf("rate-limited login says %q", text)
		}
		b.do("log in", chromedp.Clear(chromedp.CSS(`input[name="user"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), "ivanov"),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "correct horse"),
			chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
			chromedp.WaitReady(chromedp.CSS(`.alert-item`)))
		// The language switch changes the account's language and reloads.
		b.do("switch to English", chromedp.Click(chromedp.CSS(`button[data-lang="en"]`)),
			chromedp.WaitReady(chromedp.CSS(`html[lang="en"] .alert-item`)))
		if p := f.recorded("PATCH", "/api/v1/me"); len(p) != 1 || string(p[0].Body) != `{"lang":"en"}` || p[0].CSRF != f.csrf {
			t.Errorf("language switch sent %+v", p)
		}
		b.takeErrs()
	})
}

func colorFor(name string) color.RGBA { return color.RGBA{uint8(len(name) * 20), 100, 140, 255} }
