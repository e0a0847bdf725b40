package integration_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/simcam"
	"github.com/dozor-edge/dozor/camera/simcam/simcamtest"
)

// The failure tests run with the production settings (10 s without
// packets, 15 s without pictures, stall reported at 5 s, backoff 1 s to
// 60 s, port probe every 2 s) over real sockets, and log what each
// detection and recovery took. Those that count retries run the camera in
// a synctest bubble, the server outside it: the RTSP exchanges are real,
// the backoff waits pass on the bubble's fake clock.

func streamingWithFrames(r *rig, after uint64) func() bool {
	return func() bool {
		h := r.cam.Health()
		return h.State == camera.StateStreaming && h.Frames > after
	}
}

// streamingCamera serves the clip in a loop and starts a camera named id
// on it, returning once frames flow.
func streamingCamera(t *testing.T, id string) (*simcam.Server, *rig) {
	t.Helper()
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: hamilton(t), Loop: true})
	r := startCamera(t, camera.Config{ID: id, URL: srv.URL()}, false)
	simcamtest.WaitFor(t, 10*time.Second, "streaming", streamingWithFrames(r, 2))
	return srv, r
}

func inState(r *rig, state camera.State, reason camera.Reason) func() bool {
	return func() bool {
		h := r.cam.Health()
		return h.State == state && h.Reason == reason
	}
}

// restartedByWatchdog waits for the watchdog to end the stalled session
// for reason and returns the health then, while it still shows the
// watchdog's verdict (the wait before the next attempt, or that attempt
// under way), and how long that took.
func restartedByWatchdog(t *testing.T, r *rig, reason camera.Reason, limit time.Duration) (camera.Health, time.Duration) {
	t.Helper()
	var h camera.Health
	took := simcamtest.WaitFor(t, limit, "session restarted by the watchdog", func() bool {
		h = r.cam.Health()
		return h.Stalls >= 1 && h.Reason == reason && (h.State == camera.StateBackingOff || h.State == camera.StateConnecting)
	})
	return h, took
}

// measured reads the duration the watchdog measured from its verdict, the
// health's error: prefix, then the duration.
func measured(t *testing.T, detail, prefix string) time.Duration {
	t.Helper()
	s, ok := strings.CutPrefix(detail, prefix)
	if !ok {
		t.Fatalf("watchdog verdict %q does not start with %q", detail, prefix)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("watchdog verdict %q: %v", detail, err)
	}
	return d
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
	// The server stays down until the camera has found nothing listening
	// and is waiting to retry.
	var h camera.Health
	down := simcamtest.WaitFor(t, 10*time.Second, "backing off, nothing listening", func() bool {
		h = r.cam.Health()
		return h.State == camera.StateBackingOff && h.Reason == camera.ReasonUnreachable
	})
	before := h.Frames
	simcamtest.RunServer(t, addr, simcam.Config{Clip: hamilton(t), Loop: true})
	back := simcamtest.WaitFor(t, 10*time.Second, "streaming again within 10 s of the server's return", streamingWithFrames(r, before))
	h = r.cam.Health()
	t.Logf("server killed mid-stream: noticed after %v; down %v more; streaming again %v after it returned (%d reconnects)",
		noticed.Round(time.Millisecond), down.Round(time.Millisecond), back.Round(time.Millisecond), h.Reconnects)
	if h.Reconnects < 2 {
		t.Fatalf("reconnects %d", h.Reconnects)
	}
}

func TestCameraDownAtStartup(t *testing.T) {
	t.Parallel()
	addr := simcamtest.FreeAddr(t)
	r := startCamera(t, camera.Config{ID: "yard", URL: "rtsp://" + addr + "/cam1"}, false)
	simcamtest.WaitFor(t, 3*time.Second, "unreachable reported", inState(r, camera.StateBackingOff, camera.ReasonUnreachable))
	// The camera comes up only after three failed attempts, when the
	// backoff has grown to 4 s: the port probe, not the timer, must notice.
	simcamtest.WaitFor(t, 10*time.Second, "three attempts", func() bool {
		h := r.cam.Health()
		return h.Reconnects >= 2 && h.State == camera.StateBackingOff
	})
	simcamtest.RunServer(t, addr, simcam.Config{Clip: hamilton(t), Loop: true})
	took := simcamtest.WaitFor(t, 10*time.Second, "streaming within 10 s of the camera coming up", streamingWithFrames(r, 0))
	t.Logf("camera down at start-up: streaming %v after it came up", took.Round(time.Millisecond))
}

func TestSilentServerStalls(t *testing.T) {
	t.Parallel()
	srv, r := streamingCamera(t, "corridor")

	srv.SetFault(simcam.FaultSilent)
	stalled := simcamtest.WaitFor(t, 10*time.Second, "stall reported within 10 s", inState(r, camera.StateStalled, camera.ReasonNoPackets))
	h, restarted := restartedByWatchdog(t, r, camera.ReasonNoPackets, 12*time.Second)
	srv.SetFault(simcam.FaultNone)
	again := simcamtest.WaitFor(t, 10*time.Second, "streaming again", streamingWithFrames(r, h.Frames))
	t.Logf("silent server: stall reported after %v, session restarted %v later (%s), streaming %v after packets resumed",
		stalled.Round(time.Millisecond), restarted.Round(time.Millisecond), h.Error, again.Round(time.Millisecond))
	if silence := measured(t, h.Error, "no RTP packet for "); silence < camera.DefaultPacketTimeout {
		t.Fatalf("restarted after %v without packets, before the %v packet timeout", silence, camera.DefaultPacketTimeout)
	}
}

func TestFrozenPicture(t *testing.T) {
	t.Parallel()
	srv, r := streamingCamera(t, "cell-block")

	srv.SetFault(simcam.FaultFreeze)
	stalled := simcamtest.WaitFor(t, 15*time.Second, "frozen picture reported within 15 s", inState(r, camera.StateStalled, camera.ReasonNoPictures))
	h := r.cam.Health()
	if h.Packets == 0 {
		t.Fatal("no packets")
	}
	pk := h.Packets
	h, restarted := restartedByWatchdog(t, r, camera.ReasonNoPictures, 17*time.Second)
	if h.Packets <= pk {
		t.Fatal("packets stopped: this was not a frozen picture")
	}
	srv.SetFault(simcam.FaultNone)
	before := h.Frames
	again := simcamtest.WaitFor(t, 10*time.Second, "streaming again", streamingWithFrames(r, before))
	t.Logf("frozen picture (packets flowing): reported after %v, session restarted %v later (%s), streaming %v after the picture resumed",
		stalled.Round(time.Millisecond), restarted.Round(time.Millisecond), h.Error, again.Round(time.Millisecond))
	if frozen := measured(t, h.Error, "packets arrive but no picture decoded for "); frozen < camera.DefaultPictureTimeout {
		t.Fatalf("restarted after %v without a picture, before the %v picture timeout", frozen, camera.DefaultPictureTimeout)
	}
}

func TestWrongCredentials(t *testing.T) {
	t.Parallel()
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: hamilton(t), Loop: true, User: "operator", Pass: "correct-horse"})
	url := "rtsp://operator:Tr0ub4dor@" + srv.Addr() + "/cam1"
	synctest.Test(t, func(t *testing.T) {
		r := startCamera(t, camera.Config{ID: "entrance", URL: url}, false)
		simcamtest.WaitFor(t, 5*time.Second, "401 reported", func() bool {
			h := r.cam.Health()
			return h.State == camera.StateFailed && h.Reason == camera.ReasonUnauthorized && h.StatusCode == 401
		})
		// No hot loop: the retries wait 1, 2, 4, then 8 s, each up to 20%
		// shorter, so the next 8 s hold exactly three.
		c0 := srv.Stats().Conns
		const watch = 8 * time.Second
		time.Sleep(watch)
		attempts := srv.Stats().Conns - c0
		h := r.cam.Health()
		t.Logf("wrong credentials: %d attempts in the %v after the 401 (backoff, no hot loop); health: %s %q",
			attempts, watch, h.State, h.Error)
		if attempts != 3 {
			t.Fatalf("%d connection attempts in the %v after the 401, want 3 (backoff 1, 2, 4, 8 s)", attempts, watch)
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
	})
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
		synctest.Test(t, func(t *testing.T) {
			r := startCamera(t, camera.Config{ID: "x", URL: tc.url}, false)
			simcamtest.WaitFor(t, 5*time.Second, string(tc.reason)+" reported", func() bool {
				h := r.cam.Health()
				return h.State == camera.StateFailed && h.Reason == tc.reason && h.StatusCode == tc.status
			})
			// The retries wait 1, 2, then 4 s, each up to 20% shorter: the
			// next 5 s hold exactly two.
			c0 := tc.srv.Stats().Conns
			time.Sleep(5 * time.Second)
			h := r.cam.Health()
			attempts := tc.srv.Stats().Conns - c0
			t.Logf("%s: %d attempts in the 5 s after it was reported: %q", tc.reason, attempts, h.Error)
			if !strings.Contains(h.Error, tc.detail) || attempts != 2 {
				t.Fatalf("%d attempts in 5 s, want 2; health %+v", attempts, h)
			}
			r.stop()
		})
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
	var h1 camera.Health
	garbage := simcamtest.WaitFor(t, 10*time.Second, "garbage payloads counted", func() bool {
		h1 = r.cam.Health()
		return h1.RTPErrors > h0.RTPErrors
	})
	srv.SetFault(simcam.FaultCorrupt)
	var h2 camera.Health
	corrupt := simcamtest.WaitFor(t, 15*time.Second, "corrupt NAL units counted, pictures decoded between them", func() bool {
		h2 = r.cam.Health()
		return h2.RTPErrors+h2.DecodeErrors > h1.RTPErrors+h1.DecodeErrors && h2.Pictures > h1.Pictures && h2.Frames > h1.Frames
	})
	srv.SetFault(simcam.FaultNone)
	clean := simcamtest.WaitFor(t, 10*time.Second, "clean frames again", streamingWithFrames(r, h2.Frames))
	h3 := r.cam.Health()

	t.Logf("garbage for %v: +%d RTP errors, +%d skipped, +%d decode errors, +%d pictures, +%d frames", garbage.Round(time.Millisecond),
		h1.RTPErrors-h0.RTPErrors, h1.Skipped-h0.Skipped, h1.DecodeErrors-h0.DecodeErrors, h1.Pictures-h0.Pictures, h1.Frames-h0.Frames)
	t.Logf("corrupt NAL units for %v: +%d RTP errors, +%d skipped, +%d decode errors, +%d pictures, +%d frames", corrupt.Round(time.Millisecond),
		h2.RTPErrors-h1.RTPErrors, h2.Skipped-h1.Skipped, h2.DecodeErrors-h1.DecodeErrors, h2.Pictures-h1.Pictures, h2.Frames-h1.Frames)
	t.Logf("clean frames again %v after the stream was clean; state %s, reconnects %d", clean.Round(time.Millisecond), h3.State, h3.Reconnects)
}
