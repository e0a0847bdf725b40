package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/hwtest"
	"github.com/dozor-edge/dozor/internal/testenv"
)

func TestCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon against a broker and a simulated 1080p camera for 2 x 10s")
	}
	clip := filepath.Join(testenv.TestData(t, "video"), filepath.Base(DefaultCapacityClip))
	var steps []string
	rep, err := Capacity(context.Background(), CapacityConfig{
		Models:   testenv.ModelDir(t),
		Clip:     clip,
		Cameras:  []int{1},
		Warmup:   4 * time.Second,
		Duration: 6 * time.Second,
		Before:   true,
		Progress: func(msg string) { steps = append(steps, msg) },
	})
	if err != nil {
		t.Fatalf("%v (steps: %q)", err, steps)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].Daemon != "before" || rep.Runs[1].Daemon != "after" {
		t.Fatalf("%d runs, want the count as before, then as now: %+v", len(rep.Runs), rep)
	}
	for _, r := range rep.Runs {
		if r.Cameras != 1 || r.Cores <= 0 || r.EmbeddingsMade == 0 {
			t.Errorf("daemon as %s: nothing measured: %+v", r.Daemon, r)
		}
	}
	if rep.DecodeAllMsPerPicture <= 0 || rep.DecodeMsPerPicture <= 0 {
		t.Errorf("decode per picture not measured: %.2f ms decoding all, %.2f ms leaving disposable pictures undecoded",
			rep.DecodeAllMsPerPicture, rep.DecodeMsPerPicture)
	}
	if rep.FitsCameras != rep.Fits() {
		t.Errorf("the report says %d camera(s) fit, its runs say %d", rep.FitsCameras, rep.Fits())
	}
	r := rep.Runs[1]
	t.Logf("%+v", r)
	if r.Cameras != 1 || len(r.Cams) != 1 || r.Cams[0].Camera != "bench1" {
		t.Errorf("the run does not describe its camera: %+v", r)
	}
	if r.Cores <= 0 || r.Load <= 0 || r.PerCamera != r.Cores {
		t.Errorf("no CPU measured: cores %v, load %v, per camera %v", r.Cores, r.Load, r.PerCamera)
	}
	c := r.Cams[0]
	if c.SampledFPS <= 0 || c.RecognisedFPS <= 0 || c.RecognisedFPS > c.SampledFPS || c.DecodedFPS < c.SampledFPS {
		t.Errorf("implausible camera rates: %+v", c)
	}
	stages := map[string]StageCost{}
	for _, s := range r.Stages {
		stages[s.Stage] = s
	}
	for _, name := range []string{"decode", "detect", "other"} {
		if _, ok := stages[name]; !ok {
			t.Errorf("no %s stage in %+v", name, r.Stages)
		}
	}
	if s := stages["detect"]; s.Cores <= 0 || s.MsPerCall <= 0 || s.Source != "daemon" {
		t.Errorf("detect stage not read from the daemon: %+v", s)
	}
	if s := stages["decode"]; s.Cores <= 0 {
		t.Errorf("decode stage without cost: %+v", s)
	}
	sum := 0.0
	for _, s := range r.Stages {
		sum += s.Cores
	}
	if d := sum - r.Cores; d > 0.01 || d < -0.01 {
		t.Errorf("stages sum to %.3f cores, the total is %.3f", sum, r.Cores)
	}
	if rep.Width != 1920 || rep.Height != 1080 || rep.DetectFPS != 5 || rep.Workers < 1 || rep.DecodeMsPerPicture <= 0 || rep.Definition == "" {
		t.Errorf("the report does not describe the run: %+v", rep)
	}
}

func TestCapacityFigures(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := sample{at: t0, cpu: 10 * time.Second,
		stageSum: map[string]float64{"detect": 1, "embed": 0.5}, stageCount: map[string]uint64{"detect": 10, "embed": 4},
		frames: map[string]float64{"bench1": 100, "bench2": 100}, drops: map[string]float64{"bench1": 0, "bench2": 5},
		fpsIn: map[string]float64{}, sightings: 1, faces: 20, haveEmbeddings: true, made: 20, skipped: 5}
	b := sample{at: t0.Add(10 * time.Second), cpu: 18 * time.Second,
		stageSum: map[string]float64{"detect": 4, "embed": 1.5}, stageCount: map[string]uint64{"detect": 110, "embed": 54},
		frames: map[string]float64{"bench1": 150, "bench2": 150}, drops: map[string]float64{"bench1": 0, "bench2": 15},
		fpsIn: map[string]float64{"bench1": 25, "bench2": 25}, sightings: 4, faces: 80,
		haveEmbeddings: true, made: 40, skipped: 10}
	r, missing := capacityFigures(a, b, 2, 8*time.Millisecond, 2)
	if r.Cores != 0.8 || r.Load != 0.4 || r.PerCamera != 0.4 || r.Sightings != 3 || r.Faces != 60 ||
		r.EmbeddingsMade != 20 || r.EmbeddingsSkipped != 5 || r.EmbedMsPerFace != 50 || r.OverCapacity != nil {
		t.Errorf("totals: %+v", r)
	}
	want := []StageCost{
		{Stage: "decode", Cores: 0.4, PerCamera: 0.2, CallsPerS: 50, MsPerCall: 8, Source: "measured apart"},
		{Stage: "detect", Cores: 0.3, PerCamera: 0.15, CallsPerS: 10, MsPerCall: 30, Source: "daemon"},
		{Stage: "embed", Cores: 0.1, PerCamera: 0.05, CallsPerS: 5, MsPerCall: 20, Source: "daemon"},
		{Stage: "other", Cores: 0, PerCamera: 0, Source: "remainder"},
	}
	if len(r.Stages) != len(want) {
		t.Fatalf("stages %+v, want %+v", r.Stages, want)
	}
	for i := range want {
		if r.Stages[i] != want[i] {
			t.Errorf("stage %d = %+v, want %+v", i, r.Stages[i], want[i])
		}
	}
	cams := []CameraRate{
		{Camera: "bench1", DecodedFPS: 25, SampledFPS: 5, RecognisedFPS: 5},
		{Camera: "bench2", DecodedFPS: 25, SampledFPS: 5, RecognisedFPS: 4, Dropped: 10, DropPercent: 20},
	}
	for i := range cams {
		if r.Cams[i] != cams[i] {
			t.Errorf("camera %d = %+v, want %+v", i, r.Cams[i], cams[i])
		}
	}
	if r.Costs != (hwtest.StageCosts{Decode: 0.4, Detect: 0.3, Embed: 0.1}) || r.Verdict != hwtest.Pass {
		t.Errorf("costs %+v, verdict %s", r.Costs, r.Verdict)
	}
	if r.MinRecognisedFPS != 4 {
		t.Errorf("slowest camera %v, want 4", r.MinRecognisedFPS)
	}
	if len(missing) != 4 || missing[0] != "decode" {
		t.Errorf("missing stages %q, want decode, match, track, store", missing)
	}
}

// The largest count that fits: within hwtest's healthy load and every
// camera at 90% of the detection rate; the runs as before do not count.
func TestCapacityFits(t *testing.T) {
	run := func(n int, daemon string, cores, slowest float64) CapacityRun {
		return CapacityRun{Cameras: n, Daemon: daemon, Cores: cores, Verdict: hwtest.LoadVerdict(cores, 2), MinRecognisedFPS: slowest}
	}
	rep := CapacityReport{DetectFPS: 5, BoxCores: 2, Runs: []CapacityRun{
		run(1, "after", 0.45, 5), run(2, "before", 1.33, 5), run(2, "after", 0.84, 5),
		run(3, "before", 1.39, 5), // fits, but as before
		run(3, "after", 1.31, 5),
		run(4, "after", 1.38, 4.4), // within the load, one camera short of 4.5 fps
		run(6, "after", 1.93, 2.45),
	}}
	if got := rep.Fits(); got != 3 {
		t.Errorf("Fits = %d, want 3", got)
	}
	if got := (CapacityReport{DetectFPS: 5, Runs: []CapacityRun{run(1, "after", 1.5, 5)}}).Fits(); got != 0 {
		t.Errorf("Fits = %d for a box over its load with one camera, want 0", got)
	}
}
