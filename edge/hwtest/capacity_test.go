package hwtest

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/config"
)

func TestCameraLoadCost(t *testing.T) {
	l := CameraLoad{DecodeCores: 0.2, AnalysedFPS: 5, FacesPerFrame: 2}
	got := l.Cost(StageTimes{DetectFrame: 40 * time.Millisecond, EmbedFace: 10 * time.Millisecond, MatchFace: time.Millisecond})
	want := StageCosts{Decode: 0.2, Detect: 0.2, Embed: 0.1, Match: 0.01}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(got.Decode, want.Decode) || !near(got.Detect, want.Detect) || !near(got.Embed, want.Embed) ||
		!near(got.Match, want.Match) || got.Other != 0 {
		t.Errorf("Cost = %+v, want %+v", got, want)
	}
	var sum StageCosts
	sum.Add(got)
	sum.Add(StageCosts{Other: 0.09})
	if !near(sum.Total(), 0.6) {
		t.Errorf("Total = %v, want 0.6", sum.Total())
	}
}

func TestLoadVerdict(t *testing.T) {
	for _, tc := range []struct {
		name          string
		needed, cores float64
		want          Verdict
	}{
		{"idle", 0, 2, Pass},
		{"at the warning line", 1.4, 2, Pass},
		{"above it", 1.41, 2, Warn},
		{"all cores", 2, 2, Warn},
		{"beyond", 2.01, 2, Fail},
		{"no cores known", 1, 0, Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LoadVerdict(tc.needed, tc.cores); got != tc.want {
				t.Errorf("LoadVerdict(%v, %v) = %v, want %v", tc.needed, tc.cores, got, tc.want)
			}
		})
	}
}

// A face too small in the detection frame costs nothing without chips and
// an embedding per analysed frame once recognizer.chip_max_side makes it
// large enough in the picture it is cut from.
func TestCapacityCountsFacesInThePictureTheyAreCutFrom(t *testing.T) {
	run := func(chips int) CapacityReport {
		cfg := config.Defaults()
		cfg.Recognizer.ChipMaxSide = chips
		tt := &tester{cfg: cfg, cores: 1}
		cam := CameraReport{ID: "a", Streaming: true, Seconds: 10, Sampled: 50, FaceCount: 100,
			Width: 1920, Height: 1080, FrameW: 640, FrameH: 360}
		for range 20 {
			cam.Faces = append(cam.Faces, FaceSeen{W: 30, H: 30, IOD: 8}) // 24 px in the camera's picture
		}
		cam.SizeScale = tt.chipScale(&cam) // as cameraChecks sets it
		r := &Report{Cameras: []CameraReport{cam}}
		r.Models.Speed = &EngineSpeed{DetectFrame: 60 * time.Millisecond, EmbedFace: 50 * time.Millisecond}
		tt.capacity(r)
		if chips > 0 {
			// 0.8 of the core: over the warning line, and the fix names
			// what the chips cost.
			i := slices.IndexFunc(r.Checks, func(ch Check) bool { return ch.Name == "CPU load" })
			if i < 0 || r.Checks[i].Verdict != Warn ||
				!strings.Contains(r.Checks[i].Fix, "set recognizer.chip_max_side to 0 where faces are large enough in the detection frame (all cameras at 0: 0.50 cores less)") {
				t.Errorf("with chips: checks %+v, want a WARN whose fix offers to turn them off", r.Checks)
			}
		}
		return r.Capacity
	}
	if got := run(0).EmbedCores; got != 0 {
		t.Errorf("without chips: embed %.3f cores for faces the daemon does not try", got)
	}
	// 2 faces a frame at 5 frames a second, 50 ms each.
	if got := run(1920).EmbedCores; math.Abs(got-0.5) > 1e-9 {
		t.Errorf("with chips: embed %.3f cores, want 0.5", got)
	}
}
