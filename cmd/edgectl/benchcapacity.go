package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/edge/hwtest"
	"github.com/dozor-edge/dozor/internal/bench"
	"github.com/dozor-edge/dozor/internal/mosquitto"
)

func runBenchCapacity(ctx context.Context, args []string) error {
	fs := newFlags("bench-capacity", "usage: edgectl bench-capacity [--cameras 1,2,4,6] [--clip FILE] [--codec h264|h265] [--chip-max-side N] [--warmup 15s] [--duration 40s] [--json]")
	camList := fs.String("cameras", "1", "camera counts to measure in turn, comma-separated (each with a fresh daemon)")
	clipFile := fs.String("clip", "", "video clip every simulated camera streams in a loop (default: "+bench.DefaultCapacityClip+" under $DOZOR_SHARED/testdata or ../shared/testdata)")
	codec := fs.String("codec", "", "re-encode the clip as an IP camera streams it (no B-frames, an IDR every second): h264 or h265 (default: the clip as it is)")
	chipMaxSide := fs.Int("chip-max-side", 0, "the daemon's recognizer.chip_max_side: cut faces from each sampled picture at up to N pixels on the long side (0: from the detection frame, the default)")
	enrollDir := fs.String("enroll", "", "folder of enrolment photos named <person id>.jpg for the gallery (default: enroll/ beside the clip, else video/enroll of the test data)")
	warmup := fs.Duration("warmup", 15*time.Second, "how long each daemon runs before the measurement")
	duration := fs.Duration("duration", 40*time.Second, "how long each camera count is measured")
	modelFlag := fs.String("models", "", "models directory (default: $DOZOR_MODELS, ./var/models, ../shared/models)")
	mosquittoBin := fs.String("mosquitto", mosquitto.DefaultBin, "mosquitto binary")
	before := fs.Bool("before", false, "measure each count first as the daemon ran before its capacity work (every usable face embedded every frame, every picture decoded), then as it runs now")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	verbose := fs.Bool("v", false, "log the daemon at info level (default: warnings) to stderr")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	counts, err := parseCounts(*camList)
	if err != nil {
		return err
	}
	if *duration <= 0 {
		return errors.New("--duration must be positive")
	}
	if *warmup < 0 {
		return errors.New("--warmup cannot be negative")
	}
	var cc camera.Codec
	if *codec != "" {
		cc = camera.Codec(strings.ToUpper(*codec))
		if cc != camera.H264 && cc != camera.H265 {
			return fmt.Errorf("--codec %q: want h264 or h265", *codec)
		}
	}
	if err := bench.CheckChipMaxSide(*chipMaxSide); err != nil {
		return err
	}
	db, err := newDaemonBench("bench-capacity", *modelFlag, *clipFile, bench.DefaultCapacityClip, *verbose)
	if err != nil {
		return err
	}
	rep, err := bench.Capacity(ctx, bench.CapacityConfig{
		Models: db.models, Clip: db.clip, Codec: cc, EnrollDir: *enrollDir, Cameras: counts,
		Warmup: *warmup, Duration: *duration, Mosquitto: *mosquittoBin, Before: *before, ChipMaxSide: *chipMaxSide,
		Logger: db.log, Progress: db.progress,
	})
	err = mosquittoHint(err)
	if len(rep.Runs) > 0 {
		if *asJSON {
			if jerr := writeJSON(os.Stdout, rep); jerr != nil {
				return jerr
			}
		} else {
			printCapacity(os.Stdout, rep)
		}
	}
	return err
}

// parseCounts reads "1,2,4,6".
func parseCounts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > bench.MaxCameras {
			return nil, fmt.Errorf("--cameras %q: want counts from 1 to %d separated by commas", s, bench.MaxCameras)
		}
		out = append(out, n)
	}
	return out, nil
}

func printCapacity(w io.Writer, rep bench.CapacityReport) {
	chips := "faces cut from the detection frame"
	if rep.ChipMaxSide > 0 {
		chips = fmt.Sprintf("faces cut from the picture at up to %d px", rep.ChipMaxSide)
	}
	fmt.Fprintf(w, "capacity: %s (%s %dx%d at %.3g fps), detect %.3g fps, %s, engine %s, %d worker(s), %d cores, warm-up %.0fs\n",
		filepath.Base(rep.Clip), rep.Codec, rep.Width, rep.Height, rep.FPS, rep.DetectFPS, chips, rep.Engine, rep.Workers, rep.BoxCores, rep.WarmupS)
	// One column per camera count, one row per figure: before/after
	// comparisons read across.
	row := func(name string, v func(bench.CapacityRun) string) {
		fmt.Fprintf(w, "%-26s", name)
		for _, r := range rep.Runs {
			fmt.Fprintf(w, " %9s", v(r))
		}
		fmt.Fprintln(w)
	}
	row("cameras", func(r bench.CapacityRun) string { return strconv.Itoa(r.Cameras) })
	compared := slices.ContainsFunc(rep.Runs, func(r bench.CapacityRun) bool { return r.Daemon == "before" })
	if compared {
		row("daemon", func(r bench.CapacityRun) string { return r.Daemon })
	}
	f2 := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	row("cores used", func(r bench.CapacityRun) string { return f2(r.Cores) })
	row("load (of all cores)", func(r bench.CapacityRun) string { return fmt.Sprintf("%.0f%%", 100*r.Load) })
	row("other processes' cores", func(r bench.CapacityRun) string { return f2(r.OthersCores) })
	row("verdict (hwtest's limits)", func(r bench.CapacityRun) string { return string(r.Verdict) })
	row("cores per camera", func(r bench.CapacityRun) string { return f2(r.PerCamera) })
	var stages []string
	for _, r := range rep.Runs {
		for _, s := range r.Stages {
			if !slices.Contains(stages, s.Stage) {
				stages = append(stages, s.Stage)
			}
		}
	}
	for _, st := range stages {
		row("  "+st+" cores", func(r bench.CapacityRun) string {
			for _, s := range r.Stages {
				if s.Stage == st {
					return f2(s.Cores)
				}
			}
			return "-"
		})
	}
	for _, st := range stages {
		if st == "other" { // a remainder has no calls
			continue
		}
		row("  "+st+" ms/call", func(r bench.CapacityRun) string {
			for _, s := range r.Stages {
				if s.Stage == st && s.MsPerCall > 0 {
					return f2(s.MsPerCall)
				}
			}
			return "-"
		})
	}
	row("sampled fps (all)", func(r bench.CapacityRun) string {
		t := 0.0
		for _, c := range r.Cams {
			t += c.SampledFPS
		}
		return f2(t)
	})
	row("recognised fps (all)", func(r bench.CapacityRun) string {
		t := 0.0
		for _, c := range r.Cams {
			t += c.RecognisedFPS
		}
		return f2(t)
	})
	row("slowest camera, recog fps", func(r bench.CapacityRun) string { return f2(r.MinRecognisedFPS) })
	row("dropped frames", func(r bench.CapacityRun) string {
		var t uint64
		for _, c := range r.Cams {
			t += c.Dropped
		}
		return strconv.FormatUint(t, 10)
	})
	row("embeddings made", func(r bench.CapacityRun) string { return strconv.FormatUint(r.EmbeddingsMade, 10) })
	row("embeddings skipped", func(r bench.CapacityRun) string { return strconv.FormatUint(r.EmbeddingsSkipped, 10) })
	var reasons []string
	for _, r := range rep.Runs {
		for k := range r.EmbeddingsByReason {
			if !slices.Contains(reasons, k) {
				reasons = append(reasons, k)
			}
		}
	}
	slices.Sort(reasons)
	for _, k := range reasons {
		row("  "+k, func(r bench.CapacityRun) string { return strconv.FormatUint(r.EmbeddingsByReason[k], 10) })
	}
	row("embed ms per face", func(r bench.CapacityRun) string { return f2(r.EmbedMsPerFace) })
	row("daemon says over capacity", func(r bench.CapacityRun) string {
		if r.OverCapacity == nil {
			return "-"
		}
		return strconv.FormatBool(*r.OverCapacity)
	})
	row("faces", func(r bench.CapacityRun) string { return strconv.FormatUint(r.Faces, 10) })
	row("sightings", func(r bench.CapacityRun) string { return strconv.FormatUint(r.Sightings, 10) })
	row("measured for (s)", func(r bench.CapacityRun) string { return strconv.FormatFloat(r.DurationS, 'f', 1, 64) })
	for _, r := range rep.Runs {
		fmt.Fprintf(w, "%d camera(s)", r.Cameras)
		if compared {
			fmt.Fprintf(w, " (%s)", r.Daemon)
		}
		fmt.Fprint(w, ", per camera: ")
		for i, c := range r.Cams {
			if i > 0 {
				fmt.Fprint(w, "; ")
			}
			fmt.Fprintf(w, "%s %.1f/%.1f fps recognised/sampled, %d dropped", c.Camera, c.RecognisedFPS, c.SampledFPS, c.Dropped)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "decode (measured apart): %.2f ms of CPU per picture received", rep.DecodeMsPerPicture)
	if rep.DecodeAllMsPerPicture > 0 {
		fmt.Fprintf(w, "; %.2f ms decoding every picture (before)", rep.DecodeAllMsPerPicture)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "largest camera count that fits (at most %.0f%% of the cores, every camera at %.0f%% of %.3g fps or more): %d\n",
		100*hwtest.WarnLoad, 100*bench.MinFitShare, rep.DetectFPS, rep.Fits())
	if len(rep.Missing) > 0 {
		fmt.Fprintf(w, "stages the daemon does not time: %s\n", strings.Join(rep.Missing, ", "))
	}
	for _, r := range rep.Runs {
		if r.OthersCores > 0.1 {
			fmt.Fprintf(w, "warning: other processes used %.2f cores while %d camera(s) were measured: measure on a quiet machine\n", r.OthersCores, r.Cameras)
		}
	}
	fmt.Fprintf(w, "definition: %s\n", rep.Definition)
}
