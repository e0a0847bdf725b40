package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/simcam"
	"github.com/dozor-edge/dozor/edge"
	"github.com/dozor-edge/dozor/edge/cgodeps"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/enroll"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/mosquitto"
	"github.com/dozor-edge/dozor/recognizer/track"
)

// MaxCameras bounds the simulated cameras one run starts: each is an RTSP
// server and a decoder in this process.
const MaxCameras = 64

// rigConfig says what a rig runs.
type rigConfig struct {
	Models    string
	Clip      *camera.Clip
	EnrollDir string // holds <person id>.jpg; must not be empty
	Cameras   int
	Mosquitto string
	// ChipMaxSide is the daemon's recognizer.chip_max_side.
	ChipMaxSide int
	// Budget and Camera, when set, adjust the daemon's embedding budget
	// and each camera's configuration.
	Budget func(*track.Budget)
	Camera func(*camera.Config)
	Logger *slog.Logger
	say    func(format string, a ...any)
}

// rig is the daemon with its default configuration, fed by simulated
// cameras streaming one clip in a loop, publishing to a private mosquitto
// broker, with the enrolment photos in its gallery: the set-up the
// latency and capacity measurements share.
type rig struct {
	cfg      config.Config
	d        *edge.Daemon
	broker   *mosquitto.Broker
	enrolled int
	startup  time.Duration // from the daemon's start to Ready
	runDone  chan error
	// stopDaemon ends the daemon's Run; running is true until its end
	// has been received from runDone.
	stopDaemon context.CancelFunc
	running    bool
	undo       []func() // run in reverse by close, after the daemon stopped
}

// camID names the i-th simulated camera (from 0).
func camID(i int) string { return fmt.Sprintf("bench%d", i+1) }

// startRig enrols, starts the broker, the cameras and the daemon, and
// returns once the daemon is ready. On error everything started is
// stopped again.
func startRig(ctx context.Context, rc rigConfig) (_ *rig, err error) {
	if rc.Cameras < 1 || rc.Cameras > MaxCameras {
		return nil, fmt.Errorf("cameras: %d, want 1 to %d", rc.Cameras, MaxCameras)
	}
	log := rc.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	say := rc.say
	if say == nil {
		say = func(string, ...any) {}
	}
	items, _, err := enroll.PlanDir(rc.EnrollDir)
	if err != nil {
		return nil, fmt.Errorf("enrolment photos: %w", err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("no enrolment photos in %s", rc.EnrollDir)
	}

	r := &rig{runDone: make(chan error, 1)}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	tmp, err := os.MkdirTemp("", "edgectl-bench-")
	if err != nil {
		return nil, err
	}
	r.undo = append(r.undo, func() { os.RemoveAll(tmp) })

	dcfg := config.Defaults()
	dcfg.Site = config.Site{Region: "local", ID: latSite, TimeZone: "UTC"}
	dcfg.Models.Dir = rc.Models
	dcfg.Store.Path = filepath.Join(tmp, "dozor.db")
	dcfg.Store.KeyFile = filepath.Join(tmp, "key", "dozor.key")
	dcfg.HTTP.Listen = "127.0.0.1:0"
	dcfg.Recognizer.ChipMaxSide = rc.ChipMaxSide
	if err := os.Mkdir(filepath.Dir(dcfg.Store.KeyFile), 0o700); err != nil {
		return nil, err
	}
	if _, err := store.GenerateKeyFile(dcfg.Store.KeyFile); err != nil {
		return nil, err
	}
	if r.enrolled, err = latEnrol(ctx, dcfg, items); err != nil {
		return nil, err
	}
	say("enrolled %d person(s) from %s", r.enrolled, rc.EnrollDir)

	if r.broker, err = mosquitto.Start(tmp, mosquitto.Options{Bin: rc.Mosquitto}); err != nil {
		return nil, err
	}
	r.undo = append(r.undo, func() { r.broker.Stop(syscall.SIGTERM) })
	dcfg.Uplink.Broker = r.broker.URL()

	camCtx, camCancel := context.WithCancel(context.Background())
	camDone := make(chan struct{}, rc.Cameras)
	started := 0
	r.undo = append(r.undo, func() {
		camCancel()
		for range started {
			<-camDone
		}
	})
	for i := range rc.Cameras {
		srv, err := simcam.Listen("127.0.0.1:0", simcam.Config{Clip: rc.Clip, Loop: true})
		if err != nil {
			return nil, err
		}
		started++
		go func() { defer func() { camDone <- struct{}{} }(); _ = srv.Run(camCtx) }()
		dcfg.Cameras = append(dcfg.Cameras, config.Camera{ID: camID(i), URL: srv.URL(), Zone: "bench"})
	}
	r.cfg = dcfg

	deps := cgodeps.Deps(dcfg, log)
	deps.Version = "bench"
	deps.Budget, deps.Camera = rc.Budget, rc.Camera
	if r.d, err = edge.New(dcfg, deps); err != nil {
		return nil, err
	}
	runCtx, stopDaemon := context.WithCancel(context.Background())
	r.stopDaemon = stopDaemon
	r.running = true
	t0 := time.Now()
	go func() { r.runDone <- r.d.Run(runCtx) }()
	select {
	case <-r.d.Ready():
	case err := <-r.runDone:
		r.running = false
		return nil, fmt.Errorf("daemon did not start: %v", err)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(2 * time.Minute):
		return nil, errors.New("daemon not ready after 2m")
	}
	r.startup = time.Since(t0)
	return r, nil
}

// wait waits for d, ctx or the daemon's end, whichever comes first.
func (r *rig) wait(ctx context.Context, d time.Duration) (interrupted bool, err error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false, nil
	case <-ctx.Done():
		return true, nil
	case err := <-r.runDone:
		r.running = false
		return false, fmt.Errorf("daemon stopped during the measurement: %v", err)
	}
}

// stop stops the daemon, waiting up to 30 s for it; say hears a failure.
func (r *rig) stop(say func(string, ...any)) {
	if !r.running {
		return
	}
	r.running = false
	r.stopDaemon()
	select {
	case err := <-r.runDone:
		if err != nil {
			say("daemon stopped with: %v", err)
		}
	case <-time.After(30 * time.Second):
		say("daemon did not stop within 30s")
	}
}

// close stops the daemon, then everything else the rig started, and
// removes its files.
func (r *rig) close() {
	r.stop(func(string, ...any) {})
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
	r.undo = nil
}
