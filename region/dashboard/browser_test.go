//go:build cgo

package dashboard_test

import (
	"bytes"
	"context"
	"hash/fnv"
	"image"
	"image/color"
	stdjpeg "image/jpeg"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/region"
	"github.com/dozor-edge/dozor/region/cgodeps"
	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/dashboard"
	"github.com/dozor-edge/dozor/sync/wire"
)

// TestDashboardInBrowser runs regiond (embedded NATS, SQLite) with two
// sites publishing real wire messages over MQTT, logs in as a region
// operator in headless Chromium and checks: both sites online with their
// cameras, a sighting published while the page is open appearing without
// a reload, and one person's timeline across both sites. Screenshots go
// to var/artifacts/region-*.png.
func TestDashboardInBrowser(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Defaults()
	cfg.Region.ID = "north"
	cfg.Data.Dir = dir
	cfg.Store.Path = filepath.Join(dir, "region.db")
	cfg.Broker.MQTTListen, cfg.Broker.NATSListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Broker.SitesFile = filepath.Join(dir, "sites")
	cfg.HTTP.Listen = "127.0.0.1:0"
	sites := []string{"ik5", "ik6"}
	passwords := map[string]string{}
	for _, s := range sites {
		pw, err := config.AddSite(cfg.Broker.SitesFile, s)
		if err != nil {
			t.Fatal(err)
		}
		passwords[s] = pw
	}
	// The account, made as `regiond user add` makes it, before the daemon
	// opens the store.
	st, err := cgodeps.OpenStore(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	const operatorPassword = "region operator pass"
	if err := dashboard.AddUser(context.Background(), st, "olga", "operator", "en", operatorPassword); err != nil {
		t.Fatal(err)
	}
	st.Close()

	d, err := region.New(cfg, cgodeps.Deps(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-d.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("regiond not ready")
	}

	now := time.Now().UTC().Truncate(time.Millisecond)
	clients := map[string]mqtt.Client{}
	seqs := map[string]uint64{}
	for i, site := range sites {
		c := connect(t, d.MQTTURL(), site, passwords[site])
		t.Cleanup(func() { c.Disconnect(100) })
		clients[site] = c
		publish(t, c, must(wire.SiteStatusTopic("north", site)), wire.SiteStatus{Site: site, State: wire.SiteOnline,
			Version: "edge-1", At: now, CamerasUp: 2, CamerasTotal: 2, OutboxDepth: i})
		for _, cam := range []string{"gate", "yard"} {
			publish(t, c, must(wire.CameraStatusTopic("north", site, cam)), wire.CameraStatus{Site: site, Camera: cam,
				State: wire.CameraUp, FPS: 12, At: now, LastFrame: now})
		}
		// P-7 walks through both facilities; P-1 only the first.
		for k, person := range []string{"P-7", "P-1", "P-7"} {
			seqs[site]++
			at := now.Add(time.Duration(-50+10*k+i*5) * time.Minute)
			publish(t, c, must(wire.SightingTopic("north", site)), sighting(site, seqs[site], person, "gate", at))
		}
	}
	seqs["ik5"]++
	alert := wire.Alert{ID: wire.MustNewID(), Seq: seqs["ik5"], Site: "ik5", Rule: "r-1", Kind: "watchlist",
		Severity: wire.SeverityCritical, Sighting: wire.MustNewID(), Person: "P-7", Camera: "gate", At: now.Add(-20 * time.Minute),
		Evidence: wire.Evidence{Score: 0.8, Margin: 0.2, Frames: 3, Crop: jpeg("a")}}
	publish(t, clients["ik5"], must(wire.AlertTopic("north", "ik5")), alert)

	base := "http://" + d.HTTPAddr()
	bs := newBrowserSteps(t, 30*time.Second)
	browser, step, shot, poll := bs.browser, bs.step, bs.shot, bs.poll

	step("log in as a region operator",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="user"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), "olga"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), operatorPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	)
	waitJS(t, browser, `location.pathname === "/overview" && document.readyState === "complete"`)
	step("both sites online with their cameras",
		poll(`document.querySelectorAll('#sites tr[data-online="true"]').length === 2 &&
			document.querySelectorAll('#sites tr[data-site="ik5"] .cam-up').length === 2 &&
			document.querySelectorAll('#sites tr[data-site="ik6"] .cam-up').length === 2 &&
			document.querySelector('#sites tr[data-site="ik6"]').textContent.includes("3 / 3")`),
		poll(`document.querySelectorAll('#plots figure.plot').length === 2 && document.querySelectorAll('#plots rect.bar').length > 0`),
		poll(`document.querySelector('#open-alerts li[data-id="`+alert.ID.String()+`"]') !== null`),
		poll(`document.querySelector('#live-state').dataset.state === "up"`),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`),
	)
	seqs["ik6"]++
	publish(t, clients["ik6"], must(wire.SightingTopic("north", "ik6")), sighting("ik6", seqs["ik6"], "P-9", "yard", time.Now().UTC()))
	step("a live event without a reload",
		poll(`window.__sameDocument === true && [...document.querySelectorAll('#feed li.event-sighting')].some(li => li.textContent.includes("P-9"))`),
	)
	shot("region-overview.png")

	step("the cross-site timeline of P-7",
		chromedp.Navigate(base+"/timeline?person=P-7"),
		poll(`document.querySelectorAll('#timeline tr.timeline-row').length === 4 &&
			new Set([...document.querySelectorAll('#timeline tr.timeline-row')].map(r => r.dataset.site)).size === 2 &&
			document.querySelectorAll('#timeline-plot circle.dot').length === 4`),
	)
	shot("region-timeline.png")
}

func sighting(site string, seq uint64, person, camera string, at time.Time) wire.Sighting {
	return wire.Sighting{ID: wire.MustNewID(), Seq: seq, Site: site, Camera: camera, Track: seq, Person: person,
		FirstSeen: at.Add(-2 * time.Second), BestAt: at, LastSeen: at.Add(time.Second), Frames: 4, Score: 0.82,
		Margin: 0.3, Model: "m-1", Quality: 0.7, Crop: jpeg(site + person)}
}

// jpeg is a small real JPEG whose colour depends on tag, as a face crop
// stands in the timeline.
func jpeg(tag string) []byte {
	h := fnv.New32a()
	h.Write([]byte(tag))
	v := h.Sum32()
	img := image.NewRGBA(image.Rect(0, 0, 48, 48))
	c := color.RGBA{uint8(v), uint8(v >> 8), uint8(v >> 16), 0xff}
	for y := range 48 {
		for x := range 48 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := stdjpeg.Encode(&b, img, nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func waitJS(t *testing.T, browser context.Context, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(browser, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q not true within 20s (last error: %v)", expr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func connect(t *testing.T, url, user, password string) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID("edge-" + strings.ReplaceAll(user, ".", "_")).
		SetUsername(user).SetPassword(password).SetProtocolVersion(4).
		SetCleanSession(false).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("connect as %s: %v", user, tok.Error())
	}
	return c
}

func publish(t *testing.T, c mqtt.Client, topic string, p wire.Payload) {
	t.Helper()
	b, err := wire.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Publish(topic, 1, p.TopicKind().Retained(), b)
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

// browserSteps drives one headless browser through a test: each step's
// actions must finish within timeout, and shot saves a full-page
// screenshot under the artifacts folder.
type browserSteps struct {
	t         *testing.T
	browser   context.Context
	artifacts string
	timeout   time.Duration
}

func newBrowserSteps(t *testing.T, timeout time.Duration) *browserSteps {
	return &browserSteps{t: t, browser: testenv.Browser(t), artifacts: testenv.ArtifactDir(t), timeout: timeout}
}

func (b *browserSteps) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.browser, b.timeout)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browserSteps) shot(name string) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.browser, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.artifacts, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// poll waits in the page until expr holds, for five sixths of a step's
// time, so that a step fails on its own words rather than its deadline.
func (b *browserSteps) poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(b.timeout*5/6))
}
