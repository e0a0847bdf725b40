package camera_test

// Supervision over real loopback sockets with the pure-Go simulated camera
// and a fake decoder, with shortened thresholds so they run in seconds and
// under -race. camera/integration repeats the failures with the real
// decoder and the production thresholds.

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/simcam"
	"github.com/dozor-edge/dozor/camera/simcam/simcamtest"
	"github.com/dozor-edge/dozor/internal/backoff"
	"github.com/dozor-edge/dozor/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	sps = []byte{0x67, 0x42, 0xc0, 0x1e, 0xda, 0x2, 0x80, 0xbf, 0xe5, 0xc0, 0x5a, 0x80, 0x80, 0x80, 0xa0, 0x0, 0x0, 0xc, 0x80, 0x0, 0x2, 0xed, 0x41, 0xe2, 0xc5, 0xd4}
	pps = []byte{0x68, 0xce, 0x3c, 0x80}
)

// syntheticClip: 2 s of 25 fps H.264-shaped access units, IDR every 25.
func syntheticClip() *camera.Clip {
	c := &camera.Clip{Codec: camera.H264, Width: 640, Height: 360, FPS: 25, Params: [][]byte{sps, pps}, Period: 2 * time.Second}
	for i := range 50 {
		s := bytes.Repeat([]byte{byte(i) | 1}, 3000)
		s[0] = 0x41
		u := camera.AccessUnit{PTS: int64(i) * 3600, DTS: int64(i) * 3600}
		if i%25 == 0 {
			s[0] = 0x65
			u.NALUs, u.Random = [][]byte{sps, pps, s}, true
		} else {
			u.NALUs = [][]byte{s}
		}
		c.Units = append(c.Units, u)
	}
	return c
}

// fakeDecoder turns every access unit holding a slice into a 640x360
// picture.
type fakeDecoder struct{ last camera.Picture }

func (d *fakeDecoder) Decode(au [][]byte, pts int64) (int, camera.Picture, error) {
	for _, n := range au {
		if t := n[0] & 0x1f; t == 1 || t == 5 {
			d.last = camera.Picture{W: 640, H: 360, PTS: pts}
			return 1, d.last, nil
		}
	}
	return 0, camera.Picture{}, nil
}
func (d *fakeDecoder) Convert(dst []byte, w, h int) error { return nil }
func (d *fakeDecoder) Close() error                       { return nil }

func fakeDecoders(camera.Codec) (camera.Decoder, error) { return &fakeDecoder{}, nil }

type rig struct {
	cam  *camera.Camera
	logs *testenv.Buffer
	stop func()
}

// startCamera runs a camera until the test ends, with a consumer taking
// every frame; Run must return when stopped, leaving the camera stopped.
func startCamera(t *testing.T, cfg camera.Config, dec camera.DecoderFactory) *rig {
	t.Helper()
	sr := simcamtest.StartCamera(t, cfg, dec, (*camera.Frame).Release)
	r := &rig{cam: sr.Cam, logs: sr.Logs}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			sr.Stop()
			if h := r.cam.Health(); h.State != camera.StateStopped {
				t.Errorf("state after Run: %v", h.State)
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

func fast(id, url string) camera.Config {
	return camera.Config{
		ID: id, URL: url,
		PacketTimeout: time.Second, PictureTimeout: 1500 * time.Millisecond, StallAfter: 300 * time.Millisecond,
		Backoff:       backoff.Policy{Min: 50 * time.Millisecond, Max: 400 * time.Millisecond, Jitter: 0.2},
		ProbeInterval: 50 * time.Millisecond,
	}
}

func streaming(c *camera.Camera) func() bool {
	return func() bool { return c.Health().State == camera.StateStreaming }
}

func TestSupervisedStreamAndReconnect(t *testing.T) {
	srv, stop := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: syntheticClip(), Loop: true})
	addr := srv.Addr()
	cfg := fast("c1", srv.URL())
	// This test is about reconnecting: thresholds a loaded CI box cannot
	// trip by a scheduling hiccup.
	cfg.StallAfter, cfg.PacketTimeout, cfg.PictureTimeout = 2*time.Second, 4*time.Second, 4*time.Second
	r := startCamera(t, cfg, fakeDecoders)
	simcamtest.WaitFor(t, 5*time.Second, "streaming", streaming(r.cam))
	simcamtest.WaitFor(t, 5*time.Second, "25 frames", func() bool { return r.cam.Health().Frames >= 25 })
	// State changes only (connecting, streaming; on a starved CI box
	// perhaps a stall and its end): nothing per frame.
	if n := strings.Count(r.logs.String(), "\n"); n > 8 {
		t.Fatalf("%d log lines for a stream of 25 frames, want only the state changes:\n%s", n, r.logs.String())
	}

	stop()
	// The state seen is kept: read again later, the camera may already be
	// on its next attempt.
	var h camera.Health
	simcamtest.WaitFor(t, 5*time.Second, "noticing the server is gone", func() bool {
		h = r.cam.Health()
		return h.State == camera.StateBackingOff || (h.State == camera.StateConnecting && h.Reason != "")
	})
	if h.Reason != camera.ReasonUnreachable && h.Reason != camera.ReasonDisconnected {
		t.Fatalf("server gone: reason %q (%s)", h.Reason, h.Error)
	}
	// The server comes back only once an attempt found nothing listening.
	simcamtest.WaitFor(t, 5*time.Second, "an attempt finding nothing listening", func() bool {
		h = r.cam.Health()
		return h.Reason == camera.ReasonUnreachable
	})
	before := h.Frames
	_, _ = simcamtest.RunServer(t, addr, simcam.Config{Clip: syntheticClip(), Loop: true})
	took := simcamtest.WaitFor(t, 5*time.Second, "streaming again", func() bool {
		h := r.cam.Health()
		return h.State == camera.StateStreaming && h.Frames > before
	})
	t.Logf("streaming again %v after the server returned", took)
	h = r.cam.Health()
	if h.Reconnects < 1 || h.Reason != camera.ReasonNone {
		t.Fatalf("after reconnect: %+v", h)
	}
	if h.Codec != camera.H264 || h.Width != 640 || h.Height != 360 {
		t.Fatalf("stream description: %s %dx%d", h.Codec, h.Width, h.Height)
	}
}

func TestSupervisedWatchdog(t *testing.T) {
	for _, tc := range []struct {
		fault  simcam.Fault
		reason camera.Reason
	}{
		{simcam.FaultSilent, camera.ReasonNoPackets},
		{simcam.FaultFreeze, camera.ReasonNoPictures},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			t.Parallel()
			srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: syntheticClip(), Loop: true})
			r := startCamera(t, fast("c1", srv.URL()), fakeDecoders)
			simcamtest.WaitFor(t, 5*time.Second, "streaming", streaming(r.cam))
			srv.SetFault(tc.fault)
			stalled := simcamtest.WaitFor(t, 3*time.Second, "stall reported", func() bool {
				h := r.cam.Health()
				return h.State == camera.StateStalled && h.Reason == tc.reason
			})
			restarted := simcamtest.WaitFor(t, 5*time.Second, "session restarted", func() bool { return r.cam.Health().Stalls >= 1 })
			t.Logf("%s: stalled after %v, restarted %v later", tc.fault, stalled, restarted)
			srv.SetFault(simcam.FaultNone)
			simcamtest.WaitFor(t, 5*time.Second, "streaming again", func() bool {
				h := r.cam.Health()
				return h.State == camera.StateStreaming && h.Reconnects >= 1
			})
		})
	}
}

func TestSupervisedFailures(t *testing.T) {
	clip := syntheticClip()
	free := simcamtest.FreeAddr(t)
	for _, tc := range []struct {
		name   string
		cfg    simcam.Config
		url    func(*simcam.Server) string
		state  camera.State
		reason camera.Reason
		status int
	}{
		{"wrong password", simcam.Config{Clip: clip, User: "admin", Pass: "right"},
			func(s *simcam.Server) string { return "rtsp://admin:wrong-pw@" + s.Addr() + "/cam1" },
			camera.StateFailed, camera.ReasonUnauthorized, 401},
		{"no credentials", simcam.Config{Clip: clip, User: "admin", Pass: "right"},
			func(s *simcam.Server) string { return "rtsp://" + s.Addr() + "/cam1" },
			camera.StateFailed, camera.ReasonUnauthorized, 401},
		{"wrong path", simcam.Config{Clip: clip},
			func(s *simcam.Server) string { return "rtsp://" + s.Addr() + "/nope" },
			camera.StateFailed, camera.ReasonNotFound, 404},
		{"unsupported codec", simcam.Config{Clip: clip, Unsupported: true},
			func(s *simcam.Server) string { return s.URL() },
			camera.StateFailed, camera.ReasonUnsupportedCodec, 0},
		{"nothing listening", simcam.Config{},
			func(*simcam.Server) string { return "rtsp://user:wrong-pw@" + free + "/cam1" },
			camera.StateBackingOff, camera.ReasonUnreachable, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var srv *simcam.Server
			if tc.cfg.Clip != nil {
				srv, _ = simcamtest.RunServer(t, "127.0.0.1:0", tc.cfg)
			}
			// The server runs outside the bubble and the camera inside: its
			// RTSP exchanges are real (the fake clock stands still while
			// they are under way) and its backoff waits pass on the fake
			// clock, exactly as configured and at once.
			synctest.Test(t, func(t *testing.T) {
				cfg := fast("c1", tc.url(srv))
				cfg.Backoff = backoff.Policy{Min: 100 * time.Millisecond, Max: 400 * time.Millisecond}
				r := startCamera(t, cfg, fakeDecoders)
				// The state seen is kept: read again later, the camera may
				// already be on its next attempt.
				var h camera.Health
				simcamtest.WaitFor(t, 3*time.Second, "failure reported", func() bool {
					h = r.cam.Health()
					return h.State == tc.state && h.Reason == tc.reason
				})
				t.Logf("%s: %s", h.State, h.Error)
				if h.StatusCode != tc.status || h.NextAttempt.IsZero() {
					t.Fatalf("status %d, next attempt %v", h.StatusCode, h.NextAttempt)
				}
				if srv != nil {
					// No hot loop: the retries wait 100, 200, 400, 400 ms,
					// so the next 1.45 s hold exactly four.
					c0 := srv.Stats().Conns
					time.Sleep(1450 * time.Millisecond)
					if n := srv.Stats().Conns - c0; n != 4 {
						t.Fatalf("%d connections in the 1.45 s after the failure, want 4 (backoff 100, 200, 400, 400 ms)", n)
					}
				}
				r.stop()
				if logs := r.logs.String(); strings.Contains(logs, "wrong-pw") || strings.Contains(h.URL+h.Error, "wrong-pw") {
					t.Fatalf("password in logs or health:\n%s", logs)
				}
			})
		})
	}
}

func TestSupervisedUDP(t *testing.T) {
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: syntheticClip(), Loop: true, UDP: true})
	cfg := fast("c1", srv.URL())
	cfg.Transport = camera.TransportUDP
	r := startCamera(t, cfg, fakeDecoders)
	simcamtest.WaitFor(t, 5*time.Second, "streaming over UDP", streaming(r.cam))
	simcamtest.WaitFor(t, 5*time.Second, "frames over UDP", func() bool { return r.cam.Health().Frames >= 5 })
}

func TestDropEvery(t *testing.T) {
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: syntheticClip(), Loop: true, DropEvery: 700 * time.Millisecond})
	r := startCamera(t, fast("c1", srv.URL()), fakeDecoders)
	simcamtest.WaitFor(t, 8*time.Second, "three reconnects", func() bool { return r.cam.Health().Reconnects >= 3 })
	h := r.cam.Health()
	if h.Frames < 6 {
		t.Fatalf("only %d frames across reconnects", h.Frames)
	}
}
