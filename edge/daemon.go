package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/live"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/monitor"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
	"github.com/dozor-edge/dozor/recognizer/track"
	"github.com/dozor-edge/dozor/sync/uplink"
	"github.com/dozor-edge/dozor/sync/wire"
)

// Deps are the daemon's collaborators and the knobs tests turn. The
// collaborators that link C libraries (SQLite, OpenCV and dlib,
// libavcodec) are built by the caller and handed in, so that this package
// builds and tests without cgo: OpenStore, NewEngine and Decoders are
// required.
type Deps struct {
	// OpenStore opens the facility store (cmd/edged: edge/store over
	// internal/sqlite, making the key on the very first start). Run calls
	// it first, since nothing may be recognised that could not be
	// recorded, and closes the store when it stops; its error is fatal.
	OpenStore func() (Store, error)
	// NewEngine builds the engine of one recognizer worker (cmd/edged:
	// internal/engines, which verifies the model files, size and sha256,
	// before any byte reaches OpenCV); its error is fatal.
	NewEngine func() (recognizer.Engine, error)
	// Decoders opens the cameras' video decoders (cmd/edged: libavcodec).
	Decoders camera.DecoderFactory
	// Decode decodes an uploaded photo into at most maxSide pixels on its
	// longest side (cmd/edged: the recognizer's safe decoder,
	// opencv.DecodeImage), for enrolment and search in the monitor.
	Decode func(data []byte, maxSide int) (*recognizer.Image, error)
	// Logger receives everything the daemon logs; nil discards.
	Logger *slog.Logger
	// Version is the software version reported to the region and on
	// /healthz.
	Version string
	// RevisionEvery is how often the store is checked for enrolment and
	// rules changes (default 10 s).
	RevisionEvery time.Duration
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
	// Budget adjusts the embedding budget (track.Budget, defaults for the
	// tracker configuration); Refresh 1 embeds every usable face.
	Budget func(*track.Budget)
}

func (d Deps) check() error {
	var missing []string
	if d.OpenStore == nil {
		missing = append(missing, "OpenStore")
	}
	if d.NewEngine == nil {
		missing = append(missing, "NewEngine")
	}
	if d.Decoders == nil {
		missing = append(missing, "Decoders")
	}
	if d.Decode == nil {
		missing = append(missing, "Decode")
	}
	if len(missing) > 0 {
		return fmt.Errorf("edge: Deps.%s not set", strings.Join(missing, ", Deps."))
	}
	return nil
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
	st         Store
	holder     *gallery.Holder
	gInfo      atomic.Pointer[galleryInfo]
	cams       []*camera.Camera
	up         *uplink.Uplink
	gsync      *gallerySync
	model      recognizer.ModelID
	engineName string
	workers    int
	rulesCount atomic.Int64
	unstored   *unstored
	depth      depthCache

	// The embedding budget: the tracker configuration and the budget the
	// workers apply, and the cameras' live tracks they apply it to.
	trCfg  track.Config
	budget track.Budget
	live   *liveTracks
	// engines are the workers' engines, which an idle worker lends.
	engines *enginePool
	// capacity is the share of sampled frames dropped before recognition.
	capacity capacity

	// The guard-post monitor's feeds: each camera's live video (nil for
	// none), its latest picture, the events of the pipeline, the names
	// drawn over the video, and the engine of interactive requests.
	hubs          []*live.Hub
	snaps         *snapshots
	events        *monitor.Hub
	names         atomic.Pointer[map[string]string]
	regions       atomic.Pointer[map[string][]store.Point]
	interactive   *interactive
	decisionTopic string
	startedAt     time.Time
}

// New checks the configuration and returns a daemon ready to Run. Nothing
// is opened yet.
func New(cfg config.Config, deps Deps) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := deps.check(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{
		cfg: cfg, deps: deps, log: log.With("site", cfg.Site.ID), baseLog: log, m: newMetrics(),
		reload: make(chan struct{}, 1), ready: make(chan struct{}),
		unstored: &unstored{}, snaps: newSnapshots(), events: monitor.NewHub(),
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
	d.startedAt = time.Now()
	p := &parts{}
	defer func() {
		if cerr := p.close(d.log); cerr != nil && err == nil {
			err = fatal("store", cerr)
		}
	}()
	if err := d.build(ctx, p); err != nil {
		return err
	}
	if ctx.Err() != nil {
		p.ln.Close()
		return nil
	}
	st := d.start(ctx, p)
	d.log.Info("dozor edge daemon running", "cameras", len(d.cams), "http", d.HTTPAddr(), "version", d.deps.Version)
	close(d.ready)

	<-ctx.Done()
	d.stop(st, p)
	return nil
}

// parts is what build makes and close releases: the store, the engines
// and everything wired to them, before any goroutine runs.
type parts struct {
	engs      []recognizer.Engine
	dim       int
	latest    *camera.Latest
	camStatus *cameraStatusWatcher
	loop      *sightingsLoop
	ln        net.Listener
	srv       *http.Server
	st        Store

	interactive *interactive
}

// close releases the engines and closes the store; the error is the
// store's.
func (p *parts) close(log *slog.Logger) error {
	for _, e := range p.engs {
		e.Close()
	}
	if p.interactive != nil {
		p.interactive.close()
	}
	if p.st == nil {
		return nil
	}
	err := p.st.Close()
	if err != nil {
		log.Error("closing the store", "err", err)
	}
	return err
}

// build opens the store, builds one engine per worker, loads the gallery
// and the rules and wires the stages together, in that order: nothing may
// be recognised that could not be recorded. Its errors are fatal.
func (d *Daemon) build(ctx context.Context, p *parts) error {
	cfg, log := d.cfg, d.log
	st, err := d.deps.OpenStore()
	if err != nil {
		return fatal("store", err)
	}
	p.st, d.st = st, st

	d.workers = cfg.Workers()
	for range d.workers {
		e, err := d.deps.NewEngine()
		if err != nil {
			return fatal("models", err)
		}
		p.engs = append(p.engs, e)
	}
	d.model, d.engineName, p.dim = p.engs[0].Model(), p.engs[0].Name(), p.engs[0].Dim()
	for _, e := range p.engs[1:] {
		if e.Model() != d.model || e.Dim() != p.dim {
			return fatal("models", fmt.Errorf("workers built different engines: %s and %s", d.model, e.Model()))
		}
	}
	log.Info("recognizer ready", "engine", d.engineName, "model", string(d.model), "workers", d.workers)

	if err := ensureCameras(ctx, st, cfg.Cameras); err != nil {
		return fatal("store", fmt.Errorf("registering the configured cameras: %w", err))
	}
	snap, err := loadGallery(ctx, st, d.model, p.dim)
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

	// The uplink drains the store's outbox; it names the site in its own
	// log lines.
	ob := outbox{st: st}
	ucfg := cfg.UplinkConfig()
	if d.deps.Uplink != nil {
		d.deps.Uplink(&ucfg)
	}
	if d.gsync, err = d.newGallerySync(st); err != nil {
		return fatal("config", err)
	}
	if d.up, err = uplink.New(ucfg, ob, d.baseLog, uplink.Options{Status: d.siteStatus,
		OnGalleryRevision: d.gsync.chunk, OnConnect: d.gsync.connect}); err != nil {
		return fatal("uplink", err)
	}
	d.gsync.notify = d.up.Notify

	p.latest = camera.NewLatest()
	for _, cc := range cfg.Cameras {
		hub := live.NewHub(cc.ID, log)
		cam, err := camera.New(d.cameraConfig(cc), camera.Options{Logger: log, Decoders: d.deps.Decoders, Out: p.latest, Live: hub})
		if err != nil {
			return fatal("config", err)
		}
		d.cams = append(d.cams, cam)
		d.hubs = append(d.hubs, hub)
	}
	if p.camStatus, err = newCameraStatusWatcher(cfg.Site.Region, cfg.Site.ID, d.cams, d.up, log); err != nil {
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
	d.trCfg = trCfg
	d.budget = track.Budget{}
	if d.deps.Budget != nil {
		d.deps.Budget(&d.budget)
	}
	if err := d.budget.Validate(trCfg); err != nil {
		return fatal("config", err)
	}
	d.budget = d.budget.WithDefaults(trCfg)
	d.live = &liveTracks{}
	p.loop, err = newSightingsLoop(st, d.up.Notify, log, d.m, cfg.Site.Region, cfg.Site.ID, cfg.Uplink.MaxCropBytes,
		d.model, trCfg, sr, d.deps.BacklogLimit, d.unstored)
	if err != nil {
		return fatal("config", err)
	}
	p.loop.watch = watcher{stored: d.stored, seen: d.seen, live: d.live.set}
	d.loadNames(ctx)
	d.loadRegions(ctx)

	if d.decisionTopic, err = wire.AlertDecisionTopic(cfg.Site.Region, cfg.Site.ID); err != nil {
		return fatal("config", err)
	}
	d.interactive = &interactive{build: d.deps.NewEngine, gallery: d.holder}
	p.interactive = d.interactive
	mon, err := d.newMonitor()
	if err != nil {
		return fatal("http", err)
	}
	if p.ln, err = d.listen(); err != nil {
		return fatal("http", err)
	}
	p.srv = &http.Server{Handler: d.handler(mon.Handler()), ReadHeaderTimeout: 10 * time.Second}
	d.httpAddr.Store(p.ln.Addr().String())
	d.warnPlainHTTP(p.ln.Addr())
	return nil
}

// stages are the running goroutines, one group per stage, each with its
// own context so that shutdown runs in order whatever the caller's context
// does.
type stages struct {
	base                       context.Context
	stopCams, stopWork, stopUp context.CancelFunc
	stopAux                    context.CancelFunc
	cams, work, loop, up, aux  errgroup.Group
	results                    chan frameResult
}

// start runs every stage.
func (d *Daemon) start(ctx context.Context, p *parts) *stages {
	s := &stages{base: context.WithoutCancel(ctx), results: make(chan frameResult, 2*d.workers)}
	camCtx, workCtx, upCtx, auxCtx := s.base, s.base, s.base, s.base
	camCtx, s.stopCams = context.WithCancel(s.base)
	workCtx, s.stopWork = context.WithCancel(s.base)
	upCtx, s.stopUp = context.WithCancel(s.base)
	auxCtx, s.stopAux = context.WithCancel(s.base)

	rulesCh := make(chan *siteRules, 1)
	s.loop.Go(func() error { p.loop.run(s.base, s.results, rulesCh); return nil })
	d.engines = newEnginePool(p.engs)
	for _, e := range p.engs {
		s.work.Go(func() error { return d.worker(workCtx, e, p.latest, s.results) })
	}
	for _, c := range d.cams {
		s.cams.Go(func() error { return c.Run(camCtx) })
	}
	s.cams.Go(func() error { p.camStatus.run(camCtx); return nil })
	s.up.Go(func() error { return d.up.Run(upCtx) })
	s.aux.Go(func() error {
		if err := p.srv.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("HTTP server stopped", "err", err)
		}
		return nil
	})
	s.aux.Go(func() error { d.watchStore(auxCtx, p.dim, rulesCh); return nil })
	s.aux.Go(func() error { d.gsync.run(auxCtx); return nil })
	s.aux.Go(func() error { d.watchCapacity(auxCtx); return nil })
	return s
}

// stop shuts the stages down in order: the cameras, then the workers with
// the frames still waiting, the sightings loop (ending every track), the
// uplink after a short grace to publish, and last the HTTP server and the
// store watcher.
func (d *Daemon) stop(s *stages, p *parts) {
	d.log.Info("stopping")
	s.stopCams()
	_ = s.cams.Wait()
	p.camStatus.check(true) // the cameras are stopped: say so while the uplink is still up
	s.stopWork()
	_ = s.work.Wait()
	d.recErrs.Flush()
	close(s.results)
	_ = s.loop.Wait()
	d.flushOutbox(s.base, d.up, uplinkGrace)
	s.stopUp()
	_ = s.up.Wait()
	s.stopAux()
	sctx, cancel := context.WithTimeout(s.base, 5*time.Second)
	_ = p.srv.Shutdown(sctx)
	cancel()
	_ = s.aux.Wait()
	d.log.Info("stopped")
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

// cameraConfig derives a camera's configuration. An unreadable
// credentials file is logged and the camera is tried without credentials,
// so the problem shows as a camera refusing access rather than as a
// daemon that does not start.
func (d *Daemon) cameraConfig(cc config.Camera) camera.Config {
	c, err := d.cfg.CameraConfig(cc)
	if err != nil {
		d.log.Error("camera credentials file unreadable; trying the camera without credentials", "camera", cc.ID, "err", err)
	}
	if d.deps.Camera != nil {
		d.deps.Camera(&c)
	}
	return c
}

// siteStatus is what the uplink publishes as the site's status. Its
// LastSeq lets the region notice a lost newest message without waiting
// for the next one; when the store cannot say, it stays 0 (unknown).
func (d *Daemon) siteStatus() wire.SiteStatus {
	up := 0
	for _, c := range d.cams {
		if c.Health().State == camera.StateStreaming {
			up++
		}
	}
	st := wire.SiteStatus{Version: d.deps.Version, CamerasUp: up, CamerasTotal: len(d.cams)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	last, err := d.st.LastSeq(ctx)
	if err != nil {
		d.log.Warn("site status without last_seq: the outbox's last seq is unreadable", "err", err)
	} else {
		st.LastSeq = last
	}
	return st
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
		before := rev.after
		galleryChanged, rulesChanged, err := rev.scan(ctx, d.st)
		if err != nil && ctx.Err() == nil {
			log.Warn("could not read the store's audit log for changes", "err", err)
		}
		if rev.after != before {
			// Another process (edgectl, the web UI) wrote to the store:
			// its audit records are in the outbox, to be sent now rather
			// than at the uplink's next poll.
			d.up.Notify()
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
		if forced || rulesChanged || galleryChanged {
			d.loadNames(ctx)
			d.loadRegions(ctx)
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

func (c *depthCache) get(ctx context.Context, st Store) (int, error) {
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
