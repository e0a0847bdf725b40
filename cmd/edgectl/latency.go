package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dozor-edge/dozor/internal/bench"
	"github.com/dozor-edge/dozor/internal/mosquitto"
)

func runBenchLatency(ctx context.Context, args []string) error {
	fs := newFlags("bench-latency", "usage: edgectl bench-latency [--clip FILE] [--cameras N] [--duration 30s] [--models DIR] [--json]")
	clipFile := fs.String("clip", "", "video clip the simulated camera streams in a loop (default: "+bench.DefaultClip+" under $DOZOR_SHARED/testdata or ../shared/testdata)")
	enrollDir := fs.String("enroll", "", "folder of enrolment photos named <person id>.jpg (default: enroll/ beside the clip)")
	cameras := fs.Int("cameras", 1, "simulated cameras streaming the clip at once")
	duration := fs.Duration("duration", 30*time.Second, "how long to measure once the daemon is ready")
	modelFlag := fs.String("models", "", "models directory (default: $DOZOR_MODELS, ./var/models, ../shared/models)")
	mosquittoBin := fs.String("mosquitto", mosquitto.DefaultBin, "mosquitto binary")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	verbose := fs.Bool("v", false, "log the daemon at info level (default: warnings) to stderr")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *duration <= 0 {
		return errors.New("--duration must be positive")
	}
	if *cameras < 1 || *cameras > bench.MaxCameras {
		return fmt.Errorf("--cameras %d: want 1 to %d", *cameras, bench.MaxCameras)
	}
	db, err := newDaemonBench("bench-latency", *modelFlag, *clipFile, bench.DefaultClip, *verbose)
	if err != nil {
		return err
	}
	rep, err := bench.Latency(ctx, bench.LatencyConfig{
		Models: db.models, Clip: db.clip, EnrollDir: *enrollDir, Cameras: *cameras,
		Duration: *duration, Mosquitto: *mosquittoBin, Logger: db.log, Progress: db.progress,
	})
	if err != nil && !errors.Is(err, bench.ErrNoSighting) {
		return mosquittoHint(err)
	}
	if *asJSON {
		if err := writeJSON(os.Stdout, rep); err != nil {
			return err
		}
	} else {
		printLatency(os.Stdout, rep)
	}
	return err // ErrNoSighting fails the command after the report
}

func printLatency(w io.Writer, rep bench.LatencyReport) {
	fmt.Fprintf(w, "frame-to-MQTT sighting latency, %d camera(s) streaming %s for %.0fs (detect %.3g fps, %d worker(s), %d enrolled)\n",
		rep.Cameras, filepath.Base(rep.Clip), rep.DurationS, rep.DetectFPS, rep.Workers, rep.Enrolled)
	fmt.Fprintf(w, "%-8s %6s %10s %10s %10s %10s %10s\n", "", "count", "min", "p50", "p90", "p99", "max")
	row := func(name string, s bench.LatencyStats) {
		if s.Count == 0 {
			fmt.Fprintf(w, "%-8s %6d\n", name, 0)
			return
		}
		fmt.Fprintf(w, "%-8s %6d %8.1fms %8.1fms %8.1fms %8.1fms %8.1fms\n", name, s.Count, s.MinMs, s.P50Ms, s.P90Ms, s.P99Ms, s.MaxMs)
	}
	row("all", rep.LatencyStats)
	row("known", rep.Known)
	row("unknown", rep.Unknown)
	if rep.Duplicates > 0 || rep.Undecodable > 0 {
		fmt.Fprintf(w, "(%d duplicate deliveries ignored, %d undecodable messages)\n", rep.Duplicates, rep.Undecodable)
	}
	fmt.Fprintf(w, "daemon start-up: %.1fs (not included)\n", rep.StartupS)
	fmt.Fprintf(w, "definition: %s\n", rep.Definition)
	fmt.Fprintf(w, "note: %s\n", rep.Note)
}
