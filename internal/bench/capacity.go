package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/pion/rtp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/hwtest"
	"github.com/dozor-edge/dozor/recognizer/track"
)

// DefaultCapacityClip is the clip Capacity streams when none is named,
// relative to the shared test data: 1080p25 H.264, as the facilities'
// cameras send.
const DefaultCapacityClip = "video/pedestrians_arcade_1080p.mp4"

// CapacityConfig says what Capacity measures.
type CapacityConfig struct {
	// Models is a verified models directory.
	Models string
	// Clip is the video every simulated camera streams in a loop.
	Clip string
	// Codec, when set, re-encodes the clip the way an IP camera streams
	// (no B-frames, an IDR every second) with that codec.
	Codec camera.Codec
	// EnrollDir holds the enrolment photos that make up the gallery;
	// empty means enroll/ beside the clip, or else video/enroll of the
	// shared test data.
	EnrollDir string
	// Cameras are the camera counts measured in turn, each with a fresh
	// daemon.
	Cameras []int
	// Warmup is how long each daemon runs before the measurement starts:
	// the cameras connect and the first tracks form.
	Warmup time.Duration
	// Duration is how long each count is measured.
	Duration time.Duration
	// Mosquitto is the broker binary; empty means mosquitto.DefaultBin.
	Mosquitto string
	// Before also measures each count, first, as the daemon ran before
	// its capacity work: without the embedding budget (every usable face
	// embedded every frame) and decoding every picture, disposable ones
	// too; so that one run compares the two on the same machine at the
	// same time.
	Before bool
	// ChipMaxSide is the daemon's recognizer.chip_max_side: 0 cuts faces
	// from the detection frame, as the default configuration does; more
	// keeps each sampled picture at up to this many pixels on the long
	// side and cuts faces from it, which makes many more faces usable and
	// costs the embeddings they take.
	ChipMaxSide int
	// Logger receives the daemon's log; nil discards it.
	Logger *slog.Logger
	// Progress, when set, hears each step as a line of text.
	Progress func(msg string)
}

// CapacityDefinition is part of every capacity report.
const CapacityDefinition = "cores = CPU time (user + system) of this process, which runs the daemon and the simulated " +
	"cameras, per second of wall clock; stage cores = the daemon's time inside the stage per second " +
	"(dozor_recognizer_stage_seconds; one OpenCV thread per worker, so time in a stage is CPU time unless the box is " +
	"overloaded); decode = a camera track depacketising, decoding the pictures it needs (all but the disposable ones not " +
	"due for sampling) and converting the sampled ones, measured per picture received on the clip in this process before " +
	"the daemon starts, times the pictures the cameras received; other = cores minus the stages " +
	"(RTP, tracking, sightings, store, uplink, the simulated cameras, the Go runtime; negative when the stages waited for a " +
	"CPU: the machine was busy with other processes, see other_processes_cores from /proc/stat); sampled = frames the cameras " +
	"handed to recognition per second, recognised = those a worker took (sampled minus dropped)"

// StageCost is one stage's share of the CPU.
type StageCost struct {
	Stage string  `json:"stage"`
	Cores float64 `json:"cores"`
	// PerCamera is Cores divided by the cameras.
	PerCamera float64 `json:"per_camera_cores"`
	// CallsPerS and MsPerCall describe the stage's calls (0 when the stage
	// is not timed per call).
	CallsPerS float64 `json:"calls_per_s,omitempty"`
	MsPerCall float64 `json:"ms_per_call,omitempty"`
	// Source says where the figure comes from: "daemon" (its stage
	// histogram), "measured apart" or "remainder".
	Source string `json:"source"`
}

// CameraRate is what one camera got from the daemon.
type CameraRate struct {
	Camera        string  `json:"camera"`
	DecodedFPS    float64 `json:"decoded_fps"`
	SampledFPS    float64 `json:"sampled_fps"`
	RecognisedFPS float64 `json:"recognised_fps"`
	Dropped       uint64  `json:"dropped"`
	DropPercent   float64 `json:"drop_percent"`
}

// CapacityRun is the measurement of one camera count.
type CapacityRun struct {
	Cameras int `json:"cameras"`
	// Daemon is "after" for the daemon as configured, "before" for the
	// run without the embedding budget and decoding every picture
	// (CapacityConfig.Before).
	Daemon string `json:"daemon"`
	// Cores is the CPU used, in cores; Load is Cores over the box's.
	Cores     float64     `json:"cores"`
	Load      float64     `json:"load"`
	PerCamera float64     `json:"per_camera_cores"`
	Stages    []StageCost `json:"stages"`
	// Costs are the stages in the capacity model hwtest's verdict uses
	// (the daemon's track and store stages count as other), and Verdict
	// is that verdict on the cores measured.
	Costs   hwtest.StageCosts `json:"costs"`
	Verdict hwtest.Verdict    `json:"verdict"`
	Cams    []CameraRate      `json:"per_camera"`
	// MinRecognisedFPS is the slowest camera's recognised frames per
	// second.
	MinRecognisedFPS float64 `json:"min_recognised_fps"`
	// OthersCores is what the rest of the machine used meanwhile (from
	// /proc/stat): a measurement is only clean when it is near zero.
	OthersCores float64 `json:"other_processes_cores"`
	// EmbeddingsMade and EmbeddingsSkipped count the faces the daemon
	// embedded and those it spared (dozor_recognizer_embeddings_total;
	// absent from a daemon without it), and EmbedMsPerFace divides the
	// embed stage's time among the faces embedded.
	EmbeddingsMade    uint64 `json:"embeddings_made,omitempty"`
	EmbeddingsSkipped uint64 `json:"embeddings_skipped,omitempty"`
	// EmbeddingsByReason splits both by the reason the daemon gave
	// ("made/undecided", "skipped/settled", "skipped/small", ...).
	EmbeddingsByReason map[string]uint64 `json:"embeddings_by_reason,omitempty"`
	EmbedMsPerFace     float64           `json:"embed_ms_per_face,omitempty"`
	// OverCapacity is the daemon's own dozor_over_capacity at the end
	// (absent from a daemon without it).
	OverCapacity *bool   `json:"over_capacity,omitempty"`
	Sightings    uint64  `json:"sightings"`
	Faces        uint64  `json:"faces"`
	DurationS    float64 `json:"duration_s"`
	StartupS     float64 `json:"startup_s"`
}

// CapacityReport is what Capacity measured.
type CapacityReport struct {
	Definition string `json:"definition"`
	// Missing names the stages the daemon does not time.
	Missing   []string `json:"missing_stages,omitempty"`
	Clip      string   `json:"clip"`
	Codec     string   `json:"codec"`
	Width     int      `json:"width"`
	Height    int      `json:"height"`
	FPS       float64  `json:"fps"`
	DetectFPS float64  `json:"detect_fps"`
	Engine    string   `json:"engine"`
	Workers   int      `json:"workers"`
	BoxCores  int      `json:"box_cores"`
	WarmupS   float64  `json:"warmup_s"`
	// ChipMaxSide is CapacityConfig.ChipMaxSide: 0 when faces are cut
	// from the detection frame.
	ChipMaxSide int `json:"chip_max_side"`
	// DecodeMsPerPicture is the decode cost measured apart, per picture
	// (with the sampled pictures' conversions spread over all).
	DecodeMsPerPicture float64 `json:"decode_ms_per_picture"`
	// DecodeAllMsPerPicture is the same decoding every picture, for the
	// runs as before (CapacityConfig.Before); 0 without them.
	DecodeAllMsPerPicture float64       `json:"decode_all_ms_per_picture,omitempty"`
	Runs                  []CapacityRun `json:"runs"`
	// FitsCameras is Fits of the runs: the largest count that fits.
	FitsCameras int `json:"fits_cameras"`
}

// CheckChipMaxSide says whether the daemon accepts side as its
// recognizer.chip_max_side, with the configuration's own error.
func CheckChipMaxSide(side int) error {
	_, err := chipConfig(side)
	return err
}

// chipConfig is the daemon's default configuration with the chip size.
func chipConfig(side int) (config.Config, error) {
	c := config.Defaults()
	c.Recognizer.ChipMaxSide = side
	return c, c.Validate()
}

// MinFitShare is the share of its detection rate every camera must keep
// recognised for a camera count to fit (4.5 of 5 frames per second).
const MinFitShare = 0.9

// Fits is the largest camera count measured with the daemon as it runs
// now that fits the box: a load within hwtest's limit for a healthy box
// (hwtest.Pass, at most 70% of the cores) and every camera recognised at
// MinFitShare of the detection rate or more. 0 when none does.
func (rep CapacityReport) Fits() int {
	best := 0
	for _, r := range rep.Runs {
		if r.Daemon == "before" || r.Verdict != hwtest.Pass || r.MinRecognisedFPS < MinFitShare*rep.DetectFPS {
			continue
		}
		best = max(best, r.Cameras)
	}
	return best
}

// daemonStages are the stages Capacity reads from the daemon's stage
// histogram, in pipeline order, and those it expects to find there.
var (
	daemonStages   = []string{"decode", "detect", "embed", "match", "track", "store"}
	expectedStages = []string{"decode", "detect", "embed", "match", "track", "store"}
)

// Capacity runs, for each count in cfg.Cameras, the daemon with its
// default configuration fed by that many simulated cameras streaming
// cfg.Clip, waits cfg.Warmup, and measures for cfg.Duration the CPU the
// process uses, the daemon's time per stage and the frames each camera
// got recognised. An interruption through ctx ends the current count
// early and reports what was measured.
func Capacity(ctx context.Context, cfg CapacityConfig) (rep CapacityReport, err error) {
	defer func() { rep.FitsCameras = rep.Fits() }()
	if cfg.Duration <= 0 {
		return CapacityReport{}, errors.New("bench-capacity: the measurement needs a positive duration")
	}
	if cfg.Warmup < 0 {
		return CapacityReport{}, errors.New("bench-capacity: the warm-up cannot be negative")
	}
	if len(cfg.Cameras) == 0 {
		return CapacityReport{}, errors.New("bench-capacity: no camera count to measure")
	}
	for _, n := range cfg.Cameras {
		if n < 1 || n > MaxCameras {
			return CapacityReport{}, fmt.Errorf("bench-capacity: cameras: %d, want 1 to %d", n, MaxCameras)
		}
	}
	say := func(format string, a ...any) {
		if cfg.Progress != nil {
			cfg.Progress(fmt.Sprintf(format, a...))
		}
	}
	dcfg, err := chipConfig(cfg.ChipMaxSide)
	if err != nil {
		return CapacityReport{}, err
	}
	enrollDir := cfg.EnrollDir
	if enrollDir == "" {
		enrollDir = filepath.Join(filepath.Dir(cfg.Clip), "enroll")
		if _, err := os.Stat(enrollDir); err != nil {
			if enrollDir, err = TestData("video/enroll"); err != nil {
				return CapacityReport{}, err
			}
		}
	}
	opt := avcodec.ClipOptions{}
	if cfg.Codec != "" {
		opt = avcodec.ClipOptions{Codec: cfg.Codec, GOP: time.Second, Preset: "veryfast"}
		say("re-encoding %s as %s (no B-frames, an IDR every second)", filepath.Base(cfg.Clip), cfg.Codec)
	}
	clip, err := avcodec.ReadClip(cfg.Clip, opt)
	if err != nil {
		return CapacityReport{}, fmt.Errorf("clip: %w", err)
	}
	rep = CapacityReport{
		Definition: CapacityDefinition,
		Clip:       cfg.Clip, Codec: string(clip.Codec), Width: clip.Width, Height: clip.Height, FPS: clip.FPS,
		BoxCores: runtime.NumCPU(), WarmupS: cfg.Warmup.Seconds(), ChipMaxSide: cfg.ChipMaxSide,
	}

	// The camera as the daemon's default configuration runs it, with
	// the chip size asked for.
	cc, err := dcfg.CameraConfig(config.Camera{ID: "decode-cost", URL: "rtsp://127.0.0.1/"})
	if err != nil {
		return rep, err
	}
	dc, err := decodeCost(clip, cc, 2*time.Second)
	if err != nil {
		return rep, err
	}
	var dcAll time.Duration
	if cfg.Before {
		cc.DecodeAll = true
		if dcAll, err = decodeCost(clip, cc, 2*time.Second); err != nil {
			return rep, err
		}
		rep.DecodeAllMsPerPicture = round3(dcAll.Seconds() * 1000)
		say("decoding every picture, disposable ones too, costs %.2f ms of CPU per picture", rep.DecodeAllMsPerPicture)
	}
	rep.DecodeMsPerPicture = round3(dc.Seconds() * 1000)
	say("decoding %s %dx%d costs %.2f ms of CPU per picture (%.2f cores per camera at %.3g fps)",
		clip.Codec, clip.Width, clip.Height, rep.DecodeMsPerPicture, dc.Seconds()*clip.FPS, clip.FPS)

	variants := []bool{false}
	if cfg.Before {
		variants = []bool{true, false}
	}
	for _, n := range cfg.Cameras {
		for _, before := range variants {
			perPicture := dc
			if before {
				perPicture = dcAll
			}
			run, missing, err := capacityRun(ctx, cfg, clip, enrollDir, n, before, perPicture, &rep, say)
			if err != nil {
				return rep, fmt.Errorf("%d camera(s): %w", n, err)
			}
			rep.Runs = append(rep.Runs, run)
			rep.Missing = missing
			if ctx.Err() != nil {
				return rep, nil
			}
		}
	}
	return rep, nil
}

// capacityRun measures one camera count with a fresh daemon.
func capacityRun(ctx context.Context, cfg CapacityConfig, clip *camera.Clip, enrollDir string, n int, before bool,
	decodePerPicture time.Duration, rep *CapacityReport, say func(string, ...any)) (CapacityRun, []string, error) {
	rc := rigConfig{Models: cfg.Models, Clip: clip, EnrollDir: enrollDir, Cameras: n, ChipMaxSide: cfg.ChipMaxSide,
		Mosquitto: cfg.Mosquitto, Logger: cfg.Logger, say: say}
	label := "after"
	if before {
		// Refresh 1 embeds every face the usability gate passes.
		rc.Budget = func(b *track.Budget) { b.Refresh = 1 }
		rc.Camera = func(c *camera.Config) { c.DecodeAll = true }
		label = "before"
	}
	r, err := startRig(ctx, rc)
	if err != nil {
		return CapacityRun{}, nil, err
	}
	defer r.close()
	rcfg := r.cfg.Recognizer
	rep.DetectFPS, rep.Engine, rep.Workers = rcfg.DetectFPS, r.cfg.Models.Engine, r.cfg.Workers()
	url := "http://" + r.d.HTTPAddr() + "/metrics"

	say("%d camera(s), daemon as %s: ready in %v; warming up for %v", n, label, r.startup.Round(time.Millisecond), cfg.Warmup)
	if interrupted, err := r.wait(ctx, cfg.Warmup); err != nil || interrupted {
		return CapacityRun{}, nil, errors.Join(err, ctx.Err())
	}
	a, err := snapshot(ctx, url)
	if err != nil {
		return CapacityRun{}, nil, err
	}
	say("%d camera(s): measuring for %v", n, cfg.Duration)
	interrupted, err := r.wait(ctx, cfg.Duration)
	if err != nil {
		return CapacityRun{}, nil, err
	}
	if interrupted {
		say("interrupted; reporting what was measured")
	}
	b, err := snapshot(context.WithoutCancel(ctx), url)
	if err != nil {
		return CapacityRun{}, nil, err
	}
	run, missing := capacityFigures(a, b, n, decodePerPicture, rep.BoxCores)
	run.Daemon = label
	run.StartupS = round3(r.startup.Seconds())
	return run, missing, nil
}

// sample is what Capacity reads at each end of a measurement.
type sample struct {
	at  time.Time
	cpu time.Duration
	// machine's busy and total time from /proc/stat, in ticks (zero where
	// unreadable)
	busy, total uint64
	// stage -> sum of seconds and count of the stage histogram
	stageSum   map[string]float64
	stageCount map[string]uint64
	// camera -> counters and gauges
	frames, drops map[string]float64
	fpsIn         map[string]float64
	sightings     float64
	faces         float64
	// embeddings made and skipped; have is false when the daemon does not
	// count them
	made, skipped  float64
	byReason       map[string]float64
	haveEmbeddings bool
	overCapacity   *bool
}

// snapshot reads the process's CPU time and the daemon's metrics.
func snapshot(ctx context.Context, url string) (sample, error) {
	busy, total := machineTicks()
	s := sample{at: time.Now(), cpu: processCPU(), busy: busy, total: total,
		stageSum: map[string]float64{}, stageCount: map[string]uint64{},
		frames: map[string]float64{}, drops: map[string]float64{}, fpsIn: map[string]float64{}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return s, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("metrics: %s", resp.Status)
	}
	fams, err := parseMetrics(resp.Body)
	if err != nil {
		return s, err
	}
	for _, m := range fams["dozor_recognizer_stage_seconds"].GetMetric() {
		st := label(m, "stage")
		s.stageSum[st] = m.GetHistogram().GetSampleSum()
		s.stageCount[st] = m.GetHistogram().GetSampleCount()
	}
	perCamera := func(name string, into map[string]float64) {
		for _, m := range fams[name].GetMetric() {
			v := m.GetCounter().GetValue()
			if m.GetGauge() != nil {
				v = m.GetGauge().GetValue()
			}
			into[label(m, "camera")] = v
		}
	}
	perCamera("dozor_camera_frames_total", s.frames)
	perCamera("dozor_camera_frames_dropped_total", s.drops)
	perCamera("dozor_camera_fps_in", s.fpsIn)
	for _, m := range fams["dozor_sightings_total"].GetMetric() {
		s.sightings += m.GetCounter().GetValue()
	}
	for _, m := range fams["dozor_recognizer_faces_total"].GetMetric() {
		s.faces += m.GetCounter().GetValue()
	}
	for _, m := range fams["dozor_recognizer_embeddings_total"].GetMetric() {
		s.haveEmbeddings = true
		if s.byReason == nil {
			s.byReason = map[string]float64{}
		}
		s.byReason[label(m, "outcome")+"/"+label(m, "reason")] += m.GetCounter().GetValue()
		if label(m, "outcome") == "made" {
			s.made += m.GetCounter().GetValue()
		} else {
			s.skipped += m.GetCounter().GetValue()
		}
	}
	for _, m := range fams["dozor_over_capacity"].GetMetric() {
		over := m.GetGauge().GetValue() != 0
		s.overCapacity = &over
	}
	return s, nil
}

func parseMetrics(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return fams, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// capacityFigures turns two samples into a run's figures, and names the
// expected stages the daemon did not time.
func capacityFigures(a, b sample, n int, decodePerPicture time.Duration, boxCores int) (CapacityRun, []string) {
	secs := b.at.Sub(a.at).Seconds()
	run := CapacityRun{Cameras: n, DurationS: round3(secs)}
	if secs <= 0 {
		return run, nil
	}
	run.Cores = round3((b.cpu - a.cpu).Seconds() / secs)
	run.Load = round3(run.Cores / float64(max(1, boxCores)))
	run.PerCamera = round3(run.Cores / float64(n))
	if b.total > a.total {
		machine := float64(b.busy-a.busy) / float64(b.total-a.total) * float64(boxCores)
		run.OthersCores = round3(max(0, machine-run.Cores))
	}
	run.Sightings = uint64(b.sightings - a.sightings)
	run.OverCapacity = b.overCapacity
	if b.haveEmbeddings {
		run.EmbeddingsMade = uint64(b.made - a.made)
		run.EmbeddingsSkipped = uint64(b.skipped - a.skipped)
		for k, v := range b.byReason {
			if d := uint64(v - a.byReason[k]); d > 0 {
				if run.EmbeddingsByReason == nil {
					run.EmbeddingsByReason = map[string]uint64{}
				}
				run.EmbeddingsByReason[k] = d
			}
		}
		if run.EmbeddingsMade > 0 {
			run.EmbedMsPerFace = round3(1000 * (b.stageSum["embed"] - a.stageSum["embed"]) / float64(run.EmbeddingsMade))
		}
	}
	run.Faces = uint64(b.faces - a.faces)

	var decodedFPS float64
	run.MinRecognisedFPS = math.Inf(1)
	for i := range n {
		id := camID(i)
		sampled := b.frames[id] - a.frames[id]
		dropped := b.drops[id] - a.drops[id]
		c := CameraRate{Camera: id, DecodedFPS: round3(b.fpsIn[id]),
			SampledFPS: round3(sampled / secs), RecognisedFPS: round3((sampled - dropped) / secs),
			Dropped: uint64(max(0, dropped))}
		if sampled > 0 {
			c.DropPercent = round3(100 * dropped / sampled)
		}
		decodedFPS += b.fpsIn[id]
		run.MinRecognisedFPS = min(run.MinRecognisedFPS, c.RecognisedFPS)
		run.Cams = append(run.Cams, c)
	}

	var missing []string
	staged := 0.0
	for _, st := range daemonStages {
		cnt, ok := b.stageCount[st]
		if !ok {
			continue
		}
		calls := float64(cnt - a.stageCount[st])
		sum := b.stageSum[st] - a.stageSum[st]
		sc := StageCost{Stage: st, Cores: round3(sum / secs), PerCamera: round3(sum / secs / float64(n)),
			CallsPerS: round3(calls / secs), Source: "daemon"}
		if calls > 0 {
			sc.MsPerCall = round3(1000 * sum / calls)
		}
		staged += sum / secs
		run.Stages = append(run.Stages, sc)
	}
	for _, st := range expectedStages {
		if _, ok := b.stageCount[st]; !ok {
			missing = append(missing, st)
		}
	}
	if _, ok := b.stageCount["decode"]; !ok {
		cores := decodedFPS * decodePerPicture.Seconds()
		staged += cores
		run.Stages = append([]StageCost{{Stage: "decode", Cores: round3(cores), PerCamera: round3(cores / float64(n)),
			CallsPerS: round3(decodedFPS), MsPerCall: round3(decodePerPicture.Seconds() * 1000),
			Source: "measured apart"}}, run.Stages...)
	}
	other := run.Cores - staged
	run.Stages = append(run.Stages, StageCost{Stage: "other", Cores: round3(other),
		PerCamera: round3(other / float64(n)), Source: "remainder"})
	for _, st := range run.Stages {
		switch st.Stage {
		case "decode":
			run.Costs.Decode = st.Cores
		case "detect":
			run.Costs.Detect = st.Cores
		case "embed":
			run.Costs.Embed = st.Cores
		case "match":
			run.Costs.Match = st.Cores
		default:
			run.Costs.Other = round3(run.Costs.Other + st.Cores)
		}
	}
	run.Verdict = hwtest.LoadVerdict(run.Cores, float64(boxCores))
	return run, missing
}

// decodeCost streams clip in a loop through a camera track configured as
// camera cc (RTP depacketising, validation, decoding every picture it
// needs, converting the sampled pictures to the detection size and, when
// cc asks for it, to the chip size), for at least budget of CPU
// time and at least one pass, and returns the CPU time per picture
// received, decoded or not.
func decodeCost(clip *camera.Clip, cc camera.Config, budget time.Duration) (time.Duration, error) {
	dec, err := avcodec.NewDecoder(clip.Codec, avcodec.Options{})
	if err != nil {
		return 0, err
	}
	tr, err := camera.NewTrack(camera.TrackConfig{Codec: clip.Codec, Params: clip.Params, PacketizationMode: 1,
		SampleRate: cc.SampleRate, MaxSide: cc.MaxSide, ChipMaxSide: cc.ChipMaxSide, DecodeAll: cc.DecodeAll, Decoder: dec})
	if err != nil {
		dec.Close()
		return 0, err
	}
	defer tr.Close()
	var enc interface {
		Encode([][]byte) ([]*rtp.Packet, error)
	}
	switch clip.Codec {
	case camera.H264:
		e := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1}
		err, enc = e.Init(), e
	case camera.H265:
		e := &rtph265.Encoder{PayloadType: 96}
		err, enc = e.Init(), e
	default:
		err = fmt.Errorf("codec %s: %w", clip.Codec, camera.ErrUnsupportedCodec)
	}
	if err != nil {
		return 0, fmt.Errorf("decode cost: %w", err)
	}
	period := int64(clip.Period.Seconds() * camera.ClockRate)
	now := time.Now()
	cpu0 := processCPU()
	for pass := int64(0); pass == 0 || processCPU()-cpu0 < budget; pass++ {
		for _, u := range clip.Units {
			pkts, err := enc.Encode(u.NALUs)
			if err != nil {
				return 0, fmt.Errorf("decode cost: %w", err)
			}
			for _, pkt := range pkts {
				pkt.Timestamp = uint32(u.PTS + pass*period)
				f, err := tr.WritePacket(pkt, now)
				if err != nil {
					return 0, fmt.Errorf("decode cost: %w", err)
				}
				f.Release()
			}
		}
	}
	pictures := tr.Stats().Pictures
	if pictures == 0 {
		return 0, errors.New("decode cost: the clip decoded to no picture")
	}
	return (processCPU() - cpu0) / time.Duration(pictures), nil
}

// fitSide scales w x h down so its longest side is at most side (even
// sizes, never up).
func fitSide(w, h, side int) (int, int) {
	if m := max(w, h); m > side {
		w, h = w*side/m, h*side/m
	}
	return max(2, w&^1), max(2, h&^1)
}

// machineTicks reads the time all CPUs spent busy, and in all, from the
// first line of /proc/stat.
func machineTicks() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// processCPU is this process's CPU time, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
