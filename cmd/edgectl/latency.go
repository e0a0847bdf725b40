package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/camera/simcam"
	"github.com/dozor-edge/dozor/edge"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/enroll"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/mosquitto"
	"github.com/dozor-edge/dozor/recognizer/opencv"
	"github.com/dozor-edge/dozor/sync/wire"
)

func init() {
	register("bench-latency", "measure the daemon's frame-to-MQTT sighting latency on this machine (local broker and simulated camera)", runBenchLatency)
}

const (
	latDefaultClip      = "/work/shared/testdata/video/hamilton_wh_short_640x360.mp4"
	latDefaultMosquitto = "/usr/sbin/mosquitto"
	latSightingFilter   = "dozor/v1/+/+/sighting"
	latSite             = "bench"
	latCamera           = "bench1"
)

// latDefinition is printed with every result, so a figure is never read
// without what it measures.
const latDefinition = "latency = time the sighting arrived at an MQTT subscriber on 127.0.0.1 (local wall clock, " +
	"taken first thing in the message handler) minus the sighting's last_seen. For an identity decision last_seen is " +
	"the capture time of the frame whose update made the decision (the camera's RTP timestamp mapped to this machine's " +
	"clock when the frame reached the daemon); for an unknown face it is the capture time of the track's last " +
	"observed frame, and the sighting is only sent once the track has ended, so unknown latencies include the " +
	"tracker's end-of-track wait (max_age)"

type latencyStats struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P90Ms float64 `json:"p90_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	MinMs float64 `json:"min_ms"`
}

type latencyReport struct {
	Definition string `json:"definition"`
	Note       string `json:"note"`
	// All sightings, known and unknown.
	latencyStats
	Known   latencyStats `json:"known"`
	Unknown latencyStats `json:"unknown"`

	Clip        string  `json:"clip"`
	DurationS   float64 `json:"duration_s"`
	DetectFPS   float64 `json:"detect_fps"`
	MinFrames   int     `json:"min_frames"`
	Workers     int     `json:"workers"`
	Enrolled    int     `json:"enrolled"`
	Duplicates  int     `json:"duplicates"`
	Undecodable int     `json:"undecodable"`
	// StartupS is the time from the daemon's start to Ready.
	StartupS float64 `json:"startup_s"`
}

func runBenchLatency(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench-latency", flag.ContinueOnError)
	clipFile := fs.String("clip", latDefaultClip, "video clip the simulated camera streams in a loop")
	enrollDir := fs.String("enroll", "", "folder of enrolment photos named <person id>.jpg (default: enroll/ beside the clip)")
	duration := fs.Duration("duration", 30*time.Second, "how long to measure once the daemon is ready")
	modelFlag := fs.String("models", "", "models directory (default: $DOZOR_MODELS, ./var/models, ../shared/models)")
	mosquitto := fs.String("mosquitto", latDefaultMosquitto, "mosquitto binary")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	verbose := fs.Bool("v", false, "log the daemon at info level (default: warnings) to stderr")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: edgectl bench-latency [--clip FILE] [--duration 30s] [--models DIR] [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *duration <= 0 {
		return errors.New("--duration must be positive")
	}
	if *enrollDir == "" {
		*enrollDir = filepath.Join(filepath.Dir(*clipFile), "enroll")
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	say := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "bench-latency: "+format+"\n", a...) }

	models, err := modelDir(*modelFlag)
	if err != nil {
		return err
	}
	items, _, err := enroll.PlanDir(*enrollDir)
	if err != nil {
		return fmt.Errorf("--enroll: %w", err)
	}
	if len(items) == 0 {
		return fmt.Errorf("no enrolment photos in %s", *enrollDir)
	}
	clip, err := avcodec.ReadClip(*clipFile, avcodec.ClipOptions{})
	if err != nil {
		return fmt.Errorf("--clip: %w", err)
	}

	tmp, err := os.MkdirTemp("", "edgectl-bench-latency-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	cfg := config.Defaults()
	cfg.Site = config.Site{Region: "local", ID: latSite, TimeZone: "UTC"}
	cfg.Models.Dir = models
	cfg.Store.Path = filepath.Join(tmp, "dozor.db")
	cfg.Store.KeyFile = filepath.Join(tmp, "key", "dozor.key")
	cfg.HTTP.Listen = "127.0.0.1:0"

	if err := os.Mkdir(filepath.Dir(cfg.Store.KeyFile), 0o700); err != nil {
		return err
	}
	if _, err := store.GenerateKeyFile(cfg.Store.KeyFile); err != nil {
		return err
	}
	enrolled, err := latEnrol(ctx, cfg, items)
	if err != nil {
		return err
	}
	say("enrolled %d person(s) from %s", enrolled, *enrollDir)

	b, err := latStartBroker(*mosquitto, tmp)
	if err != nil {
		return err
	}
	defer b.Stop(syscall.SIGTERM)
	cfg.Uplink.Broker = b.URL()

	rec := &latRecorder{seen: map[wire.ID]bool{}}
	sub, err := rec.subscribe(b.Addr())
	if err != nil {
		return err
	}
	defer sub.Disconnect(250)

	srv, err := simcam.Listen("127.0.0.1:0", simcam.Config{Clip: clip, Loop: true})
	if err != nil {
		return err
	}
	camCtx, camCancel := context.WithCancel(context.Background())
	camDone := make(chan struct{})
	go func() { defer close(camDone); _ = srv.Run(camCtx) }()
	defer func() { camCancel(); <-camDone }()
	cfg.Cameras = []config.Camera{{ID: latCamera, URL: srv.URL(), Zone: "bench"}}

	d, err := edge.New(cfg, edge.Deps{Logger: log, Version: "bench-latency"})
	if err != nil {
		return err
	}
	runCtx, stopDaemon := context.WithCancel(context.Background())
	defer stopDaemon()
	runDone := make(chan error, 1)
	started := time.Now()
	go func() { runDone <- d.Run(runCtx) }()
	select {
	case <-d.Ready():
	case err := <-runDone:
		return fmt.Errorf("daemon did not start: %v", err)
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Minute):
		return errors.New("daemon not ready after 2m")
	}
	startup := time.Since(started)
	say("daemon ready in %v; measuring for %v", startup.Round(time.Millisecond), *duration)

	rec.open()
	select {
	case <-time.After(*duration):
	case <-ctx.Done():
		say("interrupted; reporting what was measured")
	case err := <-runDone:
		return fmt.Errorf("daemon stopped during the measurement: %v", err)
	}
	// Sightings the shutdown flushes (tracks ended by the stop) are not
	// counted: their delay is the stop's, not the pipeline's.
	rec.close()
	stopDaemon()
	select {
	case err := <-runDone:
		if err != nil {
			say("daemon stopped with: %v", err)
		}
	case <-time.After(30 * time.Second):
		say("daemon did not stop within 30s")
	}

	rep := rec.report()
	rep.Definition = latDefinition
	rep.Note = fmt.Sprintf("an identity decision rests on at least %d frames at the detection rate (%.3g fps, "+
		"so ≥%v of the face on camera before any sighting); the latency measured runs from the deciding frame, "+
		"not from the first frame the face appeared in", cfg.Recognizer.MinFrames, cfg.Recognizer.DetectFPS,
		time.Duration(float64(cfg.Recognizer.MinFrames-1)/cfg.Recognizer.DetectFPS*float64(time.Second)).Round(time.Millisecond))
	rep.Clip = *clipFile
	rep.DurationS = duration.Seconds()
	rep.DetectFPS = cfg.Recognizer.DetectFPS
	rep.MinFrames = cfg.Recognizer.MinFrames
	rep.Workers = cfg.Recognizer.Workers
	if rep.Workers == 0 {
		rep.Workers = max(1, runtime.NumCPU())
	}
	rep.Enrolled = enrolled
	rep.StartupS = math.Round(startup.Seconds()*1000) / 1000
	if *asJSON {
		if err := writeJSON(os.Stdout, rep); err != nil {
			return err
		}
	} else {
		latPrint(os.Stdout, rep)
	}
	if rep.Count == 0 {
		return errors.New("no sighting arrived during the measurement")
	}
	return nil
}

// latEnrol enrols the photos through the enrolment API with the
// configured engine, set for still photos.
func latEnrol(ctx context.Context, cfg config.Config, items []enroll.Item) (int, error) {
	st, err := store.Open(cfg.Store.Path, store.Options{KeyFile: cfg.Store.KeyFile})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	det := opencv.DefaultDetectorConfig
	det.RetryUpscale = true
	eng, err := engines.New(cfg.Models.Dir, cfg.Models.Engine, det)
	if err != nil {
		return 0, err
	}
	defer eng.Close()
	e, err := enroll.New(ctx, st, eng, enroll.Options{Actor: "bench-latency", Facility: cfg.Site.ID, Decode: decodeStill})
	if err != nil {
		return 0, err
	}
	results, err := e.Run(ctx, items, nil)
	if err != nil {
		return 0, err
	}
	persons := map[string]bool{}
	for _, r := range results {
		if r.Status.Failed() {
			return 0, fmt.Errorf("enrolling %s (%s): %s %s", r.Image, r.Person, r.Status, r.Reason)
		}
		persons[r.Person] = true
	}
	return len(persons), nil
}

// latStartBroker starts a private mosquitto on a free port of 127.0.0.1
// with its configuration and log in dir.
func latStartBroker(bin, dir string) (*mosquitto.Broker, error) {
	b, err := mosquitto.Start(dir, mosquitto.Options{Bin: bin})
	if errors.Is(err, mosquitto.ErrMissing) {
		return nil, fmt.Errorf("%w (or pass --mosquitto)", err)
	}
	return b, err
}

// latRecorder keeps the latency of every distinct sighting that arrives
// while the measurement is open.
type latRecorder struct {
	mu            sync.Mutex
	measuring     bool
	seen          map[wire.ID]bool
	known         []time.Duration
	unknown       []time.Duration
	dups, invalid int
}

func (r *latRecorder) subscribe(addr string) (mqtt.Client, error) {
	subscribed := make(chan error, 1)
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("bench-latency-%d", os.Getpid())).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(200 * time.Millisecond).
		SetOnConnectHandler(func(c mqtt.Client) {
			tok := c.Subscribe(latSightingFilter, 1, r.handle)
			go func() {
				tok.Wait()
				select {
				case subscribed <- tok.Error():
				default:
				}
			}()
		})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		c.Disconnect(0)
		return nil, fmt.Errorf("subscriber: connect to %s: %v", addr, tok.Error())
	}
	select {
	case err := <-subscribed:
		if err != nil {
			c.Disconnect(0)
			return nil, fmt.Errorf("subscriber: subscribe %s: %w", latSightingFilter, err)
		}
	case <-time.After(10 * time.Second):
		c.Disconnect(0)
		return nil, errors.New("subscriber: no subscription after 10s")
	}
	return c, nil
}

func (r *latRecorder) handle(_ mqtt.Client, m mqtt.Message) {
	arrived := time.Now()
	msg, err := wire.Decode(m.Topic(), m.Payload(), arrived)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.measuring {
		return
	}
	if err != nil {
		r.invalid++
		return
	}
	s, ok := msg.Payload.(wire.Sighting)
	if !ok {
		return
	}
	if r.seen[s.ID] {
		r.dups++
		return
	}
	r.seen[s.ID] = true
	lat := arrived.Sub(s.LastSeen)
	if s.Person != "" {
		r.known = append(r.known, lat)
	} else {
		r.unknown = append(r.unknown, lat)
	}
}

func (r *latRecorder) open()  { r.mu.Lock(); r.measuring = true; r.mu.Unlock() }
func (r *latRecorder) close() { r.mu.Lock(); r.measuring = false; r.mu.Unlock() }

func (r *latRecorder) report() latencyReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return latencyReport{
		latencyStats: latStats(append(slices.Clone(r.known), r.unknown...)),
		Known:        latStats(r.known),
		Unknown:      latStats(r.unknown),
		Duplicates:   r.dups,
		Undecodable:  r.invalid,
	}
}

// latStats summarises latencies with nearest-rank percentiles.
func latStats(v []time.Duration) latencyStats {
	s := latencyStats{Count: len(v)}
	if len(v) == 0 {
		return s
	}
	v = slices.Clone(v)
	slices.Sort(v)
	rank := func(q float64) time.Duration {
		i := int(math.Ceil(q*float64(len(v)))) - 1
		return v[min(max(i, 0), len(v)-1)]
	}
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	s.P50Ms, s.P90Ms, s.P99Ms = ms(rank(0.50)), ms(rank(0.90)), ms(rank(0.99))
	s.MinMs, s.MaxMs = ms(v[0]), ms(v[len(v)-1])
	return s
}

func latPrint(w io.Writer, rep latencyReport) {
	fmt.Fprintf(w, "frame-to-MQTT sighting latency, %s for %.0fs (detect %.3g fps, %d worker(s), %d enrolled)\n",
		filepath.Base(rep.Clip), rep.DurationS, rep.DetectFPS, rep.Workers, rep.Enrolled)
	fmt.Fprintf(w, "%-8s %6s %10s %10s %10s %10s %10s\n", "", "count", "min", "p50", "p90", "p99", "max")
	row := func(name string, s latencyStats) {
		if s.Count == 0 {
			fmt.Fprintf(w, "%-8s %6d\n", name, 0)
			return
		}
		fmt.Fprintf(w, "%-8s %6d %8.1fms %8.1fms %8.1fms %8.1fms %8.1fms\n", name, s.Count, s.MinMs, s.P50Ms, s.P90Ms, s.P99Ms, s.MaxMs)
	}
	row("all", rep.latencyStats)
	row("known", rep.Known)
	row("unknown", rep.Unknown)
	if rep.Duplicates > 0 || rep.Undecodable > 0 {
		fmt.Fprintf(w, "(%d duplicate deliveries ignored, %d undecodable messages)\n", rep.Duplicates, rep.Undecodable)
	}
	fmt.Fprintf(w, "daemon start-up: %.1fs (not included)\n", rep.StartupS)
	fmt.Fprintf(w, "definition: %s\n", rep.Definition)
	fmt.Fprintf(w, "note: %s\n", rep.Note)
}
