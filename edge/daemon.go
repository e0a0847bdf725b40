package edge

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
	"github.com/dozor-edge/dozor/recognizer/opencv"
	"github.com/dozor-edge/dozor/recognizer/track"
	"github.com/dozor-edge/dozor/sync/uplink"
	"github.com/dozor-edge/dozor/sync/wire"
)

// Deps are the daemon's collaborators and the knobs tests turn. The zero
// value runs the real thing.
type Deps struct {
	// Logger receives everything the daemon logs; nil discards.
	Logger *slog.Logger
	// NewEngine builds the engine of one recognizer worker. Nil means
	// internal/engines.New for cfg.Models, which verifies the model files
	// (size and sha256) before any byte reaches OpenCV.
	NewEngine func() (recognizer.Engine, error)
	// Decoders opens the cameras' video decoders; nil means libavcodec.
	Decoders camera.DecoderFactory
	// Version is the software version reported to the region and on
	// /healthz.
	Version string
	// RevisionEvery is how often the store is checked for enrolment and
	// rules changes (default 10 s).
	RevisionEvery time.Duration
	// AuditEvery is how often new audit entries are shipped to the outbox
	// (default 1 s).
	AuditEvery time.Duration
	// BacklogLimit bounds the events kept in memory while the store cannot
	// take them (default DefaultBacklogLimit).
	BacklogLimit int
	// Uplink adjusts the uplink's configuration after it was derived from
	// cfg.Uplink (timeouts, backoff); nil leaves the defaults.
	Uplink func(*uplink.Config)
	// Camera adjusts each camera's configuration; nil leaves the defaults.
	Camera func(*camera.Config)
	// Track adjusts the tracker configuration derived from cfg.Recognizer.
	Track func(*track.Config)
}

// Daemon is the facility daemon. Create it with New and call Run once;
// Ready, HTTPAddr and Reload may be called from any goroutine.
type Daemon struct {
	cfg     config.Config
	deps    Deps
	log     *slog.Logger // with the site
	baseLog *slog.Logger
	m       *metrics

	running  atomic.Bool
	reload   chan struct{}
	ready    chan struct{}
	httpAddr atomic.Value // string, set before ready closes

	recErrs *every

	// Set by Run before ready closes and not changed after; read by the
	// HTTP handlers and the workers.
	st         *store.Store
	holder     *gallery.Holder
	gInfo      atomic.Pointer[galleryInfo]
	cams       []*camera.Camera
	up         *uplink.Uplink
	model      recognizer.ModelID
	engineName string
	workers    int
	rulesCount atomic.Int64
	unstored   *unstored
	depth      depthCache
	startedAt  time.Time
}

// New checks the configuration and returns a daemon ready to Run. Nothing
// is opened yet.
func New(cfg config.Config, deps Deps) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{
		cfg: cfg, deps: deps, log: log.With("site", cfg.Site.ID), baseLog: log, m: newMetrics(),
		reload: make(chan struct{}, 1), ready: make(chan struct{}),
		unstored: &unstored{},
	}
	d.recErrs = newEvery(d.log.With("component", "recognizer"), slog.LevelWarn, "recognition errors", time.Minute)
	d.httpAddr.Store("")
	return d, nil
}

// Ready is closed once the daemon serves: store open, engines built,
// gallery loaded, HTTP listening.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// HTTPAddr is the address /healthz and /metrics are served on, once
// Ready is closed (useful when the configured port is 0).
func (d *Daemon) HTTPAddr() string { return d.httpAddr.Load().(string) }

// Reload asks for the gallery and the rules to be rebuilt from the store,
// as after an enrolment (SIGHUP does this). It never blocks; the store is
// also checked for changes every RevisionEvery.
func (d *Daemon) Reload() {
	select {
	case d.reload <- struct{}{}:
	default:
	}
}

// FatalError is a reason the daemon cannot start: the configuration, the
// models or the store. The supervisor restarts the process; an operator
// has to act.
type FatalError struct {
	What string // "store", "models", "config", "gallery", "http", "uplink"
	Err  error
}

func (e *FatalError) Error() string {
	msg := e.Err.Error()
	if strings.HasPrefix(msg, e.What+":") {
		return msg // the cause already says where it comes from
	}
	return e.What + ": " + msg
}
func (e *FatalError) Unwrap() error { return e.Err }

func fatal(what string, err error) error { return &FatalError{What: what, Err: err} }

// WorkerCount is the number of recognizer workers for the configuration.
func WorkerCount(cfg config.Config) int {
	if cfg.Recognizer.Workers > 0 {
		return cfg.Recognizer.Workers
	}
	return runtime.NumCPU()
}

// Run starts everything, serves until ctx ends and then shuts down in
// order: cameras stop, the frames in flight are recognised, every track
// is ended and stored, the uplink says goodbye, the store closes. It
// returns nil after a clean stop and a *FatalError when it cannot start;
// camera, broker and recognition trouble is logged and retried, never
// returned.
func (d *Daemon) Run(ctx context.Context) (err error) {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("edge: Run called twice")
	}
	cfg := d.cfg
	d.startedAt = time.Now()
	log := d.log

	// The store first: nothing may be recognised that could not be
	// recorded.
	if err := firstKey(cfg.Store, log); err != nil {
		return fatal("store", err)
	}
	st, err := store.Open(cfg.Store.Path, store.Options{KeyFile: cfg.Store.KeyFile, Logger: log.With("component", "store")})
	if err != nil {
		return fatal("store", err)
	}
	d.st = st
	defer func() {
		if cerr := st.Close(); cerr != nil {
			log.Error("closing the store", "err", cerr)
			if err == nil {
				err = fatal("store", cerr)
			}
		}
	}()

	// One engine per worker, each verifying the model files first.
	d.workers = WorkerCount(cfg)
	newEngine := d.deps.NewEngine
	if newEngine == nil {
		det := opencv.DefaultDetectorConfig
		det.MaxSide = cfg.Models.DetectionSize
		newEngine = func() (recognizer.Engine, error) { return engines.New(cfg.Models.Dir, cfg.Models.Engine, det) }
		// Workers run side by side; OpenCV's own thread pool would
		// oversubscribe the cores if each used all of them.
		opencv.SetNumThreads(max(1, runtime.NumCPU()/d.workers))
	}
	engs := make([]recognizer.Engine, 0, d.workers)
	defer func() {
		for _, e := range engs {
			e.Close()
		}
	}()
	for range d.workers {
		e, err := newEngine()
		if err != nil {
			return fatal("models", err)
		}
		engs = append(engs, e)
	}
	d.model, d.engineName = engs[0].Model(), engs[0].Name()
	dim := engs[0].Dim()
	for _, e := range engs[1:] {
		if e.Model() != d.model || e.Dim() != dim {
			return fatal("models", fmt.Errorf("workers built different engines: %s and %s", d.model, e.Model()))
		}
	}
	log.Info("recognizer ready", "engine", d.engineName, "model", string(d.model), "workers", d.workers)

	if err := ensureCameras(ctx, st, cfg.Cameras); err != nil {
		return fatal("store", fmt.Errorf("registering the configured cameras: %w", err))
	}
	snap, err := loadGallery(ctx, st, d.model, dim)
	if err != nil {
		return fatal("gallery", err)
	}
	d.holder = gallery.NewHolder(snap)
	d.setGallery(snap, nil)
	log.Info("gallery loaded", "templates", snap.Len(), "persons", snap.Persons())

	sr, err := loadRules(ctx, st, cfg.Site)
	if err != nil {
		log.Error("the stored rules do not compile; no rule fires until they are fixed", "err", err)
		sr = emptyRules(cfg.Site)
	}
	d.rulesCount.Store(int64(sr.count))

	// The uplink drains the store's outbox.
	ob := &outbox{st: st, maxCrop: cfg.Uplink.MaxCropBytes, onCrop: func(error) { d.m.cropErrors.Inc() }}
	ucfg := UplinkConfig(cfg)
	if d.deps.Uplink != nil {
		d.deps.Uplink(&ucfg)
	}
	// The uplink names the site in its own log lines.
	up, err := uplink.New(ucfg, ob, d.baseLog, uplink.Options{Status: d.siteStatus})
	if err != nil {
		return fatal("uplink", err)
	}
	d.up = up

	// Cameras.
	latest := camera.NewLatest()
	decoders := d.deps.Decoders
	if decoders == nil {
		decoders = avcodec.Factory(avcodec.Options{})
	}
	for _, cc := range cfg.Cameras {
		ccfg, err := d.cameraConfig(cc)
		if err != nil {
			return fatal("config", err)
		}
		cam, err := camera.New(ccfg, camera.Options{Logger: log, Decoders: decoders, Out: latest})
		if err != nil {
			return fatal("config", err)
		}
		d.cams = append(d.cams, cam)
	}
	camStatus, err := newCameraStatusWatcher(cfg.Site.Region, cfg.Site.ID, d.cams, up, log)
	if err != nil {
		return fatal("config", err)
	}

	trCfg := track.Config{
		Threshold: float32(cfg.Recognizer.Threshold),
		MinMargin: float32(cfg.Recognizer.Margin),
		MinFrames: cfg.Recognizer.MinFrames,
	}
	if d.deps.Track != nil {
		d.deps.Track(&trCfg)
	}
	loop, err := newSightingsLoop(st, up.Notify, log, d.m, cfg.Site.Region, cfg.Site.ID, d.model, trCfg, sr,
		d.deps.BacklogLimit, d.unstored)
	if err != nil {
		return fatal("config", err)
	}

	auditShip, err := newAuditShipper(st, up.Notify, log, cfg.Site.Region, cfg.Site.ID,
		auditMarkerPath(cfg.Store.Path), d.deps.AuditEvery)
	if err != nil {
		return fatal("store", err)
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fatal("http", err)
	}
	srv := &http.Server{Handler: d.handler(), ReadHeaderTimeout: 10 * time.Second}
	d.httpAddr.Store(ln.Addr().String())

	if ctx.Err() != nil {
		ln.Close()
		return nil
	}

	// Every stage has its own context, so that shutdown runs in order
	// whatever the caller's context does.
	base := context.WithoutCancel(ctx)
	camCtx, stopCams := context.WithCancel(base)
	workCtx, stopWork := context.WithCancel(base)
	upCtx, stopUp := context.WithCancel(base)
	auxCtx, stopAux := context.WithCancel(base)
	shipCtx, stopShip := context.WithCancel(base)
	defer stopShip()
	defer stopCams()
	defer stopWork()
	defer stopUp()
	defer stopAux()

	results := make(chan frameResult, 2*d.workers)
	rulesCh := make(chan *siteRules, 1)
	var camG, workG, loopG, upG, auxG, shipG errgroup.Group

	loopG.Go(func() error { loop.run(base, results, rulesCh); return nil })
	for _, e := range engs {
		workG.Go(func() error { return d.worker(workCtx, e, latest, results) })
	}
	for _, c := range d.cams {
		camG.Go(func() error { return c.Run(camCtx) })
	}
	camG.Go(func() error { camStatus.run(camCtx); return nil })
	upG.Go(func() error { return up.Run(upCtx) })
	shipG.Go(func() error { auditShip.run(shipCtx); return nil })
	auxG.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", "err", err)
		}
		return nil
	})
	auxG.Go(func() error { d.watchStore(auxCtx, dim, rulesCh); return nil })

	log.Info("dozor edge daemon running", "cameras", len(d.cams), "http", d.HTTPAddr(), "version", d.deps.Version)
	close(d.ready)

	<-ctx.Done()
	log.Info("stopping")
	stopCams()
	_ = camG.Wait()
	camStatus.check(true) // the cameras are stopped: say so while the uplink is still up
	stopWork()
	_ = workG.Wait()
	d.recErrs.Flush()
	close(results)
	_ = loopG.Wait()
	stopShip() // its last pass ships what the stages before it audited
	_ = shipG.Wait()
	d.flushOutbox(base, up, uplinkGrace)
	stopUp()
	_ = upG.Wait()
	stopAux()
	sctx, cancel := context.WithTimeout(base, 5*time.Second)
	_ = srv.Shutdown(sctx)
	cancel()
	_ = auxG.Wait()
	log.Info("stopped")
	return nil
}

// uplinkGrace bounds how long shutdown waits for the broker to take the
// last sightings (those of the tracks ended at shutdown). What is not sent
// by then stays in the outbox for the next start.
const uplinkGrace = 3 * time.Second

// flushOutbox gives a connected uplink up to grace to empty the outbox.
func (d *Daemon) flushOutbox(ctx context.Context, up *uplink.Uplink, grace time.Duration) {
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && up.Stats().Connected {
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		n, err := d.st.OutboxDepth(qctx)
		cancel()
		if err != nil || n == 0 {
			return
		}
		up.Notify()
		time.Sleep(50 * time.Millisecond)
	}
}

// firstKey makes the store's key on the very first start, when neither the
// database nor the key exists: nothing can be lost then. A database whose
// key is missing is never given a new one (store.Open refuses it).
func firstKey(c config.Store, log *slog.Logger) error {
	if _, err := os.Stat(c.KeyFile); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(c.Path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := store.GenerateKeyFile(c.KeyFile); err != nil {
		return fmt.Errorf("first start: creating the key file: %w", err)
	}
	log.Warn("first start: created a new store key; back it up away from the database, losing it makes the templates and crops unreadable",
		"key_file", c.KeyFile)
	return nil
}

// UplinkConfig is the uplink configuration the daemon derives from its
// own; the hardware test connects with exactly this.
func UplinkConfig(cfg config.Config) uplink.Config {
	u := uplink.DefaultConfig()
	u.Brokers = []string{cfg.Uplink.Broker}
	u.ClientID = cfg.Uplink.ClientID
	u.Username = cfg.Uplink.Username
	u.PasswordFile = cfg.Uplink.PasswordFile
	u.CAFile = cfg.Uplink.CAFile
	u.CertFile = cfg.Uplink.CertFile
	u.KeyFile = cfg.Uplink.KeyFile
	u.Region = cfg.Site.Region
	u.Site = cfg.Site.ID
	u.KeepAlive = cfg.Uplink.KeepAlive
	return u
}

// cameraConfig derives a camera's configuration. An unreadable
// credentials file is logged and the camera is tried without credentials,
// so the problem shows as a camera refusing access rather than as a
// daemon that does not start.
func (d *Daemon) cameraConfig(cc config.Camera) (camera.Config, error) {
	c, err := CameraConfig(d.cfg, cc)
	if err != nil {
		d.log.Error("camera credentials file unreadable; trying the camera without credentials", "camera", cc.ID, "err", err)
	}
	if d.deps.Camera != nil {
		d.deps.Camera(&c)
	}
	return c, nil
}

// CameraConfig is the camera configuration the daemon derives for cc:
// credentials from the camera's credentials file (one line,
// user:password), the detection rate, and frames scaled to the detection
// size. When the credentials file cannot be read it returns the
// configuration without credentials together with the error.
func CameraConfig(cfg config.Config, cc config.Camera) (camera.Config, error) {
	fps := cc.DetectFPS
	if fps == 0 {
		fps = cfg.Recognizer.DetectFPS
	}
	c := camera.Config{ID: cc.ID, URL: cc.URL, Transport: cc.Transport, SampleRate: fps, MaxSide: cfg.Models.DetectionSize}
	if cc.CredentialsFile == "" {
		return c, nil
	}
	b, err := os.ReadFile(cc.CredentialsFile)
	if err != nil {
		return c, fmt.Errorf("camera %s: credentials_file: %w", cc.ID, err)
	}
	u, err := url.Parse(cc.URL)
	if err != nil {
		return c, fmt.Errorf("camera %s: url: %w", cc.ID, err)
	}
	user, pass, _ := strings.Cut(strings.TrimRight(string(b), "\r\n"), ":")
	u.User = url.UserPassword(user, pass)
	c.URL = u.String()
	return c, nil
}

// siteStatus is what the uplink publishes as the site's status.
func (d *Daemon) siteStatus() wire.SiteStatus {
	up := 0
	for _, c := range d.cams {
		if c.Health().State == camera.StateStreaming {
			up++
		}
	}
	return wire.SiteStatus{Version: d.deps.Version, CamerasUp: up, CamerasTotal: len(d.cams)}
}

func (d *Daemon) setGallery(s *gallery.Snapshot, err error) {
	old := d.gInfo.Load()
	gi := galleryInfo{}
	if old != nil {
		gi = *old
	}
	if s != nil {
		gi = galleryInfo{Templates: s.Len(), Persons: s.Persons(), Model: string(s.Model()), LoadedAt: time.Now()}
	}
	gi.Error = ""
	if err != nil {
		gi.Error = err.Error()
	}
	d.gInfo.Store(&gi)
}

// watchStore rebuilds the gallery and the rules when the store changed
// (seen in its audit log) or when asked to.
func (d *Daemon) watchStore(ctx context.Context, dim int, rulesCh chan *siteRules) {
	every := d.deps.RevisionEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	rev := &revision{marker: "model:" + string(d.model)}
	log := d.log.With("component", "gallery")
	for {
		forced := false
		select {
		case <-ctx.Done():
			return
		case <-d.reload:
			forced = true
		case <-t.C:
			d.recErrs.Tick()
		}
		galleryChanged, rulesChanged, err := rev.scan(ctx, d.st)
		if err != nil && ctx.Err() == nil {
			log.Warn("could not read the store's audit log for changes", "err", err)
		}
		if forced || galleryChanged {
			snap, err := loadGallery(ctx, d.st, d.model, dim)
			if err != nil {
				d.m.galleryErrors.Inc()
				d.setGallery(nil, err)
				log.Error("gallery reload failed; the previous gallery stays in use", "err", err)
			} else {
				d.holder.Swap(snap)
				d.setGallery(snap, nil)
				d.m.galleryReloads.Inc()
				log.Info("gallery reloaded", "templates", snap.Len(), "persons", snap.Persons())
			}
		}
		if forced || rulesChanged {
			sr, err := loadRules(ctx, d.st, d.cfg.Site)
			if err != nil {
				log.Error("rules reload failed; the previous rules stay in force", "err", err)
				continue
			}
			d.rulesCount.Store(int64(sr.count))
			select {
			case <-rulesCh: // replace a snapshot not yet taken
			default:
			}
			rulesCh <- sr
			log.Info("rules reloaded", "rules", sr.count)
		}
	}
}

// depthCache keeps the outbox depth for the handlers, refreshed at most
// once a second so that scrapes do not query the store each time.
type depthCache struct {
	mu    sync.Mutex
	at    time.Time
	depth int
	err   error
}

func (c *depthCache) get(ctx context.Context, st *store.Store) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) < time.Second {
		return c.depth, c.err
	}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c.depth, c.err = st.OutboxDepth(qctx)
	c.at = time.Now()
	return c.depth, c.err
}
