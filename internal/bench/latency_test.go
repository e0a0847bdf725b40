package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/internal/testenv"
)

func TestLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon against a broker and two simulated cameras for 15s")
	}
	clip := filepath.Join(testenv.TestData(t, "video"), filepath.Base(DefaultClip))
	var steps []string
	rep, err := Latency(context.Background(), LatencyConfig{
		Models:   testenv.ModelDir(t),
		Clip:     clip,
		Cameras:  2,
		Duration: 15 * time.Second,
		Progress: func(msg string) { steps = append(steps, msg) },
	})
	if err != nil {
		t.Fatalf("%v (steps: %q)", err, steps)
	}
	if rep.Count <= 0 {
		t.Fatalf("no sightings measured: %+v", rep)
	}
	if rep.MinMs > rep.P50Ms || rep.P50Ms > rep.P90Ms || rep.P90Ms > rep.P99Ms || rep.P99Ms > rep.MaxMs {
		t.Errorf("percentiles out of order: min %.1f, p50 %.1f, p90 %.1f, p99 %.1f, max %.1f ms",
			rep.MinMs, rep.P50Ms, rep.P90Ms, rep.P99Ms, rep.MaxMs)
	}
	if rep.Known.Count+rep.Unknown.Count != rep.Count {
		t.Errorf("known %d + unknown %d != count %d", rep.Known.Count, rep.Unknown.Count, rep.Count)
	}
	if rep.Definition == "" || rep.Note == "" {
		t.Errorf("the report does not say what it measures: %+v", rep)
	}
	if rep.Enrolled == 0 || rep.Clip != clip || rep.Cameras != 2 || rep.DurationS != 15 || rep.Workers < 1 {
		t.Errorf("the report does not describe the run: %+v", rep)
	}
	if len(steps) < 2 {
		t.Errorf("progress steps %q, want the enrolment and the start at least", steps)
	}
	t.Logf("%d sightings: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (known %d p50 %.1f ms; unknown %d p50 %.1f ms)",
		rep.Count, rep.P50Ms, rep.P90Ms, rep.P99Ms, rep.MaxMs, rep.Known.Count, rep.Known.P50Ms, rep.Unknown.Count, rep.Unknown.P50Ms)
}

func TestLatStats(t *testing.T) {
	ms := time.Millisecond
	s := latStats([]time.Duration{40 * ms, 10 * ms, 30 * ms, 20 * ms, 1500 * time.Microsecond})
	want := LatencyStats{Count: 5, MinMs: 1.5, P50Ms: 20, P90Ms: 36, P99Ms: 39.6, MaxMs: 40}
	if s != want {
		t.Errorf("latStats = %+v, want %+v", s, want)
	}
	if s := latStats(nil); s != (LatencyStats{}) {
		t.Errorf("no latencies: %+v", s)
	}
}
