package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
)

func TestBenchLatencyCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon against a broker and a simulated camera for 15s")
	}
	clip := filepath.Join(testenv.TestData(t, "video"), "hamilton_wh_short_640x360.mp4")
	out, stderr, err := edgectl(t, t.TempDir(), "bench-latency", "--clip", clip, "--duration", "15s", "--json")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, stderr)
	}
	var rep latencyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if rep.Count <= 0 {
		t.Fatalf("no sightings measured:\n%s\n%s", out, stderr)
	}
	if rep.P50Ms > rep.P99Ms || rep.P99Ms > rep.MaxMs {
		t.Errorf("percentiles out of order: p50 %.1f ms, p99 %.1f ms, max %.1f ms", rep.P50Ms, rep.P99Ms, rep.MaxMs)
	}
	if rep.Known.Count+rep.Unknown.Count != rep.Count {
		t.Errorf("known %d + unknown %d != count %d", rep.Known.Count, rep.Unknown.Count, rep.Count)
	}
	if rep.Definition == "" || rep.Note == "" {
		t.Errorf("the report does not say what it measures:\n%s", out)
	}
	t.Logf("%d sightings: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (known %d p50 %.1f ms; unknown %d p50 %.1f ms)",
		rep.Count, rep.P50Ms, rep.P90Ms, rep.P99Ms, rep.MaxMs, rep.Known.Count, rep.Known.P50Ms, rep.Unknown.Count, rep.Unknown.P50Ms)
}
