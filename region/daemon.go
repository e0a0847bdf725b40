package region

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/region/broker"
	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/dashboard"
	"github.com/dozor-edge/dozor/region/enrol"
	"github.com/dozor-edge/dozor/region/gallery"
	"github.com/dozor-edge/dozor/region/ingest"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/gallerysync"
)

// Deps are the daemon's collaborators. The store links SQLite (a C
// library) or PostgreSQL depending on the configuration, so the caller
// builds it: OpenStore is required.
type Deps struct {
	// OpenStore opens the region's store (cmd/regiond: region/cgodeps).
	// Run calls it after the broker is up and closes the store last; its
	// error is fatal.
	OpenStore func() (store.Store, error)
	// Logger receives everything the daemon logs; nil discards.
	Logger *slog.Logger
	// Version is the software version reported on /healthz.
	Version string
	// Broker adjusts the embedded node's configuration after it was
	// derived from cfg.Broker; nil leaves it as derived.
	Broker func(*broker.Config)
	// Ingest adjusts each ingester's configuration; nil leaves the
	// defaults.
	Ingest func(*ingest.Config)
	// NewEngine builds the recognition engine that enrolment at the region
	// runs (cmd/regiond: region/cgodeps, from models.*). Nil, or an
	// engine that cannot be built (no model files), turns enrolment at
	// the region off; the rest of the daemon runs.
	NewEngine func() (recognizer.Engine, error)
	// Decode decodes an uploaded photo into at most maxSide pixels on its
	// longer side (opencv.DecodeImage); required with NewEngine.
	Decode func(data []byte, maxSide int) (*recognizer.Image, error)
	// Gallery adjusts the gallery publisher's configuration; nil leaves
	// it as derived from cfg.
	Gallery func(*gallery.Config)
}

// Daemon is the region daemon. Create it with New and call Run once;
// Ready, HTTPAddr and MQTTURL may be called from any goroutine.
type Daemon struct {
	cfg  config.Config
	deps Deps
	log  *slog.Logger

	running  atomic.Bool
	ready    chan struct{}
	httpAddr atomic.Value // string, set before ready closes
	mqttURL  atomic.Value // string, set before ready closes
	started  time.Time

	// Set by Run before ready closes and not changed after; read by the
	// HTTP handlers.
	b       *broker.Broker // nil with an external cluster
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  string
	st      store.Store
	ingests []*ingest.Ingester
	pub     *gallery.Publisher
	pubKey  string          // the signing key's public half, as the sites configure it
	enrol   *enrol.Enroller // nil: enrolment at the region is off
	cache   snapshotCache
}

// New checks the configuration and returns a daemon ready to Run. Nothing
// is opened yet.
func New(cfg config.Config, deps Deps) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fatal("config", err)
	}
	if deps.OpenStore == nil {
		return nil, errors.New("region: Deps.OpenStore not set")
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{cfg: cfg, deps: deps, log: log.With("region", cfg.Region.ID), ready: make(chan struct{})}
	d.httpAddr.Store("")
	d.mqttURL.Store("")
	return d, nil
}

// Ready is closed once the daemon serves: broker up, stream set up, store
// open, ingesters consuming, HTTP listening.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// HTTPAddr is the address /healthz and /metrics are served on, once Ready
// is closed (useful when the configured port is 0).
func (d *Daemon) HTTPAddr() string { return d.httpAddr.Load().(string) }

// Publisher is the gallery publisher, once Ready is closed: kick it after
// a change of the master gallery (Kick("")).
func (d *Daemon) Publisher() *gallery.Publisher { return d.pub }

// Enroller is enrolment at the region once Ready is closed; nil when it
// is off (no engine).
func (d *Daemon) Enroller() *enrol.Enroller { return d.enrol }

// MQTTURL is the embedded node's MQTT listener (tcp:// or ssl://), once
// Ready is closed; empty with an external cluster.
func (d *Daemon) MQTTURL() string { return d.mqttURL.Load().(string) }

// FatalError is a reason the daemon cannot start. The supervisor restarts
// the process; an operator has to act.
type FatalError struct {
	What string // "config", "broker", "store", "gallery", "ingest", "http"
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

// Run starts everything, serves until ctx ends and then stops in order:
// the ingesters, the HTTP server, the NATS connection, the embedded
// broker, the store. It returns nil after a clean stop and a *FatalError
// when it cannot start.
func (d *Daemon) Run(ctx context.Context) (err error) {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("region: Run called twice")
	}
	d.started = time.Now()
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

	base := context.WithoutCancel(ctx)
	ingCtx, stopIngest := context.WithCancel(base)
	defer stopIngest()
	var ing, srv errgroup.Group
	for _, in := range d.ingests {
		ing.Go(func() error {
			if err := in.Run(ingCtx); err != nil && ingCtx.Err() == nil {
				d.log.Error("ingester stopped", "err", err)
			}
			return nil
		})
	}
	ing.Go(func() error {
		if err := d.pub.Run(ingCtx); err != nil {
			d.log.Error("gallery publisher stopped", "err", err)
		}
		return nil
	})
	srv.Go(func() error {
		if err := p.srv.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("HTTP server stopped", "err", err)
		}
		return nil
	})
	d.log.Info("dozor region daemon running", "mqtt", d.MQTTURL(), "http", d.HTTPAddr(),
		"ingesters", len(d.ingests), "stream", d.stream, "version", d.deps.Version)
	close(d.ready)

	<-ctx.Done()
	d.log.Info("stopping")
	stopIngest()
	_ = ing.Wait()
	sctx, cancel := context.WithTimeout(base, 5*time.Second)
	_ = p.srv.Shutdown(sctx)
	cancel()
	_ = srv.Wait()
	return nil // p.close, deferred, stops the connection, the broker and the store
}

// parts is what build makes and close releases, in reverse order.
type parts struct {
	b      *broker.Broker
	nc     *nats.Conn
	closed chan struct{} // closed when nc is
	st     store.Store
	eng    recognizer.Engine
	ln     net.Listener
	srv    *http.Server
}

// close drains the NATS connection, stops the broker and closes the
// store; the error is the store's.
func (p *parts) close(log *slog.Logger) error {
	if p.nc != nil {
		// Drain flushes what was published (resend requests) and returns
		// at once; the connection is closed when the handler says so.
		if err := p.nc.Drain(); err != nil {
			p.nc.Close()
		}
		<-p.closed
	}
	if p.b != nil {
		p.b.Shutdown()
	}
	if p.eng != nil {
		if err := p.eng.Close(); err != nil {
			log.Warn("closing the enrolment engine", "err", err)
		}
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

// build starts the broker (or reaches the external cluster), sets up the
// stream, opens the store, makes the ingesters and binds the HTTP port,
// in that order. Its errors are fatal.
func (d *Daemon) build(ctx context.Context, p *parts) error {
	cfg := d.cfg
	p.closed = make(chan struct{})
	onClosed := nats.ClosedHandler(func(*nats.Conn) { close(p.closed) })
	if cfg.Broker.Embedded() {
		bcfg, err := d.brokerConfig()
		if err != nil {
			return fatal("config", err)
		}
		if p.b, err = broker.Start(bcfg); err != nil {
			return fatal("broker", err)
		}
		d.b = p.b
		d.mqttURL.Store(p.b.MQTTURL())
		if p.nc, err = p.b.Connect("regiond", append(d.natsOptions(), onClosed)...); err != nil {
			return fatal("broker", err)
		}
	} else {
		pw, err := cfg.Broker.ServicePassword()
		if err != nil {
			return fatal("config", err)
		}
		opts := append(d.natsOptions(), onClosed, nats.Name("regiond"), nats.UserInfo(cfg.Broker.ServiceUser, pw))
		if p.nc, err = nats.Connect(strings.Join(cfg.Broker.External, ","), opts...); err != nil {
			return fatal("broker", fmt.Errorf("connecting to %s: %w", strings.Join(cfg.Broker.External, ", "), err))
		}
	}
	d.nc = p.nc
	js, err := jetstream.New(p.nc)
	if err != nil {
		return fatal("broker", err)
	}
	d.js = js
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	s, err := broker.EnsureStream(sctx, js, cfg.Region.ID, cfg.Broker.Replicas)
	cancel()
	if err != nil {
		return fatal("broker", fmt.Errorf("stream: %w", err))
	}
	d.stream = s.CachedInfo().Config.Name

	st, err := d.deps.OpenStore()
	if err != nil {
		return fatal("store", err)
	}
	p.st, d.st = st, st
	events := dashboard.NewHub()
	if d.pub, err = d.publisher(p.nc, st); err != nil {
		return fatal("gallery", err)
	}
	if d.enrol, p.eng = d.enroller(st); p.eng != nil {
		d.log.Info("enrolment at the region is on", "model", d.enrol.Model(), "threshold", d.enrol.Threshold())
	}
	onStored := func(m store.Message) {
		events.Publish(m)
		d.pub.Notice(m)
	}

	for i := range cfg.Ingest.Workers {
		icfg := ingest.Config{
			Region: cfg.Region.ID, Stream: d.stream, ResendAfter: cfg.Ingest.ResendAfter,
			Logger: d.log.With("ingester", i), OnStored: onStored,
		}
		if d.deps.Ingest != nil {
			d.deps.Ingest(&icfg)
		}
		in, err := ingest.New(js, p.nc, st, icfg)
		if err != nil {
			return fatal("ingest", err)
		}
		d.ingests = append(d.ingests, in)
	}

	if p.ln, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil { // closed by Serve's Shutdown
		return fatal("http", err)
	}
	var enroller dashboard.Enroller // a nil *enrol.Enroller must not pass for one
	if d.enrol != nil {
		enroller = d.enrol
	}
	dash, err := dashboard.New(dashboard.Deps{Store: st, Enroller: enroller, Events: events, Region: cfg.Region.ID,
		Logger: d.log.With("component", "dashboard")})
	if err != nil {
		return fatal("http", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/healthz", d.handler())
	mux.Handle("/metrics", d.handler())
	mux.Handle("/", dash.Handler())
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	d.httpAddr.Store(p.ln.Addr().String())
	return nil
}

// publisher makes the gallery publisher with the region's signing key,
// generating the key on the very first start.
func (d *Daemon) publisher(nc *nats.Conn, st store.Store) (*gallery.Publisher, error) {
	c := d.cfg.Gallery
	path := d.cfg.SigningKeyPath()
	key, created, err := gallery.SigningKey(path)
	if err != nil {
		return nil, fmt.Errorf("gallery.signing_key_file: %w", err)
	}
	if created {
		d.log.Warn("first start: created the region's gallery signing key; back it up, and give every site its public key "+
			"(gallery.region_public_key): a site refuses revisions signed by any other key",
			"signing_key_file", path, "public_key", gallery.PublicKey(key))
	}
	d.pubKey = gallery.PublicKey(key)
	pc := gallery.Config{
		Store: st, Conn: nc, Signer: gallerysync.NewSigner(key), Region: d.cfg.Region.ID,
		ChunkBytes: c.ChunkBytes, ResendAfter: c.ResendAfter, SourceWait: c.TransferSourceWait,
		Logger: d.log.With("component", "gallery"),
	}
	if d.b != nil {
		pc.Backlog, pc.OneNode = d.b.Backlog, !d.cfg.Broker.Cluster.Enabled()
	}
	if d.deps.Gallery != nil {
		d.deps.Gallery(&pc)
	}
	return gallery.New(pc)
}

// enroller makes enrolment at the region when an engine can be built. The
// engine is optional: a region without the model files still serves
// everything else, and says why enrolment is off.
func (d *Daemon) enroller(st store.Store) (*enrol.Enroller, recognizer.Engine) {
	if d.deps.NewEngine == nil || d.deps.Decode == nil {
		return nil, nil
	}
	eng, err := d.deps.NewEngine()
	if err != nil {
		d.log.Warn("enrolment at the region is off: no recognition engine", "models_dir", d.cfg.Models.Dir,
			"engine", d.cfg.Models.Engine, "err", err)
		return nil, nil
	}
	decode := d.deps.Decode
	e, err := enrol.New(enrol.Config{Store: st, Engine: eng,
		Decode: func(b []byte) (*recognizer.Image, error) { return decode(b, enrol.MaxSide) }})
	if err != nil {
		d.log.Warn("enrolment at the region is off", "err", err)
		eng.Close()
		return nil, nil
	}
	return e, eng
}

// natsOptions keep regiond's own connection reconnecting for ever: a
// cluster node going away is a pause, never an end.
func (d *Daemon) natsOptions() []nats.Option {
	log := d.log.With("component", "nats-client")
	return []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("reconnected to NATS", "url", nc.ConnectedUrlRedacted()) }),
	}
}

// brokerConfig derives the embedded node's configuration: the sites from
// the sites file, TLS from the certificate files.
func (d *Daemon) brokerConfig() (broker.Config, error) {
	c := d.cfg.Broker
	sites, err := d.readSites()
	if err != nil {
		return broker.Config{}, err
	}
	bc := broker.Config{
		Dir: d.cfg.Data.JetStreamDir(), Region: d.cfg.Region.ID, ServerName: c.ServerName,
		MQTTListen: c.MQTTListen, NATSListen: c.NATSListen, Sites: sites,
		Replicas: c.Replicas, Logger: d.log,
	}
	if c.TLS() {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return broker.Config{}, fmt.Errorf("broker.cert_file: %w", err)
		}
		bc.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if c.Cluster.Enabled() {
		pw, err := c.Cluster.Password()
		if err != nil {
			return broker.Config{}, err
		}
		bc.Cluster = &broker.ClusterConfig{Name: c.Cluster.Name, Listen: c.Cluster.Listen, Routes: c.Cluster.Routes, Password: pw}
	}
	if d.deps.Broker != nil {
		d.deps.Broker(&bc)
	}
	return bc, nil
}

// readSites reads the sites file. A missing file is no sites yet (a new
// region): the broker starts and says so, and `regiond site add` creates it.
func (d *Daemon) readSites() ([]broker.SiteAccount, error) {
	list, err := config.ReadSites(d.cfg.Broker.SitesFile)
	if errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("no sites file yet: no site can connect; add sites with `regiond site add`", "sites_file", d.cfg.Broker.SitesFile)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]broker.SiteAccount, len(list))
	for i, s := range list {
		out[i] = broker.SiteAccount{Site: s.Site, PasswordHash: s.PasswordHash}
	}
	return out, nil
}
