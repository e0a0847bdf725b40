package integration_test

import (
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/camera/simcam"
	"github.com/dozor-edge/dozor/camera/simcam/simcamtest"
	"github.com/dozor-edge/dozor/internal/backoff"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// directPictures is what the decoder makes of the clip read straight from
// the file, without draining its reordering delay at the end: what a
// session that ends with the clip can have decoded.
func directPictures(t *testing.T, c *camera.Clip) int {
	t.Helper()
	d, err := avcodec.NewDecoder(c.Codec, avcodec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	n := 0
	for _, u := range c.Units {
		k, _, err := d.Decode(u.NALUs, u.PTS)
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
	return n
}

// Every picture of each clip crosses RTSP and the decoder; the frames
// handed off have the detection size, consecutive sequence numbers and
// capture times one sampling interval apart.
func TestFramesDecodeWithRightSizeAndCount(t *testing.T) {
	for _, tc := range []struct {
		name      string
		clip      func(t testing.TB) *camera.Clip
		transport string
		rate      float64
		maxSide   int
		w, h      int
	}{
		{"hamilton 640x360 H.264 at 5 fps", hamilton, "", 0, 0, 640, 360},
		{"hamilton every picture at 320 px", hamilton, "", -1, 320, 320, 180},
		{"pedestrians 1080p H.264 to 640 px", func(t testing.TB) *camera.Clip {
			return clip(t, "pedestrians_arcade_1080p.mp4", avcodec.ClipOptions{})
		}, "", 0, 0, 640, 360},
		{"classroom H.265", func(t testing.TB) *camera.Clip {
			return clip(t, "intel_classroom.mp4", avcodec.ClipOptions{Codec: camera.H265, GOP: time.Second})
		}, "", 0, 0, 480, 270},
		{"walking H.264 over UDP", func(t testing.TB) *camera.Clip {
			return clip(t, "intel_face-demographics-walking.mp4", avcodec.ClipOptions{})
		}, camera.TransportUDP, 0, 0, 480, 270},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.clip(t)
			want := directPictures(t, c)
			srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: c, UDP: tc.transport == camera.TransportUDP})
			// The session ends with the clip (no loop); a long backoff keeps
			// the next session out of the count.
			r := startCamera(t, camera.Config{ID: "cam", URL: srv.URL(), Transport: tc.transport, SampleRate: tc.rate, MaxSide: tc.maxSide,
				Backoff: backoff.Policy{Min: time.Minute, Max: time.Minute}}, true)
			limit := c.Period + 10*time.Second
			defer func() {
				if t.Failed() {
					t.Logf("health %+v\n%s", r.cam.Health(), r.logs.String())
				}
			}()
			var fpsIn, fpsOut float64
			simcamtest.WaitFor(t, limit, "clip streamed and session ended", func() bool {
				h := r.cam.Health()
				if h.FPSIn > 0 {
					fpsIn, fpsOut = h.FPSIn, h.FPSOut
				}
				return h.Pictures >= uint64(want) && h.State != camera.StateStreaming && h.State != camera.StateStalled
			})
			simcamtest.WaitFor(t, 5*time.Second, "the worker took the last frame", func() bool {
				h := r.cam.Health()
				return uint64(r.taken()) == h.Frames-h.Drops
			})
			r.stop()
			h := r.cam.Health()
			if h.Pictures != uint64(want) || h.DecodeErrors != 0 || h.RTPErrors != 0 || h.PacketsLost != 0 || h.Skipped != 0 || h.Reconnects != 0 {
				t.Fatalf("pictures %d, want %d (%d in the clip); health %+v", h.Pictures, want, c.Frames(), h)
			}
			frames := r.kept()
			if uint64(len(frames)) != h.Frames-h.Drops {
				t.Fatalf("worker took %d frames, camera handed off %d and dropped %d", len(frames), h.Frames, h.Drops)
			}
			wantFrames := float64(want)
			if tc.rate == 0 {
				wantFrames = c.Period.Seconds() * camera.DefaultSampleRate
			}
			if d := float64(h.Frames) - wantFrames; d < -1.5 || d > 1.5 {
				t.Fatalf("%d frames handed off, want about %.1f", h.Frames, wantFrames)
			}
			interval := time.Second / camera.DefaultSampleRate
			if tc.rate < 0 {
				interval = time.Duration(float64(time.Second) / c.FPS)
			}
			// Frames the worker was too slow for were replaced (latest
			// wins) and counted as drops: sequence numbers skip them.
			// Capture times follow the RTP clock, clamped to arrival
			// (a loaded box may deliver the first pictures late).
			skipped := uint64(0)
			for i, f := range frames {
				if f.Camera != "cam" || f.W != tc.w || f.H != tc.h || f.Validate() != nil {
					t.Fatalf("frame %d: camera %q, %dx%d (%d bytes), want %dx%d", i, f.Camera, f.W, f.H, len(f.Pix), tc.w, tc.h)
				}
				if i == 0 {
					skipped += f.Seq - 1
					continue
				}
				if f.Seq <= frames[i-1].Seq || !f.Captured.After(frames[i-1].Captured) {
					t.Fatalf("frame %d: seq %d after %d, captured %v after the previous", i, f.Seq, frames[i-1].Seq, f.Captured.Sub(frames[i-1].Captured))
				}
				skipped += f.Seq - frames[i-1].Seq - 1
			}
			if skipped != h.Drops {
				t.Fatalf("sequence numbers skip %d frames, camera counted %d drops", skipped, h.Drops)
			}
			last, first := frames[len(frames)-1], frames[0]
			span := last.Captured.Sub(first.Captured)
			wantSpan := time.Duration(last.Seq-first.Seq) * interval
			if d := span - wantSpan; d < -time.Second || d > time.Second/2 {
				t.Fatalf("frames %d..%d captured over %v, want about %v", first.Seq, last.Seq, span, wantSpan)
			}
			t.Logf("%s %dx%d: %d pictures over RTSP (%d in the clip), %d frames of %dx%d, %d dropped, in %.1f fps, out %.1f fps",
				c.Codec, c.Width, c.Height, h.Pictures, c.Frames(), h.Frames, tc.w, tc.h, h.Drops, fpsIn, fpsOut)
		})
	}
}

// YuNet finds the faces of the labelled clip in frames that came over
// RTSP, through the decoder and the hand-off: the pixels are right (BGR,
// not RGB or garbage) and the frame is usable as a recognizer.Image
// without copying.
func TestYuNetFindsFacesInDecodedFrames(t *testing.T) {
	t.Parallel()
	eng, err := engines.NewOpenCV(testenv.ModelDir(t), engines.FacePlugin, opencv.DefaultDetectorConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: hamilton(t)})
	r := startCamera(t, camera.Config{ID: "stage", URL: srv.URL()}, true)
	simcamtest.WaitFor(t, 20*time.Second, "the labelled clip streamed", func() bool { return r.cam.Health().Frames >= 40 })
	r.stop()
	frames := r.kept()
	withFace, faces := 0, 0
	for _, f := range frames {
		img := &recognizer.Image{W: f.W, H: f.H, Pix: f.Pix} // no copy
		if &img.Pix[0] != &f.Pix[0] {
			t.Fatal("frame copied")
		}
		found, err := eng.Detect(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) > 0 {
			withFace++
		}
		for _, fc := range found {
			if fc.Score < 0.6 || fc.Box.W < 10 {
				t.Errorf("frame %d: implausible face %+v", f.Seq, fc)
			}
			faces++
		}
	}
	t.Logf("YuNet: faces in %d of %d frames (%d faces)", withFace, len(frames), faces)
	if withFace*10 < len(frames)*6 {
		t.Fatalf("faces found in only %d of %d frames of the labelled clip", withFace, len(frames))
	}
}
