package avcodec_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
)

// decodeVariants are the decoder settings compared with one thread.
var decodeVariants = []struct {
	name string
	opt  avcodec.Options
}{
	{"1thread", avcodec.Options{Threads: 1}},
	{"2frame", avcodec.Options{Threads: 2, Threading: avcodec.ThreadFrame}},
	{"2slice", avcodec.Options{Threads: 2, Threading: avcodec.ThreadSlice}},
	{"2any", avcodec.Options{Threads: 2}},
	{"1thread-fast", avcodec.Options{Threads: 1, Fast: true}},
}

// decodeHashes decodes every unit of c with opt and returns, by
// presentation time, a hash of the pictures converted to full-size BGR
// (only the newest picture of a call can be converted), and the most
// pictures the decoder held back behind the units fed to it.
func decodeHashes(t testing.TB, c *camera.Clip, opt avcodec.Options) (map[int64][32]byte, int) {
	t.Helper()
	d, err := avcodec.NewDecoder(c.Codec, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	buf := make([]byte, c.Width*c.Height*3)
	sums := map[int64][32]byte{}
	held, out := 0, 0
	keep := func(n int, p camera.Picture) {
		out += n
		if n == 0 {
			return
		}
		if err := d.Convert(buf, c.Width, c.Height); err != nil {
			t.Fatal(err)
		}
		sums[p.PTS] = sha256.Sum256(buf)
	}
	for i, u := range c.Units {
		n, p, err := d.Decode(u.NALUs, u.PTS)
		if err != nil {
			t.Fatalf("unit %d: %v", i, err)
		}
		keep(n, p)
		held = max(held, i+1-out)
	}
	n, p, err := d.Drain()
	if err != nil {
		t.Fatal(err)
	}
	keep(n, p)
	return sums, held
}

// TestDecodeVariantsSamePictures checks which decoder settings change the
// pictures: threads must not; the fast flag is reported by name.
func TestDecodeVariantsSamePictures(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  avcodec.ClipOptions
	}{
		{"H264", avcodec.ClipOptions{MaxFrames: 40}},
		{"H264-camera", avcodec.ClipOptions{MaxFrames: 40, Codec: camera.H264, GOP: time.Second, Preset: "veryfast", MaxSide: 1920}},
		{"H265-camera", avcodec.ClipOptions{MaxFrames: 40, Codec: camera.H265, GOP: time.Second, Preset: "ultrafast", MaxSide: 640}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := readClip(t, "pedestrians_arcade_1080p.mp4", tc.opt)
			ref, _ := decodeHashes(t, c, avcodec.Options{Threads: 1})
			if len(ref) < 10 {
				t.Fatalf("%d pictures compared", len(ref))
			}
			for _, v := range decodeVariants[1:] {
				got, held := decodeHashes(t, c, v.opt)
				compared, same := 0, true
				for pts, h := range got {
					if r, ok := ref[pts]; ok {
						compared++
						same = same && r == h
					}
				}
				if compared < len(ref)/2 {
					t.Fatalf("%s: only %d of %d pictures to compare", v.name, compared, len(ref))
				}
				t.Logf("%s: %d pictures compared, identical to one thread: %v, held back up to %d", v.name, compared, same, held)
				if !same && !v.opt.Fast {
					t.Errorf("%s: the pictures differ from one thread's", v.name)
				}
			}
		})
	}
}

// BenchmarkDecodeThreads compares decoder settings on the 1080p clip: the
// CPU time per picture (what the box pays for each camera) and the wall
// time per picture (what a picture waits), decoding every picture as a
// camera does. Compare the ratios between settings within one run.
//
//	go test -run '^$' -bench DecodeThreads -benchtime 3x ./camera/avcodec/
func BenchmarkDecodeThreads(b *testing.B) {
	for _, tc := range []struct {
		name string
		opt  avcodec.ClipOptions
	}{
		{"H264", avcodec.ClipOptions{}},
		{"H264-camera", avcodec.ClipOptions{GOP: time.Second, Preset: "veryfast", Codec: camera.H264, MaxSide: 1920}},
		{"H265-camera", avcodec.ClipOptions{Codec: camera.H265, GOP: time.Second, Preset: "veryfast"}},
	} {
		for _, v := range decodeVariants {
			b.Run(tc.name+"/"+v.name, func(b *testing.B) {
				clip := benchClip(b, tc.name, tc.opt)
				dec, err := avcodec.NewDecoder(clip.Codec, v.opt)
				if err != nil {
					b.Fatal(err)
				}
				defer dec.Close()
				pictures := 0
				b.ResetTimer()
				t0, cpu0 := time.Now(), cpuTime()
				for range b.N {
					for _, u := range clip.Units {
						n, _, err := dec.Decode(u.NALUs, u.PTS)
						if err != nil {
							b.Fatal(err)
						}
						pictures += n
					}
					n, _, err := dec.Drain()
					if err != nil {
						b.Fatal(err)
					}
					pictures += n
				}
				cpu, wall := cpuTime()-cpu0, time.Since(t0)
				b.StopTimer()
				b.ReportMetric(float64(cpu.Microseconds())/1000/float64(pictures), "cpu-ms/picture")
				b.ReportMetric(float64(wall.Microseconds())/1000/float64(pictures), "wall-ms/picture")
				b.ReportMetric(cpu.Seconds()/(float64(b.N)*clip.Period.Seconds()), "cores")
			})
		}
	}
}
