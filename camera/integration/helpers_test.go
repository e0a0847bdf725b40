// Package integration_test runs camera ingest end to end over loopback
// sockets: the simulated camera (camera/simcam) streaming the real clips
// of ../shared/testdata/video in real time, camera.Camera with the
// libavcodec decoder, and YuNet on the frames. The failure tests use the
// production thresholds and log how long each detection and recovery took.
package integration_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/camera/simcam/simcamtest"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// TestMain fails the run if goroutines or decoders outlive the tests. The
// tests spend their time waiting for real-time thresholds (10 s, 15 s), not
// computing, so they run side by side beyond the default -parallel
// (GOMAXPROCS) unless -test.parallel is given.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "12")
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if n := avcodec.Live(); n != 0 && code == 0 {
			fmt.Fprintf(os.Stderr, "%d decoders left open\n", n)
			code = 1
		}
		os.Exit(code)
	}))
}

var (
	clipsMu sync.Mutex
	clips   = map[string]*camera.Clip{}
)

// clip reads (once per test binary) a clip of the shared test data.
func clip(t testing.TB, name string, o avcodec.ClipOptions) *camera.Clip {
	t.Helper()
	key := fmt.Sprintf("%s|%+v", name, o)
	clipsMu.Lock()
	defer clipsMu.Unlock()
	if c, ok := clips[key]; ok {
		return c
	}
	c, err := avcodec.ReadClip(filepath.Join(testenv.TestData(t, "video"), name), o)
	if err != nil {
		t.Fatal(err)
	}
	clips[key] = c
	return c
}

func hamilton(t testing.TB) *camera.Clip {
	return clip(t, "hamilton_wh_short_640x360.mp4", avcodec.ClipOptions{})
}

type rig struct {
	cam    *camera.Camera
	logs   *testenv.Buffer
	mu     sync.Mutex
	frames []*camera.Frame // kept when keep is set
	count  int
	stop   func()
}

func (r *rig) taken() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

func (r *rig) kept() []*camera.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*camera.Frame(nil), r.frames...)
}

// startCamera runs a camera with the libavcodec decoder and a worker
// taking every frame (keeping them when keep is set) until the test ends.
func startCamera(t *testing.T, cfg camera.Config, keep bool) *rig {
	t.Helper()
	r := &rig{}
	sr := simcamtest.StartCamera(t, cfg, avcodec.Factory(avcodec.Options{}), func(f *camera.Frame) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.count++
		if keep {
			r.frames = append(r.frames, f)
		} else {
			f.Release()
		}
	})
	r.cam, r.logs, r.stop = sr.Cam, sr.Logs, sr.Stop
	return r
}
