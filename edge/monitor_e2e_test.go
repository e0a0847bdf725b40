//go:build cgo

package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/edge/cgodeps"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/custody"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/sync/wire"
)

// TestGuardShift is a guard's shift in the monitor, in headless Chromium
// against the real daemon, camera, models and broker: log in; the live
// tile plays the camera's own H.264 with lin-manuel-miranda's box drawn
// over it; a watch-listed person raises an alert that appears on the desk
// without a reload; the guard confirms it with a reason and the decision
// reaches the broker; an auditor finds the decision in the audit log and
// the chain check passes; a supervisor enrols photos and sees a verdict for
// each. Screenshots of the pages go to var/artifacts.
func TestGuardShift(t *testing.T) {
	modelDir := testenv.ModelDir(t)
	videoDir := testenv.TestData(t, "video")
	facesDir := testenv.TestData(t, "faces")
	dir := t.TempDir()
	key := keyFile(t)
	artifacts := testenv.ArtifactDir(t)

	b := startBroker(t)
	decisions := subscribe(t, b.addr(), "dozor/v1/+/+/alert/decision")
	cam := startCamera(t, hamilton(t, videoDir))
	// A second camera sends H.265, which Chromium cannot play: its tile
	// shows the pictures the recognisers decode.
	hevc, err := avcodec.ReadClip(filepath.Join(videoDir, "hamilton_wh_short_640x360.mp4"),
		avcodec.ClipOptions{Codec: camera.H265, GOP: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	gate := startCamera(t, hevc)

	cfg := e2eConfig(dir, key, b.url(), cam.URL())
	cfg.Cameras = append(cfg.Cameras, config.Camera{ID: "gate", URL: gate.URL(), Zone: "entrance"})
	cfg.Models.Dir = modelDir
	enrol(t, cfg.Store.Path, key, modelDir, []string{
		filepath.Join(videoDir, "enroll", "lin-manuel-miranda.png"),
		filepath.Join(videoDir, "enroll", "alex-lacamoire.png"),
		filepath.Join(videoDir, "enroll", "obama.jpg"),
	})
	passwords := map[string]string{}
	withStore(t, cfg.Store.Path, key, func(st *store.Store) {
		ctx := context.Background()
		lin, err := st.Person(ctx, "lin-manuel-miranda")
		if err != nil {
			t.Fatal(err)
		}
		lin.WatchLists = []string{"escape-risk"}
		if err := st.PutPerson(ctx, "supervisor", lin); err != nil {
			t.Fatal(err)
		}
		for _, role := range []store.Role{store.RoleGuard, store.RoleSupervisor, store.RoleAuditor} {
			pw := "shift-" + string(role) + "-pass"
			hash, err := webauth.HashPassword(pw)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.PutUser(ctx, "admin", store.User{Name: string(role), Role: role, Lang: "en", PasswordHash: hash}); err != nil {
				t.Fatal(err)
			}
			passwords[string(role)] = pw
		}
	})

	log, logs := newLog()
	deps := cgodeps.Deps(cfg, log)
	deps.Version, deps.Uplink, deps.RevisionEvery = "test", fastUplink, time.Second
	d, cancel, done := runDaemon(t, cfg, deps, logs)
	t.Cleanup(func() {
		// Stopped before the browser and the cameras go, and waited for,
		// so that nothing of the daemon outlives the test.
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("Run did not return within 60s of the cancel")
		}
	})
	base := "http://" + d.HTTPAddr()

	browser := testenv.Browser(t)
	step := func(what string, limit time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, limit)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\ndaemon log tail:\n%s", what, err, tail(logs.String(), 30))
		}
	}
	shot := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(artifacts, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	login := func(user string) {
		t.Helper()
		step("log in as "+user, 30*time.Second,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`input[name="user"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), user),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), passwords[user]),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		)
		// The page navigates away: evaluate afresh until the new one is up.
		waitJS(t, browser, "logged in as "+user, `!location.pathname.startsWith("/login") && document.readyState === "complete"`,
			60*time.Second)
	}
	logout := func() {
		t.Helper()
		step("log out", 20*time.Second,
			chromedp.Poll[chromedp.Void](`fetch("/api/v1/logout", {method: "POST", credentials: "same-origin",
				headers: {"X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content}}).then(r => r.status === 204)`,
				chromedp.WithPollingTimeout(10*time.Second)),
		)
	}

	// The guard's live view: the tile plays the camera's own H.264.
	login("guard")
	tile := `document.querySelector('[data-camera="stage"]')`
	step("live tile playing video", 60*time.Second,
		chromedp.Navigate(base+"/"),
		chromedp.Poll[chromedp.Void](`(() => { const v = `+tile+`?.querySelector("video.live-video");
			return v && v.currentTime > 1 && v.videoWidth === 640 && v.videoHeight === 360; })()`,
			chromedp.WithPollingTimeout(50*time.Second), chromedp.WithPollingInterval(200*time.Millisecond)),
	)
	t0 := evalFloat(t, browser, tile+`.querySelector("video.live-video").currentTime`)
	step("video time advancing", 30*time.Second,
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`%s.querySelector("video.live-video").currentTime > %f`, tile, t0+2),
			chromedp.WithPollingTimeout(25*time.Second), chromedp.WithPollingInterval(200*time.Millisecond)),
	)
	mode := evalString(t, browser, tile+`.dataset.mode`)
	if mode != "mse" && mode != "video" {
		t.Errorf("the H.264 tile is in mode %q, want the video mode", mode)
	}
	step("lin-manuel-miranda's box over the video", 90*time.Second,
		chromedp.Poll[chromedp.Void](tile+`.dataset.drawn?.includes("lin-manuel-miranda")`,
			chromedp.WithPollingTimeout(85*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)),
	)
	gateTile := `document.querySelector('[data-camera="gate"]')`
	waitJS(t, browser, "the H.265 tile showing snapshots with a named box", gateTile+`.dataset.mode === "snapshot" &&
		[...`+gateTile+`.querySelectorAll("img")].some(i => i.complete && i.naturalWidth === 640) &&
		(`+gateTile+`.dataset.drawn || "").includes("lin-manuel-miranda")`, 60*time.Second)
	shot("monitor-live.png")
	if m := get(t, base+"/metrics"); !regexp.MustCompile(`\ndozor_live_viewers\{camera="stage"\} [1-9]`).MatchString(m) {
		t.Error("/metrics does not count the browser watching camera stage")
	}

	// A stalled browser on the live WebSocket must cost the camera nothing:
	// a client that connects and never reads, while recognition goes on.
	stallLive(t, base, passwords["guard"], d.HTTPAddr())

	// The alert desk is open before the rule exists; the alert it then
	// shows arrives over the event stream, not by a reload.
	step("alert desk open", 90*time.Second,
		chromedp.Navigate(base+"/alerts"),
		chromedp.Poll[chromedp.Void](`document.readyState === "complete" && document.querySelectorAll(".alert-item").length === 0`,
			chromedp.WithPollingTimeout(80*time.Second)),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`),
	)
	withStore(t, cfg.Store.Path, key, func(st *store.Store) {
		if err := st.PutRule(context.Background(), "supervisor", store.Rule{ID: "escape-risk", Kind: custody.KindWatchList,
			Name: "Escape risk seen", Params: json.RawMessage(`{"watch_list":"escape-risk"}`), Severity: custody.Critical,
			Cooldown: 10 * time.Minute, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	})
	d.Reload()
	waitJS(t, browser, "alert on the desk", `document.querySelectorAll(".alert-item").length > 0`, 120*time.Second)
	if !evalBool(t, browser, `window.__sameDocument === true`) {
		t.Fatal("the alert desk was reloaded: the alert must arrive over the event stream")
	}
	step("alert evidence", 90*time.Second,
		chromedp.Click(chromedp.CSS(".alert-item")),
	)
	// The live crop and the enrolled photo, side by side.
	waitJS(t, browser, "evidence pictures", `(() => { const imgs = [...document.querySelectorAll(".evidence img")];
		return imgs.length >= 2 && imgs.every(i => i.complete && i.naturalWidth > 0); })()`, 60*time.Second)
	alertID := evalString(t, browser, `document.querySelector(".alert-item").dataset.id`)
	evidence := evalString(t, browser, `document.querySelector("#alert-detail").innerText`)
	for _, want := range []string{"lin-manuel-miranda", "Escape risk seen", "Score", "Margin", "Frames", "Zone"} {
		if !strings.Contains(evidence, want) {
			t.Errorf("the evidence does not show %q:\n%s", want, evidence)
		}
	}
	if !strings.Contains(evidence, "stage") && !strings.Contains(evidence, "gate") {
		t.Errorf("the evidence names no camera:\n%s", evidence)
	}
	shot("monitor-alert-desk.png")

	const reason = "Seen on the stage camera; identity checked against the booking photo"
	step("acknowledge", 30*time.Second, chromedp.Click(chromedp.CSS(`button[data-action="ack"]`)))
	// Acknowledged: the reason can be written, and the verdicts wait for it.
	waitJS(t, browser, "the acknowledgement", `(() => { const r = document.querySelector('textarea[name="reason"]');
		return r && !r.disabled && document.querySelector('button[data-action="confirm"]').disabled; })()`, 60*time.Second)
	step("confirm with a reason", 90*time.Second,
		chromedp.SendKeys(chromedp.CSS(`textarea[name="reason"]`), reason),
		chromedp.Poll[chromedp.Void](`document.querySelector('button[data-action="confirm"]').disabled === false`),
		chromedp.Click(chromedp.CSS(`button[data-action="confirm"]`)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`!document.querySelector('.alert-item[data-id=%q]')`, alertID),
			chromedp.WithPollingTimeout(60*time.Second)),
	)
	waitFor(t, 30*time.Second, "the decision at the region", func() bool {
		for _, dec := range decoded[wire.AlertDecision](t, decisions) {
			if dec.Alert.String() == alertID {
				if dec.Decision != wire.DecisionConfirmed || dec.By != "guard" || dec.Note != reason {
					t.Fatalf("decision at the region: %+v", dec)
				}
				return true
			}
		}
		return false
	}, decisions.changed)
	logout()

	// The auditor finds the decision and checks the chain.
	login("auditor")
	step("audit log filtered to decisions", 90*time.Second,
		chromedp.Navigate(base+"/audit"),
		chromedp.WaitVisible(chromedp.CSS(`#audit-filter input[name="action"]`)),
		chromedp.SendKeys(chromedp.CSS(`#audit-filter input[name="action"]`), "alert.decide"),
		chromedp.Click(chromedp.CSS(`#audit-filter button[type="submit"]`)),
	)
	waitJS(t, browser, "the decision in the audit log", fmt.Sprintf(`document.querySelector("#audit-table tbody").innerText.includes(%q)`,
		"alert:"+alertID), 60*time.Second)
	step("chain check", 30*time.Second, chromedp.Click(chromedp.CSS(`#check-chain`)))
	waitJS(t, browser, "an intact chain", `document.querySelector("#chain-status").dataset.ok === "true"`, 60*time.Second)
	shot("monitor-audit.png")
	logout()

	// A supervisor enrols a new arrival from three photos: one good, one
	// of someone already enrolled, one without a face.
	noFace := filepath.Join(dir, "wall.png")
	writePlainPNG(t, noFace)
	login("supervisor")
	step("enrolment with a verdict per photo", 90*time.Second,
		chromedp.Navigate(base+"/enrol"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="id"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="id"]`), "new-arrival"),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "New Arrival"),
		chromedp.SetUploadFiles(chromedp.CSS(`input[type="file"]`), []string{
			filepath.Join(facesDir, "bona.jpg"), filepath.Join(videoDir, "enroll", "obama.jpg"), noFace}),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	)
	waitJS(t, browser, "a verdict for each photo", `(() => { const v = [...document.querySelectorAll(".verdict[data-status]")];
		return v.length === 3 && v.every(x => x.dataset.status !== "pending"); })()`, 80*time.Second)
	statuses := evalString(t, browser, `[...document.querySelectorAll(".verdict[data-status]")].map(v => v.dataset.status).join(",")`)
	if statuses != "enrolled,similar,no_face" {
		t.Errorf("verdicts %q, want enrolled,similar,no_face", statuses)
	}
	shot("monitor-enrol.png")
}

// stallLive opens the camera's live WebSocket as a browser that never
// reads, and checks that the frames the camera hands to recognition keep
// their rate meanwhile: the rate over five seconds with the stalled
// viewer against the rate over the five seconds before, in one run.
func stallLive(t *testing.T, base, guardPassword, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rate := func() float64 {
		before, start := cameraFrames(t, addr), time.Now()
		timer := time.NewTimer(5 * time.Second)
		defer timer.Stop()
		<-timer.C
		return float64(cameraFrames(t, addr)-before) / time.Since(start).Seconds()
	}
	free := rate()
	cookie := apiLogin(t, base, "guard", guardPassword)
	h := http.Header{}
	h.Set("Cookie", cookie)
	h.Set("Origin", base)
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/api/v1/cameras/stage/live", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("live WebSocket: %v", err)
	}
	defer c.CloseNow()
	stalled := rate()
	t.Logf("frames into recognition: %.2f/s, then %.2f/s with a stalled live viewer", free, stalled)
	if stalled < 0.8*free {
		t.Errorf("a stalled live viewer cut the camera's frames into recognition from %.2f/s to %.2f/s", free, stalled)
	}
}

func cameraFrames(t *testing.T, addr string) uint64 {
	t.Helper()
	h, _ := getHealth(t, addr)
	for _, c := range h.Cameras {
		if c.ID == "stage" {
			return c.Frames
		}
	}
	t.Fatal("/healthz has no camera stage")
	return 0
}

// apiLogin logs in through the API and returns the session cookie.
func apiLogin(t *testing.T, base, user, password string) string {
	t.Helper()
	body := strings.NewReader(fmt.Sprintf(`{"user":%q,"password":%q}`, user, password))
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/login", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("API login: %s", resp.Status)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "dozor_session" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("API login set no session cookie")
	return ""
}

func withStore(t *testing.T, path, key string, f func(*store.Store)) {
	t.Helper()
	st, err := store.Open(path, store.Options{SQLite: sqlite.Binding{}, KeyFile: key, Region: "north", Site: "ik5"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f(st)
}

// waitJS evaluates expr until it is true, through page navigations
// (which end a chromedp.Poll), and fails the test after limit.
func waitJS(t *testing.T, browser context.Context, what, expr string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(browser, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q not true within %v (last error: %v)", what, expr, limit, err)
		}
		<-tick.C
	}
}

func evalString(t *testing.T, browser context.Context, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func evalBool(t *testing.T, browser context.Context, expr string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func evalFloat(t *testing.T, browser context.Context, expr string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// writePlainPNG writes a picture of a grey wall: an image without a face.
func writePlainPNG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	img.Set(10, 10, color.RGBA{0xff, 0, 0, 0xff})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
