package avcodec_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func clipPath(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(testenv.TestData(t, "video"), name)
}

func readClip(t testing.TB, name string, o avcodec.ClipOptions) *camera.Clip {
	t.Helper()
	c, err := avcodec.ReadClip(clipPath(t, name), o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// decodeAll decodes every access unit and drains the decoder; it returns
// the pictures and one BGR conversion of the last.
func decodeAll(t testing.TB, c *camera.Clip) (int, camera.Picture) {
	t.Helper()
	d, err := avcodec.NewDecoder(c.Codec, avcodec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	n := 0
	var last camera.Picture
	for i, u := range c.Units {
		k, p, err := d.Decode(u.NALUs, u.PTS)
		if err != nil {
			t.Fatalf("unit %d: %v", i, err)
		}
		if k > 0 {
			last = p
		}
		n += k
	}
	k, p, err := d.Drain()
	if err != nil {
		t.Fatal(err)
	}
	if k > 0 {
		last = p
	}
	n += k
	w, h := camera.OutputSize(last.W, last.H, 640)
	if err := d.Convert(make([]byte, w*h*3), w, h); err != nil {
		t.Fatal(err)
	}
	return n, last
}

// The clips' frame counts and sizes are those ffprobe reports.
func TestReadAndDecodeClips(t *testing.T) {
	for _, tc := range []struct {
		file          string
		opt           avcodec.ClipOptions
		codec         camera.Codec
		w, h, frames  int
		fps           float64
		maxGOP        time.Duration
		reencodedSize bool
	}{
		{"hamilton_wh_short_640x360.mp4", avcodec.ClipOptions{}, camera.H264, 640, 360, 275, 29.97, 2100 * time.Millisecond, false},
		{"hamilton_wh_short_640x360.mp4", avcodec.ClipOptions{GOP: 2 * time.Second}, camera.H264, 640, 360, 275, 29.97, 2100 * time.Millisecond, false},
		{"intel_classroom.mp4", avcodec.ClipOptions{}, camera.H264, 480, 270, 45, 15, 3 * time.Second, false},
		{"intel_classroom.mp4", avcodec.ClipOptions{GOP: time.Second}, camera.H264, 480, 270, 45, 15, time.Second, true},
		{"intel_classroom.mp4", avcodec.ClipOptions{Codec: camera.H265}, camera.H265, 480, 270, 45, 15, time.Second, true},
		{"intel_head-pose-face-detection-female.mp4", avcodec.ClipOptions{Codec: camera.H265, GOP: 500 * time.Millisecond}, camera.H265, 480, 270, 23, 12, 500 * time.Millisecond, true},
		{"pedestrians_arcade_1080p.mp4", avcodec.ClipOptions{}, camera.H264, 1920, 1080, 105, 25, 4200 * time.Millisecond, false},
		{"intel_one-by-one-person-detection.mp4", avcodec.ClipOptions{MaxFrames: 100}, camera.H264, 768, 432, 100, 10, 1100 * time.Millisecond, false},
	} {
		t.Run(tc.file+"/"+string(tc.opt.Codec)+"/"+tc.opt.GOP.String(), func(t *testing.T) {
			c := readClip(t, tc.file, tc.opt)
			if c.Codec != tc.codec || c.Width != tc.w || c.Height != tc.h || c.Frames() != tc.frames {
				t.Fatalf("clip %s %dx%d, %d frames; want %s %dx%d, %d", c.Codec, c.Width, c.Height, c.Frames(), tc.codec, tc.w, tc.h, tc.frames)
			}
			if d := c.FPS - tc.fps; d > 0.01 || d < -0.01 {
				t.Errorf("fps %.3f, want %.2f", c.FPS, tc.fps)
			}
			var gaps []time.Duration
			prev := int64(0)
			for _, u := range c.Units[1:] {
				if u.Random {
					gaps = append(gaps, time.Duration(u.DTS-prev)*time.Second/camera.ClockRate)
					prev = u.DTS
				}
			}
			for _, g := range gaps {
				if g > tc.maxGOP {
					t.Errorf("random access points %v apart, want at most %v (all: %v)", g, tc.maxGOP, gaps)
				}
			}
			n, last := decodeAll(t, c)
			if n != tc.frames || last.W != tc.w || last.H != tc.h || last.Corrupt {
				t.Fatalf("decoded %d pictures, last %+v; want %d of %dx%d", n, last, tc.frames, tc.w, tc.h)
			}
		})
	}
}

func TestDecoderErrors(t *testing.T) {
	if _, err := avcodec.NewDecoder("MJPEG", avcodec.Options{}); !errors.Is(err, camera.ErrUnsupportedCodec) {
		t.Fatalf("MJPEG decoder: %v", err)
	}
	d, err := avcodec.NewDecoder(camera.H264, avcodec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Convert(make([]byte, 12), 2, 2); err == nil {
		t.Fatal("convert before any picture")
	} else {
		var ae *avcodec.Error
		if !errors.As(err, &ae) || ae.Code >= 0 || ae.Msg == "" {
			t.Fatalf("not a typed FFmpeg error: %#v", err)
		}
	}
	if err := d.Convert(make([]byte, 5), 2, 2); err == nil {
		t.Fatal("short buffer accepted")
	}
	if err := d.Convert(nil, 0, 0); err == nil {
		t.Fatal("empty size accepted")
	}
	if _, _, err := d.Decode([][]byte{{}}, 0); !errors.Is(err, camera.ErrInvalidData) {
		t.Fatalf("empty NAL unit: %v", err)
	}
	if _, _, err := d.Decode(nil, 0); !errors.Is(err, camera.ErrInvalidData) {
		t.Fatalf("empty access unit: %v", err)
	}
	d.Close()
	d.Close()
	if _, _, err := d.Decode([][]byte{{0x65, 1}}, 0); !errors.Is(err, camera.ErrDecoderClosed) {
		t.Fatalf("decode after close: %v", err)
	}
	if err := d.Convert(make([]byte, 12), 2, 2); !errors.Is(err, camera.ErrDecoderClosed) {
		t.Fatalf("convert after close: %v", err)
	}
	if avcodec.Live() != 0 {
		t.Fatalf("%d decoders still open", avcodec.Live())
	}
}

func TestReadClipRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.mp4")
	os.WriteFile(text, []byte(strings.Repeat("not a video\n", 100)), 0o644)
	src, err := os.ReadFile(clipPath(t, "intel_classroom.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "truncated.mp4")
	os.WriteFile(trunc, src[:len(src)/3], 0o644)
	for name, path := range map[string]string{
		"missing":   filepath.Join(dir, "nope.mp4"),
		"text":      text,
		"directory": dir,
	} {
		if _, err := avcodec.ReadClip(path, avcodec.ClipOptions{}); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// A truncated MP4 (index at the front) yields what is there or a
	// clear error, never a crash.
	if c, err := avcodec.ReadClip(trunc, avcodec.ClipOptions{}); err == nil {
		n, _ := decodeAll(t, c)
		t.Logf("truncated: %d of 45 pictures", n)
	} else {
		t.Logf("truncated: %v", err)
	}
	if _, err := avcodec.ReadClip(clipPath(t, "intel_classroom.mp4"), avcodec.ClipOptions{Codec: "VP9"}); !errors.Is(err, camera.ErrUnsupportedCodec) {
		t.Errorf("VP9 target: %v", err)
	}
}

// Corrupt NAL units: every one is reported, the decoder keeps working,
// and a clean IDR afterwards decodes exactly.
func TestDecodeCorruptData(t *testing.T) {
	c := readClip(t, "hamilton_wh_short_640x360.mp4", avcodec.ClipOptions{MaxFrames: 61})
	d, err := avcodec.NewDecoder(camera.H264, avcodec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	seed := uint32(1)
	rnd := func() uint32 { seed = seed*1664525 + 1013904223; return seed >> 8 }
	errs, corrupt := 0, 0
	for i, u := range c.Units[:60] {
		au := make([][]byte, len(u.NALUs))
		for j, n := range u.NALUs {
			b := append([]byte(nil), n...)
			if i > 0 && i%3 == 0 { // damage every third picture
				for k := 0; k < 20 && len(b) > 2; k++ {
					b[1+int(rnd())%(len(b)-1)] ^= byte(rnd())
				}
				if i%6 == 0 {
					b = b[:1+len(b)/4]
				}
			}
			au[j] = b
		}
		_, p, err := d.Decode(au, u.PTS)
		if err != nil {
			errs++
			if !errors.Is(err, camera.ErrInvalidData) {
				var ae *avcodec.Error
				if !errors.As(err, &ae) {
					t.Fatalf("unit %d: untyped error %v", i, err)
				}
			}
		}
		if p.Corrupt {
			corrupt++
		}
	}
	t.Logf("60 pictures, 20 damaged: %d decode errors, %d concealed pictures", errs, corrupt)
	if errs+corrupt == 0 {
		t.Fatal("damage went unnoticed")
	}
	n, p, err := d.Decode(c.Units[60].NALUs, c.Units[60].PTS) // the clip's IDR at 2 s
	if err != nil || n != 1 || p.Corrupt || p.W != 640 {
		t.Fatalf("clean IDR after damage: n=%d %+v %v", n, p, err)
	}
}

// Decoding many pictures and opening many decoders must not grow the
// process: every C allocation is freed.
func TestDecoderDoesNotLeak(t *testing.T) {
	c := readClip(t, "intel_classroom.mp4", avcodec.ClipOptions{GOP: time.Second})
	run := func(rounds int) {
		for range rounds {
			d, err := avcodec.NewDecoder(c.Codec, avcodec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 320*180*3)
			for _, u := range c.Units {
				if n, _, err := d.Decode(u.NALUs, u.PTS); err != nil {
					t.Fatal(err)
				} else if n > 0 {
					if err := d.Convert(buf, 320, 180); err != nil {
						t.Fatal(err)
					}
				}
			}
			d.Close()
		}
	}
	run(10) // warm up allocator pools
	runtime.GC()
	before := rssKB(t)
	run(100) // 4,500 pictures, 100 decoders
	runtime.GC()
	after := rssKB(t)
	t.Logf("RSS %d kB -> %d kB after 4,500 pictures through 100 decoders", before, after)
	if after-before > 20*1024 {
		t.Fatalf("RSS grew by %d kB", after-before)
	}
	if avcodec.Live() != 0 {
		t.Fatalf("%d decoders left open", avcodec.Live())
	}
}

func rssKB(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func TestSplitAnnexB(t *testing.T) {
	got := avcodec.SplitAnnexB([]byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4, 0, 0})
	want := [][]byte{{0x67, 1, 2}, {0x68, 3}, {0x65, 4}}
	if len(got) != len(want) {
		t.Fatalf("%x", got)
	}
	for i := range want {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("NAL %d: %x, want %x", i, got[i], want[i])
		}
	}
	if len(avcodec.SplitAnnexB(nil)) != 0 || len(avcodec.SplitAnnexB([]byte{0, 0, 1})) != 0 {
		t.Fatal("empty input produced NAL units")
	}
}
