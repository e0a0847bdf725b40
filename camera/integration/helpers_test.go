// Package integration_test runs camera ingest end to end over loopback
// sockets: the simulated camera (camera/simcam) streaming the real clips
// of ../shared/testdata/video in real time, camera.Camera with the
// libavcodec decoder, and YuNet on the frames. The failure tests use the
// production thresholds and log how long each detection and recovery took.
package integration_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/camera/internal/leakcheck"
	"github.com/dozor-edge/dozor/camera/simcam"
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
	leakcheck.MainWith(m, func() error {
		if n := avcodec.Live(); n != 0 {
			return fmt.Errorf("%d decoders left open", n)
		}
		return nil
	})
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

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type rig struct {
	cam    *camera.Camera
	logs   *logBuffer
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
	r := &rig{logs: &logBuffer{}}
	out := camera.NewLatest()
	var err error
	r.cam, err = camera.New(cfg, camera.Options{
		Logger:   slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Decoders: avcodec.Factory(avcodec.Options{}),
		Out:      out,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := r.cam.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		for {
			f, err := out.Next(ctx)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.count++
			if keep {
				r.frames = append(r.frames, f)
			} else {
				f.Release()
			}
			r.mu.Unlock()
		}
	}()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			t0 := time.Now()
			cancel()
			wg.Wait()
			if d := time.Since(t0); d > 3*time.Second {
				t.Errorf("Run took %v to return after cancel", d)
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// runServer runs a simulated camera until stop (or the test's end).
func runServer(t *testing.T, addr string, cfg simcam.Config) (*simcam.Server, func()) {
	t.Helper()
	srv, err := simcam.Listen(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Run(ctx); err != nil {
			t.Errorf("simcam: %v", err)
		}
	}()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return srv, stop
}

// waitFor polls cond every 10 ms and returns how long it took to hold.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	t0 := time.Now()
	for !cond() {
		if time.Since(t0) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		if testing.Verbose() && time.Since(t0) > limit-20*time.Millisecond {
			t.Logf("waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(t0)
}

func state(c *camera.Camera, s camera.State) func() bool {
	return func() bool { return c.Health().State == s }
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}
