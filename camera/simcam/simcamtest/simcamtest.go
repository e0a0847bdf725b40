// Package simcamtest is test support, for tests only: the helpers that the
// camera tests (camera and camera/integration) share to run a simulated
// camera (camera/simcam) and a camera.Camera against it. Each function
// takes the test's testing.TB and ties what it starts to the test's end.
package simcamtest

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/simcam"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// RunServer runs a simulated camera until the returned stop function is
// called (or the test ends), which waits for the server to finish. It
// returns once the camera serves its stream.
func RunServer(t testing.TB, addr string, cfg simcam.Config) (*simcam.Server, func()) {
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
	// A camera that connects before the stream is up gets a 503 and
	// backs off; tests want a camera that is up when this returns.
	select {
	case <-srv.Ready():
	case <-done:
		t.Fatal("simcam stopped before serving")
	}
	return srv, stop
}

// WaitFor polls cond every 10 ms until it holds and returns how long that
// took; the test fails if it does not hold within limit. It polls because
// a camera's Health is a snapshot with no change notification (its
// counters move with every packet). In a synctest bubble both the polls
// and the limit run on the bubble's fake clock.
func WaitFor(t testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
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

// Rig is a camera.Camera running for a test, with a consumer taking every
// frame it delivers.
type Rig struct {
	Cam  *camera.Camera
	Logs *testenv.Buffer // the camera's log, at debug level
	// Stop cancels Run and the consumer and waits for both. Run should
	// return at once; the test fails if it has not 10 s after the cancel,
	// a bound that only a hung stop reaches. Stop runs at the test's end
	// too, and only once.
	Stop func()
}

// StartCamera runs a camera with the given decoders until the test ends,
// handing every frame to take (which owns it, and must release it).
func StartCamera(t testing.TB, cfg camera.Config, dec camera.DecoderFactory, take func(*camera.Frame)) *Rig {
	t.Helper()
	r := &Rig{Logs: &testenv.Buffer{}}
	out := camera.NewLatest()
	var err error
	r.Cam, err = camera.New(cfg, camera.Options{
		Logger:   slog.New(slog.NewTextHandler(r.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Decoders: dec,
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
		if err := r.Cam.Run(ctx); err != nil {
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
			take(f)
		}
	}()
	var once sync.Once
	r.Stop = func() {
		once.Do(func() {
			cancel()
			stopped := make(chan struct{})
			go func() { wg.Wait(); close(stopped) }()
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				t.Errorf("Run has not returned 10 s after cancel")
				<-stopped
			}
		})
	}
	t.Cleanup(r.Stop)
	return r
}

// FreeAddr returns a loopback address nothing listens on (for now).
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}
