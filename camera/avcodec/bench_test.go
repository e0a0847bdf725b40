package avcodec_test

import (
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
)

// BenchmarkIngest1080p measures what one 1080p25 camera costs the box:
// RTP depacketisation, decoding every picture (libavcodec, one thread as
// in production), and scaling + converting the 5 pictures per second that
// are sampled to 640x360 BGR (libswscale). One op is one pass over the
// 4.2 s clip. "cores" is process CPU time per second of video: the
// fraction of one core the stream keeps busy.
//
//	go test -run '^$' -bench Ingest1080p -benchtime 5x ./camera/avcodec/
func BenchmarkIngest1080p(b *testing.B) {
	for _, tc := range []struct {
		name string
		opt  avcodec.ClipOptions
	}{
		// the clip as published: High profile, B-frames, one IDR
		{"H264", avcodec.ClipOptions{}},
		// re-encoded the way an IP camera streams: no B-frames, IDR every 1 s
		{"H264-camera", avcodec.ClipOptions{GOP: time.Second, Preset: "veryfast", Codec: camera.H264, MaxSide: 1920}},
		{"H265-camera", avcodec.ClipOptions{Codec: camera.H265, GOP: time.Second, Preset: "veryfast"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			t0 := time.Now()
			clip := benchClip(b, tc.name, tc.opt)
			if clip.Width != 1920 || clip.Height != 1080 || clip.FPS != 25 {
				b.Fatalf("clip %dx%d at %v fps", clip.Width, clip.Height, clip.FPS)
			}
			bytes := 0
			for _, u := range clip.Units {
				for _, n := range u.NALUs {
					bytes += len(n)
				}
			}
			b.Logf("%s: %d pictures, %.1f Mbit/s, prepared in %v", tc.name, clip.Frames(),
				float64(bytes*8)/clip.Period.Seconds()/1e6, time.Since(t0).Round(time.Millisecond))
			pkts, ts := packetise(b, clip)
			period := uint32(clip.Period.Seconds() * camera.ClockRate)

			dec, err := avcodec.NewDecoder(clip.Codec, avcodec.Options{Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			tr, err := camera.NewTrack(camera.TrackConfig{Codec: clip.Codec, Params: clip.Params, PacketizationMode: 1,
				SampleRate: 5, MaxSide: 640, Decoder: dec})
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Close()
			seq := uint16(0)
			now := time.Now()
			frames := 0
			b.ResetTimer()
			cpu0 := cpuTime()
			for pass := 0; pass < b.N; pass++ {
				for i, p := range pkts {
					p.SequenceNumber = seq
					p.Timestamp = ts[i] + uint32(pass)*period
					seq++
					if f, _ := tr.WritePacket(p, now); f != nil {
						frames++
						f.Release()
					}
				}
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			st := tr.Stats()
			video := time.Duration(b.N) * clip.Period
			b.ReportMetric(cpu.Seconds()/video.Seconds(), "cores")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(st.Pictures), "cpu-ms/picture")
			b.ReportMetric(float64(frames)/video.Seconds(), "frames-out/s")
			if st.DecodeErrors != 0 || st.RTPErrors != 0 || int(st.Pictures) < b.N*(clip.Frames()-2) {
				b.Fatalf("stream not clean: %+v", st)
			}
		})
	}
}

// BenchmarkConvert1080p is the scale + BGR conversion alone, per picture.
func BenchmarkConvert1080p(b *testing.B) {
	clip := readClip(b, "pedestrians_arcade_1080p.mp4", avcodec.ClipOptions{MaxFrames: 1})
	dec, err := avcodec.NewDecoder(clip.Codec, avcodec.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	if _, _, err := dec.Decode(clip.Units[0].NALUs, 0); err != nil {
		b.Fatal(err)
	}
	if _, _, err := dec.Drain(); err != nil {
		b.Fatal(err)
	}
	for _, sz := range []struct{ w, h int }{{640, 360}, {1920, 1080}} {
		b.Run(sizeName(sz.w, sz.h), func(b *testing.B) {
			dst := make([]byte, sz.w*sz.h*3)
			for b.Loop() {
				if err := dec.Convert(dst, sz.w, sz.h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// What a track does for each sampled picture of a 1080p camera: the
	// detection frame and the full-resolution picture for face chips.
	b.Run("640x360+1920x1080", func(b *testing.B) {
		small, full := make([]byte, 640*360*3), make([]byte, 1920*1080*3)
		for b.Loop() {
			if err := dec.Convert(small, 640, 360); err != nil {
				b.Fatal(err)
			}
			if err := dec.Convert(full, 1920, 1080); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The alternative of keeping the decoder's own picture and converting
	// only face regions later costs at least a copy of its 4:2:0 planes.
	b.Run("copy-yuv420-1920x1080", func(b *testing.B) {
		src, dst := make([]byte, 1920*1080*3/2), make([]byte, 1920*1080*3/2)
		for b.Loop() {
			copy(dst, src)
		}
	})
}

func sizeName(w, h int) string {
	return itoa(w) + "x" + itoa(h)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// packetise turns a clip into the RTP packets a camera would send, and
// their timestamps.
func packetise(b *testing.B, c *camera.Clip) ([]*rtp.Packet, []uint32) {
	var pkts []*rtp.Packet
	var ts []uint32
	for _, p := range seedPackets(b, c, len(c.Units)) {
		pkts = append(pkts, p)
		ts = append(ts, p.Timestamp)
	}
	return pkts, ts
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	benchClipsMu sync.Mutex
	benchClips   = map[string]*camera.Clip{}
)

// benchClip prepares a clip once per process: the benchmark function runs
// several times (b.N = 1, then more), re-encoding 1080p takes a minute.
func benchClip(b *testing.B, name string, o avcodec.ClipOptions) *camera.Clip {
	benchClipsMu.Lock()
	defer benchClipsMu.Unlock()
	if c, ok := benchClips[name]; ok {
		return c
	}
	c := readClip(b, "pedestrians_arcade_1080p.mp4", o)
	benchClips[name] = c
	return c
}
