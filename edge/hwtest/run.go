package hwtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/hw"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/sync/uplink"
)

// Options tune a run. The zero value is what `edgectl hwtest` uses.
type Options struct {
	// Version is the software version recorded in the report.
	Version string
	// Roots are where /proc and /sys are read (fixture trees in tests).
	Roots hw.Roots
	// Duration is how long each camera is sampled for faces once it
	// streams (default 20 s); ConnectWait how long a camera may take to
	// deliver its first picture (default 10 s).
	Duration, ConnectWait time.Duration
	// WriteBytes is the size of the fsync'd write test in the store's
	// folder (default 64 MiB); negative skips it.
	WriteBytes int64
	// NTPServer, when set, is asked for the clock offset (host or
	// host:port).
	NTPServer string
	// Pings is the number of MQTT round trips (default 10).
	Pings int
	// SpeedBudget is how long each model speed measurement runs (default
	// 2 s).
	SpeedBudget time.Duration
	// Progress receives one line per step (rewritten in place on a
	// terminal); nil shows nothing.
	Progress io.Writer

	// Decoders opens the cameras' decoders (default libavcodec), and
	// NewEngine the recognition engines (default: the configured engine).
	Decoders  camera.DecoderFactory
	NewEngine func() (recognizer.Engine, error)
	// Camera and Uplink adjust the derived configurations (tests).
	Camera func(*camera.Config)
	Uplink func(*uplink.Config)
	Now    func() time.Time
}

func (o *Options) setDefaults() {
	if o.Roots == (hw.Roots{}) {
		o.Roots = hw.DefaultRoots()
	}
	if o.Duration <= 0 {
		o.Duration = 20 * time.Second
	}
	if o.ConnectWait <= 0 {
		o.ConnectWait = 10 * time.Second
	}
	if o.Pings <= 0 {
		o.Pings = 10
	}
	if o.SpeedBudget <= 0 {
		o.SpeedBudget = 2 * time.Second
	}
	if o.Decoders == nil {
		o.Decoders = avcodec.Factory(avcodec.Options{})
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

type tester struct {
	cfg     config.Config
	opt     Options
	workers int
	cores   int
	// noDetect: no engine loaded, so cameras are tested without faces.
	noDetect bool

	pmu      sync.Mutex
	lastStep string
	lastLine time.Time
	tty      bool
}

// Run tests this box against cfg: the box, the models, every camera and
// the uplink, and returns the report. It fails only when it cannot test
// at all (a cancelled context); everything it finds wrong is a check in
// the report.
func Run(ctx context.Context, cfg config.Config, opt Options) (*Report, error) {
	opt.setDefaults()
	t := &tester{cfg: cfg, opt: opt, workers: cfg.Workers(), cores: runtime.NumCPU()}
	if f, ok := opt.Progress.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			t.tty = true
		}
	}
	r := &Report{Version: opt.Version, Started: t.now(), Verdict: Pass}
	r.Host, _ = os.Hostname()

	t.progress("box: CPU")
	t.box(ctx, r)

	t.progress("models: verifying")
	var engs []recognizer.Engine
	defer func() {
		for _, e := range engs {
			e.Close()
		}
	}()
	if t.checkModels(r) {
		n := min(t.workers, max(1, len(cfg.Cameras)))
		t.progress(fmt.Sprintf("models: loading %d engines", n))
		newEngine := opt.NewEngine
		if newEngine == nil {
			// The daemon's factory, so the speed measured is the speed the
			// daemon gets.
			newEngine = engines.ForWorkers(cfg.Models.Dir, cfg.Models.Engine, cfg.Models.DetectionSize, t.workers)
		}
		for range n {
			e, err := newEngine()
			if err != nil {
				r.add(Check{Section: "models", Name: "load", Verdict: Fail, Value: err.Error(),
					Fix: "the engine does not load on this box: reinstall the models (edgectl models install) and the OpenCV runtime libraries"})
				break
			}
			engs = append(engs, e)
		}
		if len(engs) > 0 {
			t.progress("models: measuring speed")
			t.measureEngine(r, engs[0])
		}
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}

	t.cameras(ctx, r, engs)
	if err := ctx.Err(); err != nil {
		return r, err
	}
	t.tempUnderLoad(r)
	t.progress("uplink: connecting")
	t.checkUplink(ctx, r)
	t.capacity(r)
	r.Duration = t.now().Sub(r.Started)
	t.progressDone()
	return r, ctx.Err()
}

func (t *tester) now() time.Time { return t.opt.Now() }

// progress shows what is being tested. On a terminal the line is
// rewritten in place; elsewhere (a log) a line is written when the step
// changes, and at most every 5 s while it does not.
func (t *tester) progress(msg string) {
	w := t.opt.Progress
	if w == nil {
		return
	}
	t.pmu.Lock()
	defer t.pmu.Unlock()
	step, _, _ := strings.Cut(msg, ":")
	now := time.Now()
	if t.tty {
		fmt.Fprintf(w, "\r\033[K%s", msg)
		return
	}
	if step == t.lastStep && now.Sub(t.lastLine) < 5*time.Second {
		return
	}
	t.lastStep, t.lastLine = step, now
	fmt.Fprintln(w, msg)
}

func (t *tester) progressDone() {
	if t.opt.Progress != nil && t.tty {
		fmt.Fprint(t.opt.Progress, "\r\033[K")
	}
}
