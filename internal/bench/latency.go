package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/enroll"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/stats"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/opencv"
	"github.com/dozor-edge/dozor/sync/wire"
)

const (
	latSightingFilter = "dozor/v1/+/+/sighting"
	latSite           = "bench"
)

// LatencyDefinition is part of every latency report, so a figure is never
// read without what it measures.
const LatencyDefinition = "latency = time the sighting arrived at an MQTT subscriber on 127.0.0.1 (local wall clock, " +
	"taken first thing in the message handler) minus the sighting's last_seen. For an identity decision last_seen is " +
	"the capture time of the frame whose update made the decision (the camera's RTP timestamp mapped to this machine's " +
	"clock when the frame reached the daemon); for an unknown face it is the capture time of the track's last " +
	"observed frame, and the sighting is only sent once the track has ended, so unknown latencies include the " +
	"tracker's end-of-track wait (max_age)"

// ErrNoSighting is returned, with the report, when no sighting arrived
// while the measurement was open.
var ErrNoSighting = errors.New("no sighting arrived during the measurement")

// LatencyConfig says what Latency measures.
type LatencyConfig struct {
	// Models is a verified models directory.
	Models string
	// Clip is the video the simulated cameras stream in a loop.
	Clip string
	// Cameras is how many simulated cameras stream it (0 means 1).
	Cameras int
	// EnrollDir holds the enrolment photos, named <person id>.jpg; empty
	// means enroll/ beside the clip.
	EnrollDir string
	// Duration is how long to measure once the daemon is ready.
	Duration time.Duration
	// Mosquitto is the broker binary; empty means mosquitto.DefaultBin.
	Mosquitto string
	// Logger receives the daemon's log; nil discards it.
	Logger *slog.Logger
	// Progress, when set, hears each step as a line of text.
	Progress func(msg string)
}

// LatencyStats summarises latencies in milliseconds.
type LatencyStats struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P90Ms float64 `json:"p90_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	MinMs float64 `json:"min_ms"`
}

// LatencyReport is what Latency measured.
type LatencyReport struct {
	Definition string `json:"definition"`
	Note       string `json:"note"`
	// All sightings, known and unknown.
	LatencyStats
	Known   LatencyStats `json:"known"`
	Unknown LatencyStats `json:"unknown"`

	Clip        string  `json:"clip"`
	Cameras     int     `json:"cameras"`
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

// Latency enrols the photos of cfg.EnrollDir into a fresh store, starts a
// private mosquitto broker, cfg.Cameras simulated cameras streaming cfg.Clip and the
// daemon with its default configuration, and records, for cfg.Duration
// once the daemon is ready, the latency of every distinct sighting that
// reaches a subscriber. Everything it starts is stopped and its files are
// removed before it returns. An interruption through ctx ends the
// measurement early and reports what was measured.
func Latency(ctx context.Context, cfg LatencyConfig) (LatencyReport, error) {
	if cfg.Duration <= 0 {
		return LatencyReport{}, errors.New("bench-latency: the measurement needs a positive duration")
	}
	enrollDir := cfg.EnrollDir
	if enrollDir == "" {
		enrollDir = filepath.Join(filepath.Dir(cfg.Clip), "enroll")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	say := func(format string, a ...any) {
		if cfg.Progress != nil {
			cfg.Progress(fmt.Sprintf(format, a...))
		}
	}

	if cfg.Cameras < 0 || cfg.Cameras > MaxCameras {
		return LatencyReport{}, fmt.Errorf("bench-latency: cameras: %d, want 1 to %d", cfg.Cameras, MaxCameras)
	}
	cams := max(1, cfg.Cameras)
	clip, err := avcodec.ReadClip(cfg.Clip, avcodec.ClipOptions{})
	if err != nil {
		return LatencyReport{}, fmt.Errorf("clip: %w", err)
	}
	r, err := startRig(ctx, rigConfig{Models: cfg.Models, Clip: clip, EnrollDir: enrollDir, Cameras: cams,
		Mosquitto: cfg.Mosquitto, Logger: log, say: say})
	if err != nil {
		return LatencyReport{}, err
	}
	defer r.close()

	rec := &latRecorder{seen: map[wire.ID]bool{}}
	sub, err := rec.subscribe(r.broker.Addr())
	if err != nil {
		return LatencyReport{}, err
	}
	defer sub.Disconnect(250)
	say("daemon ready in %v with %d camera(s); measuring for %v", r.startup.Round(time.Millisecond), cams, cfg.Duration)

	rec.open()
	interrupted, err := r.wait(ctx, cfg.Duration)
	if err != nil {
		return LatencyReport{}, err
	}
	if interrupted {
		say("interrupted; reporting what was measured")
	}
	// Sightings the shutdown flushes (tracks ended by the stop) are not
	// counted: their delay is the stop's, not the pipeline's.
	rec.close()
	r.stop(say)

	rep := rec.report()
	rep.Definition = LatencyDefinition
	rc := r.cfg.Recognizer
	rep.Note = fmt.Sprintf("an identity decision rests on at least %d frames at the detection rate (%.3g fps, "+
		"so ≥%v of the face on camera before any sighting); the latency measured runs from the deciding frame, "+
		"not from the first frame the face appeared in", rc.MinFrames, rc.DetectFPS,
		time.Duration(float64(rc.MinFrames-1)/rc.DetectFPS*float64(time.Second)).Round(time.Millisecond))
	rep.Clip = cfg.Clip
	rep.DurationS = cfg.Duration.Seconds()
	rep.DetectFPS = rc.DetectFPS
	rep.MinFrames = rc.MinFrames
	rep.Workers = rc.Workers
	if rep.Workers == 0 {
		rep.Workers = max(1, runtime.NumCPU())
	}
	rep.Cameras = cams
	rep.Enrolled = r.enrolled
	rep.StartupS = math.Round(r.startup.Seconds()*1000) / 1000
	if rep.Count == 0 {
		return rep, ErrNoSighting
	}
	return rep, nil
}

// latEnrol enrols the photos through the enrolment API with the
// configured engine, set for still photos.
func latEnrol(ctx context.Context, cfg config.Config, items []enroll.Item) (int, error) {
	st, err := store.Open(cfg.Store.Path, store.Options{SQLite: sqlite.Binding{}, KeyFile: cfg.Store.KeyFile,
		Region: cfg.Site.Region, Site: cfg.Site.ID})
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

func decodeStill(b []byte) (*recognizer.Image, error) {
	return opencv.DecodeImage(b, engines.StillMaxSide)
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

func (r *latRecorder) report() LatencyReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return LatencyReport{
		LatencyStats: latStats(append(slices.Clone(r.known), r.unknown...)),
		Known:        latStats(r.known),
		Unknown:      latStats(r.unknown),
		Duplicates:   r.dups,
		Undecodable:  r.invalid,
	}
}

// latStats summarises latencies, in milliseconds rounded to the
// microsecond.
func latStats(v []time.Duration) LatencyStats {
	s := LatencyStats{Count: len(v)}
	if len(v) == 0 {
		return s
	}
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	s.P50Ms = ms(stats.Percentile(v, 0.50))
	s.P90Ms = ms(stats.Percentile(v, 0.90))
	s.P99Ms = ms(stats.Percentile(v, 0.99))
	s.MinMs, s.MaxMs = ms(slices.Min(v)), ms(slices.Max(v))
	return s
}
