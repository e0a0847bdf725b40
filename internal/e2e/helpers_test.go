//go:build cgo

package e2e_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/camera/simcam"
	"github.com/dozor-edge/dozor/camera/simcam/simcamtest"
	"github.com/dozor-edge/dozor/edge"
	"github.com/dozor-edge/dozor/edge/cgodeps"
	"github.com/dozor-edge/dozor/edge/config"
	edgestore "github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/opencv"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/uplink"
)

// waitUntil checks cond every poll until it holds, and fails the test when
// it does not within limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, limit)
		}
		time.Sleep(poll)
	}
}

const poll = 200 * time.Millisecond

func newLog() (*slog.Logger, *testenv.Buffer) {
	lb := &testenv.Buffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo})), lb
}

// showLog prints a daemon's log when the test fails, or always when
// $DOZOR_TEST_LOG is set.
func showLog(t *testing.T, name string, logs *testenv.Buffer) {
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("DOZOR_TEST_LOG") != "" {
			t.Logf("%s log:\n%s", name, logs.String())
		}
	})
}

// hamilton reads the labelled clip; both cameras stream the same one.
func hamilton(t *testing.T, videoDir string) *camera.Clip {
	t.Helper()
	c, err := avcodec.ReadClip(filepath.Join(videoDir, "hamilton_wh_short_640x360.mp4"), avcodec.ClipOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startCamera serves the clip in a loop as an RTSP camera on 127.0.0.1.
func startCamera(t *testing.T, c *camera.Clip) *simcam.Server {
	t.Helper()
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: c, Loop: true})
	return srv
}

// enrolmentPhotos are the clip's three people.
func enrolmentPhotos(videoDir string) []string {
	return []string{
		filepath.Join(videoDir, "enroll", "lin-manuel-miranda.png"),
		filepath.Join(videoDir, "enroll", "alex-lacamoire.png"),
		filepath.Join(videoDir, "enroll", "obama.jpg"),
	}
}

// enrol adds each photo's largest face as a template of the person named
// by the file's stem, at the site of cfg; its audit records join the
// site's outbox.
func enrol(t *testing.T, cfg config.Config, eng recognizer.Engine, photos []string) {
	t.Helper()
	ctx := context.Background()
	st, err := edgestore.Open(cfg.Store.Path, edgestore.Options{SQLite: sqlite.Binding{}, KeyFile: cfg.Store.KeyFile,
		Region: cfg.Site.Region, Site: cfg.Site.ID})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, p := range photos {
		id := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := opencv.DecodeImage(data, 1280)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		faces, err := eng.Detect(img)
		if err != nil || len(faces) == 0 {
			t.Fatalf("%s: %d faces, %v", p, len(faces), err)
		}
		best := 0
		for i, f := range faces {
			if f.Box.Area() > faces[best].Box.Area() {
				best = i
			}
		}
		embs, err := eng.Embed(img, faces[best:best+1])
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err := st.PutPerson(ctx, "supervisor", edgestore.Person{ID: id, DisplayName: id, Facility: cfg.Site.ID, Status: edgestore.StatusActive}); err != nil {
			t.Fatal(err)
		}
		photo, err := st.AddPhoto(ctx, "supervisor", id, data, "booking photo")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddTemplate(ctx, "supervisor", edgestore.NewTemplate{PersonID: id, Model: embs[0].Model, Vec: embs[0].Vec,
			Quality: faces[best].Quality.Score, Source: "booking photo", PhotoID: photo}); err != nil {
			t.Fatal(err)
		}
	}
}

// site is one facility's daemon under test.
type site struct {
	id     string
	cfg    config.Config
	d      *edge.Daemon
	cancel context.CancelFunc
	done   chan error
	logs   *testenv.Buffer
}

// edgeConfig is a facility of region north with one camera and its files
// in dir, its uplink logging in to broker as the site with password.
func edgeConfig(t *testing.T, id, broker, password, cameraURL, modelDir string) config.Config {
	t.Helper()
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "key")
	if err := os.Mkdir(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "uplink.password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Site = config.Site{Region: "north", ID: id, TimeZone: "UTC"}
	cfg.Models.Dir = modelDir
	cfg.Recognizer.Workers = 1
	cfg.Recognizer.DetectFPS = 5
	cfg.Cameras = []config.Camera{{ID: "stage", URL: cameraURL, Zone: "hall"}}
	cfg.Store.Path = filepath.Join(dir, "dozor.db")
	cfg.Store.KeyFile = filepath.Join(keyDir, "dozor.key")
	cfg.Uplink.Broker = broker
	cfg.Uplink.Username = id
	cfg.Uplink.PasswordFile = pwFile
	cfg.HTTP.Listen = "127.0.0.1:0"
	if _, err := edgestore.GenerateKeyFile(cfg.Store.KeyFile); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fastUplink shortens the uplink's waits so that a test sees recovery in
// seconds.
func fastUplink(c *uplink.Config) {
	c.MinBackoff, c.MaxBackoff = 100*time.Millisecond, 500*time.Millisecond
	c.PollInterval = 500 * time.Millisecond
	c.ConnectTimeout = 2 * time.Second
}

// startSite runs the daemon of cfg until stop or the end of the test and
// returns once it is ready.
func startSite(t *testing.T, cfg config.Config) *site {
	t.Helper()
	log, logs := newLog()
	showLog(t, "edge "+cfg.Site.ID, logs)
	deps := cgodeps.Deps(cfg, log)
	deps.Version, deps.Uplink, deps.RevisionEvery = "test", fastUplink, time.Second
	d, err := edge.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &site{id: cfg.Site.ID, cfg: cfg, d: d, cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { s.done <- d.Run(ctx) }()
	t.Cleanup(func() { s.stop(t) })
	select {
	case <-d.Ready():
	case err := <-s.done:
		t.Fatalf("edge %s did not start: %v", s.id, err)
	case <-time.After(90 * time.Second):
		t.Fatalf("edge %s not ready after 90s", s.id)
	}
	return s
}

// stop stops the daemon in order (it flushes its outbox and says goodbye)
// and waits for Run; a second call does nothing.
func (s *site) stop(t *testing.T) {
	t.Helper()
	if s.done == nil {
		return
	}
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("edge %s: Run: %v", s.id, err)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("edge %s: Run did not return within 60s of the stop", s.id)
	}
	s.done = nil
}

// outbox reads the site's last sequence number and unsent count while its
// daemon writes (read-only, without the key).
func (s *site) outbox(t *testing.T) (last uint64, depth int) {
	t.Helper()
	st, err := edgestore.Open(s.cfg.Store.Path, edgestore.Options{SQLite: sqlite.Binding{}, NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if last, err = st.LastSeq(ctx); err != nil {
		t.Fatal(err)
	}
	if depth, err = st.OutboxDepth(ctx); err != nil {
		t.Fatal(err)
	}
	return last, depth
}

// proxy forwards TCP connections to target until it is cut: cut closes
// every connection and refuses new ones until restore.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url() string { return "tcp://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.down { // cut while dialling
			p.mu.Unlock()
			c.Close()
			up.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(up, c) })
		p.wg.Go(func() { p.pipe(c, up) })
	}
}

// pipe copies until either side ends, then closes both.
func (p *proxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
	dst.Close()
	src.Close()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}

// gatedStore is the region's real store with a gate in front of Ingest:
// while the gate is closed, the ingester that calls Ingest waits, and with
// one ingester fetching one message at a time the region stops consuming
// its stream.
type gatedStore struct {
	store.Store

	mu   sync.Mutex
	gate chan struct{}      // nil when open
	held chan store.Message // receives the message waiting at a closed gate
}

func (g *gatedStore) Ingest(ctx context.Context, m store.Message) (store.Outcome, error) {
	g.mu.Lock()
	gate, held := g.gate, g.held
	g.mu.Unlock()
	if gate != nil {
		select {
		case held <- m:
		default: // the first one waiting was reported
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, ctx.Err() // handed back, delivered again
		}
	}
	return g.Store.Ingest(ctx, m)
}

// close stops ingestion; the message that waits is then sent on the
// returned channel.
func (g *gatedStore) close() <-chan store.Message {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.held = make(chan struct{}), make(chan store.Message, 1)
	return g.held
}

func (g *gatedStore) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

// openReadOnly opens a SQLite file read-only with plain SQL, to look at
// the region's rows as they are.
func openReadOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db := sql.OpenDB(connector{dsn: "file:" + path + "?mode=ro", drv: sqlite.Binding{}.Driver(nil)})
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	return db
}

type connector struct {
	dsn string
	drv driver.Driver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }
