package integration_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/simcam"
	"github.com/dozor-edge/dozor/camera/simcam/simcamtest"
)

// The failure tests run with the production settings (10 s without
// packets, 15 s without pictures, stall reported at 5 s, backoff 1 s to
// 60 s, port probe every 2 s) over real sockets, and log what each
// detection and recovery took.

func streamingWithFrames(r *rig, after uint64) func() bool {
	return func() bool {
		h := r.cam.Health()
		return h.State == camera.StateStreaming && h.Frames > after
	}
}

func TestServerKilledMidStreamAndRestarted(t *testing.T) {
	t.Parallel()
	srv, stop := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: hamilton(t), Loop: true})
	addr := srv.Addr()
	r := startCamera(t, camera.Config{ID: "gate", URL: srv.URL()}, false)
	simcamtest.WaitFor(t, 10*time.Second, "streaming", streamingWithFrames(r, 5))

	stop()
	noticed := simcamtest.WaitFor(t, 5*time.Second, "noticing the server died", func() bool {
		return r.cam.Health().State != camera.StateStreaming
	})
	const down = 4 * time.Second
	time.Sleep(down)
	h := r.cam.Health()
	if h.State != camera.StateBackingOff || h.Reason != camera.ReasonUnreachable {
		t.Fatalf("while the server is down: %s / %s (%s)", h.State, h.Reason, h.Error)
	}
	before := h.Frames
	simcamtest.RunServer(t, addr, simcam.Config{Clip: hamilton(t), Loop: true})
	back := simcamtest.WaitFor(t, 10*time.Second, "streaming again within 10 s of the server's return", streamingWithFrames(r, before))
	h = r.cam.Health()
	t.Logf("server killed mid-stream: noticed after %v; down %v; streaming again %v after it returned (%d reconnects)",
		noticed.Round(time.Millisecond), down, back.Round(time.Millisecond), h.Reconnects)
	if h.Reconnects < 2 {
		t.Fatalf("reconnects %d", h.Reconnects)
	}
}

func TestCameraDownAtStartup(t *testing.T) {
	t.Parallel()
	addr := simcamtest.FreeAddr(t)
	r := startCamera(t, camera.Config{ID: "yard", URL: "rtsp://" + addr + "/cam1"}, false)
	simcamtest.WaitFor(t, 3*time.Second, "unreachable reported", func() bool {
		h := r.cam.Health()
		return h.State == camera.StateBackingOff && h.Reason == camera.ReasonUnreachable
	})
	time.Sleep(3 * time.Second)
	simcamtest.RunServer(t, addr, simcam.Config{Clip: hamilton(t), Loop: true})
	took := simcamtest.WaitFor(t, 10*time.Second, "streaming within 10 s of the camera coming up", streamingWithFrames(r, 0))
	t.Logf("camera down at start-up: streaming %v after it came up", took.Round(time.Millisecond))
}

func TestSilentServerStalls(t *testing.T) {
	t.Parallel()
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: hamilton(t), Loop: true})
	r := startCamera(t, camera.Config{ID: "corridor", URL: srv.URL()}, false)
	simcamtest.WaitFor(t, 10*time.Second, "streaming", streamingWithFrames(r, 2))

	srv.SetFault(simcam.FaultSilent)
	t0 := time.Now()
	stalled := simcamtest.WaitFor(t, 10*time.Second, "stall reported within 10 s", func() bool {
		h := r.cam.Health()
		return h.State == camera.StateStalled && h.Reason == camera.ReasonNoPackets
	})
	var h camera.Health
	simcamtest.WaitFor(t, 12*time.Second, "session restarted by the watchdog", func() bool {
		h = r.cam.Health()
		return h.Stalls >= 1
	})
	restarted := time.Since(t0)
	srv.SetFault(simcam.FaultNone)
	again := simcamtest.WaitFor(t, 10*time.Second, "streaming again", streamingWithFrames(r, h.Frames))
	t.Logf("silent server: stall reported after %v, session restarted after %v (%s), streaming %v after packets resumed",
		stalled.Round(time.Millisecond), restarted.Round(time.Millisecond), h.Error, again.Round(time.Millisecond))
	if restarted < camera.DefaultPacketTimeout-time.Second {
		t.Fatalf("restarted after %v, before the %v packet timeout", restarted, camera.DefaultPacketTimeout)
	}
}

func TestFrozenPicture(t *testing.T) {
	t.Parallel()
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: hamilton(t), Loop: true})
	r := startCamera(t, camera.Config{ID: "cell-block", URL: srv.URL()}, false)
	simcamtest.WaitFor(t, 10*time.Second, "streaming", streamingWithFrames(r, 2))

	srv.SetFault(simcam.FaultFreeze)
	t0 := time.Now()
	stalled := simcamtest.WaitFor(t, 15*time.Second, "frozen picture reported within 15 s", func() bool {
		h := r.cam.Health()
		return h.State == camera.StateStalled && h.Reason == camera.ReasonNoPictures
	})
	h := r.cam.Health()
	if h.Packets == 0 {
		t.Fatal("no packets")
	}
	pk := h.Packets
	simcamtest.WaitFor(t, 17*time.Second, "session restarted by the watchdog", func() bool {
		h = r.cam.Health()
		return h.Stalls >= 1
	})
	restarted := time.Since(t0)
	if h.Packets <= pk {
		t.Fatal("packets stopped: this was not a frozen picture")
	}
	srv.SetFault(simcam.FaultNone)
	before := h.Frames
	again := simcamtest.WaitFor(t, 10*time.Second, "streaming again", streamingWithFrames(r, before))
	t.Logf("frozen picture (packets flowing): reported after %v, session restarted after %v (%s), streaming %v after the picture resumed",
		stalled.Round(time.Millisecond), restarted.Round(time.Millisecond), h.Error, again.Round(time.Millisecond))
	if restarted < camera.DefaultPictureTimeout-time.Second {
		t.Fatalf("restarted after %v, before the %v picture timeout", restarted, camera.DefaultPictureTimeout)
	}
}

func TestWrongCredentials(t *testing.T) {
	t.Parallel()
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: hamilton(t), Loop: true, User: "operator", Pass: "correct-horse"})
	url := "rtsp://operator:Tr0ub4dor@" + srv.Addr() + "/cam1"
	r := startCamera(t, camera.Config{ID: "entrance", URL: url}, false)
	took := simcamtest.WaitFor(t, 5*time.Second, "401 reported", func() bool {
		h := r.cam.Health()
		return h.State == camera.StateFailed && h.Reason == camera.ReasonUnauthorized && h.StatusCode == 401
	})
	c0 := srv.Stats().Conns
	const watch = 8 * time.Second
	time.Sleep(watch)
	attempts := srv.Stats().Conns - c0
	h := r.cam.Health()
	t.Logf("wrong credentials: 401 reported after %v; %d attempts in the next %v (backoff, no hot loop); health: %s %q",
		took.Round(time.Millisecond), attempts, watch, h.State, h.Error)
	if attempts > 4 {
		t.Fatalf("%d connection attempts in %v: hot loop", attempts, watch)
	}
	r.stop()
	for _, s := range []string{r.logs.String(), h.URL, h.Error} {
		if strings.Contains(s, "Tr0ub4dor") {
			t.Fatalf("password leaked: %s", s)
		}
	}
	if !strings.Contains(r.logs.String(), "rtsp://operator:***@") {
		t.Fatalf("logs do not name the camera's redacted URL:\n%s", r.logs.String())
	}
}

func TestUnsupportedCodecAndWrongPath(t *testing.T) {
	t.Parallel()
	vp8, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: hamilton(t), Unsupported: true})
	plain, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: hamilton(t)})
	for _, tc := range []struct {
		url    string
		srv    *simcam.Server
		reason camera.Reason
		status int
		detail string
	}{
		{vp8.URL(), vp8, camera.ReasonUnsupportedCodec, 0, "VP8"},
		{"rtsp://" + plain.Addr() + "/no-such-camera", plain, camera.ReasonNotFound, 404, "404"},
	} {
		r := startCamera(t, camera.Config{ID: "x", URL: tc.url}, false)
		took := simcamtest.WaitFor(t, 5*time.Second, string(tc.reason)+" reported", func() bool {
			h := r.cam.Health()
			return h.State == camera.StateFailed && h.Reason == tc.reason && h.StatusCode == tc.status
		})
		c0 := tc.srv.Stats().Conns
		time.Sleep(3 * time.Second)
		h := r.cam.Health()
		t.Logf("%s: reported after %v, %d attempts in the next 3 s: %q", tc.reason, took.Round(time.Millisecond), tc.srv.Stats().Conns-c0, h.Error)
		if !strings.Contains(h.Error, tc.detail) || tc.srv.Stats().Conns-c0 > 2 {
			t.Fatalf("health %+v", h)
		}
		r.stop()
	}
}

// Garbage RTP payloads, then corrupt NAL units: every error is counted,
// the camera keeps running and streams cleanly once the stream is clean.
func TestGarbageAndCorruptStreams(t *testing.T) {
	t.Parallel()
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: hamilton(t), Loop: true})
	r := startCamera(t, camera.Config{ID: "mess-hall", URL: srv.URL()}, false)
	simcamtest.WaitFor(t, 10*time.Second, "streaming", streamingWithFrames(r, 2))
	h0 := r.cam.Health()

	srv.SetFault(simcam.FaultGarbage)
	time.Sleep(4 * time.Second)
	h1 := r.cam.Health()
	srv.SetFault(simcam.FaultCorrupt)
	time.Sleep(6 * time.Second)
	h2 := r.cam.Health()
	srv.SetFault(simcam.FaultNone)
	t0 := time.Now()
	simcamtest.WaitFor(t, 10*time.Second, "clean frames again", streamingWithFrames(r, h2.Frames))
	clean := time.Since(t0)
	h3 := r.cam.Health()

	t.Logf("garbage 4 s: +%d RTP errors, +%d skipped, +%d decode errors, +%d pictures, +%d frames",
		h1.RTPErrors-h0.RTPErrors, h1.Skipped-h0.Skipped, h1.DecodeErrors-h0.DecodeErrors, h1.Pictures-h0.Pictures, h1.Frames-h0.Frames)
	t.Logf("corrupt NAL units 6 s: +%d RTP errors, +%d skipped, +%d decode errors, +%d pictures, +%d frames",
		h2.RTPErrors-h1.RTPErrors, h2.Skipped-h1.Skipped, h2.DecodeErrors-h1.DecodeErrors, h2.Pictures-h1.Pictures, h2.Frames-h1.Frames)
	t.Logf("clean frames again %v after the stream was clean; state %s, reconnects %d", clean.Round(time.Millisecond), h3.State, h3.Reconnects)
	if h1.RTPErrors == h0.RTPErrors {
		t.Fatal("garbage payloads not counted")
	}
	if h2.RTPErrors+h2.DecodeErrors == h1.RTPErrors+h1.DecodeErrors {
		t.Fatal("corrupt NAL units not counted")
	}
	if h2.Pictures == h1.Pictures || h2.Frames == h1.Frames {
		t.Fatal("no picture decoded between the damaged ones")
	}
}
