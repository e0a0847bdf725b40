package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/edge/hwtest"
	"github.com/dozor-edge/dozor/internal/bench"
)

func TestBenchCapacityBadArguments(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no cameras", []string{"--cameras", "0"}, "--cameras"},
		{"bad list", []string{"--cameras", "1,,4"}, "--cameras"},
		{"too many", []string{"--cameras", "1,65"}, "want counts from 1 to 64"},
		{"no duration", []string{"--duration", "0s"}, "--duration must be positive"},
		{"negative warm-up", []string{"--warmup", "-1s"}, "--warmup cannot be negative"},
		{"codec", []string{"--codec", "vp8"}, "want h264 or h265"},
		{"chips below the detection size", []string{"--chip-max-side", "320"}, "recognizer.chip_max_side: 320 must be 0"},
		{"stray argument", []string{"clip.mp4"}, "unexpected arguments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := edgectl(t, t.TempDir(), append([]string{"bench-capacity"}, c.args...)...)
			if err == nil || !strings.Contains(stderr, c.want) {
				t.Fatalf("err %v, stderr %q, want it to mention %q", err, stderr, c.want)
			}
		})
	}
}

func TestBenchCapacityNeedsSharedData(t *testing.T) {
	empty := t.TempDir()
	_, stderr, err := edgectlEnv(t, []string{bench.EnvShared + "=" + empty}, "bench-capacity")
	if err == nil || !strings.Contains(stderr, "no --clip given") || !strings.Contains(stderr, bench.EnvShared) {
		t.Errorf("bench-capacity without shared data: err %v, stderr %q", err, stderr)
	}
}

func TestParseCounts(t *testing.T) {
	got, err := parseCounts("1, 2,4,6")
	if err != nil || len(got) != 4 || got[0] != 1 || got[3] != 6 {
		t.Errorf("parseCounts = %v, %v", got, err)
	}
}

// The table has a column per camera count, so before and after read
// across one line.
func TestPrintCapacity(t *testing.T) {
	run := func(n int, cores float64) bench.CapacityRun {
		r := bench.CapacityRun{Cameras: n, Daemon: "after", Cores: cores, Load: cores / 2, PerCamera: cores / float64(n),
			Verdict: hwtest.LoadVerdict(cores, 2), MinRecognisedFPS: 5,
			Stages: []bench.StageCost{{Stage: "decode", Cores: 0.2 * float64(n), MsPerCall: 8}, {Stage: "other", Cores: 0.1}}}
		for range n {
			r.Cams = append(r.Cams, bench.CameraRate{Camera: "c", SampledFPS: 5, RecognisedFPS: 5})
		}
		return r
	}
	var b bytes.Buffer
	printCapacity(&b, bench.CapacityReport{Clip: "/x/clip.mp4", Codec: "H264", Width: 1920, Height: 1080, FPS: 25,
		DetectFPS: 5, Workers: 2, BoxCores: 2, Missing: []string{"track"},
		Runs: []bench.CapacityRun{run(1, 0.5), run(4, 1.6)}})
	out := b.String()
	if strings.Contains(out, "after") {
		t.Errorf("a run without --before names the daemon's variant:\n%s", out)
	}
	for _, want := range []string{"clip.mp4 (H264 1920x1080", "faces cut from the detection frame", "cameras", "0.50      1.60", "25%", "80%",
		"PASS      WARN", "decode cores", "decode ms/call", "recognised fps (all)", "20.00",
		"4 camera(s), per camera:", "stages the daemon does not time: track",
		"largest camera count that fits (at most 70% of the cores, every camera at 90% of 5 fps or more): 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// With --before, each count has a column as before first.
	off := run(4, 1.9)
	off.Daemon = "before"
	b.Reset()
	printCapacity(&b, bench.CapacityReport{Clip: "/x/clip.mp4", Codec: "H264", Width: 1920, Height: 1080, FPS: 25,
		DetectFPS: 5, Workers: 2, BoxCores: 2, ChipMaxSide: 1920, Runs: []bench.CapacityRun{off, run(4, 1.6)}})
	out = b.String()
	for _, want := range []string{"faces cut from the picture at up to 1920 px", "daemon ", "before     after\n", "1.90      1.60", "4 camera(s) (before), per camera"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
