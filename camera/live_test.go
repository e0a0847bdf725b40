package camera_test

import (
	"bytes"
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/live/livetest"
	"github.com/dozor-edge/dozor/camera/simcam"
	"github.com/dozor-edge/dozor/camera/simcam/simcamtest"
)

// liveRecorder is a LiveSink keeping copies of what it is handed (the
// camera owns the slices).
type liveRecorder struct {
	mu    sync.Mutex
	units []camera.LiveUnit
	want  int
	got   chan struct{} // closed once want units arrived
}

func newLiveRecorder(want int) *liveRecorder {
	return &liveRecorder{want: want, got: make(chan struct{})}
}

func (r *liveRecorder) WriteAccessUnit(u camera.LiveUnit) {
	u.NALUs = cloneNALUs(u.NALUs)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.units = append(r.units, u)
	if len(r.units) == r.want {
		close(r.got)
	}
}

func (r *liveRecorder) all() []camera.LiveUnit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.units)
}

func cloneNALUs(au [][]byte) [][]byte {
	out := make([][]byte, len(au))
	for i, n := range au {
		out[i] = bytes.Clone(n)
	}
	return out
}

// recordingDecoder "decodes" every access unit into a 640x360 picture and
// keeps a copy of what it was fed.
type recordingDecoder struct{ fed [][][]byte }

func (d *recordingDecoder) Decode(au [][]byte, pts int64) (int, camera.Picture, error) {
	d.fed = append(d.fed, cloneNALUs(au))
	return 1, camera.Picture{W: 640, H: 360, PTS: pts}, nil
}
func (d *recordingDecoder) Convert(dst []byte, w, h int) error { return nil }
func (d *recordingDecoder) Close() error                       { return nil }

var liveEpoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// feedClip sends the clip's units as RTP packets arriving in real time;
// drop(i) drops the second packet of unit i.
func feedClip(t *testing.T, tr *camera.Track, clip *camera.Clip, base uint32, drop func(i int) bool) {
	t.Helper()
	enc := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1, PayloadMaxSize: 1200}
	if err := enc.Init(); err != nil {
		t.Fatal(err)
	}
	for i, u := range clip.Units {
		pkts, err := enc.Encode(u.NALUs)
		if err != nil {
			t.Fatal(err)
		}
		for j, p := range pkts {
			if j == 1 && drop != nil && drop(i) {
				continue
			}
			p.Timestamp = base + uint32(u.PTS)
			if _, err := tr.WritePacket(p, liveEpoch.Add(time.Duration(u.PTS)*time.Second/camera.ClockRate)); err != nil && testing.Verbose() {
				t.Logf("unit %d packet %d: %v", i, j, err)
			}
		}
	}
}

func newLiveTrack(t *testing.T, clip *camera.Clip, sink camera.LiveSink) (*camera.Track, *recordingDecoder) {
	t.Helper()
	dec := &recordingDecoder{}
	tr, err := camera.NewTrack(camera.TrackConfig{Codec: camera.H264, Params: clip.Params, PacketizationMode: 1,
		SampleRate: -1, MaxSide: -1, Decoder: dec, Live: sink})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr, dec
}

// isParam reports whether n is an H.264 SPS or PPS.
func isParam(n []byte) bool { return n[0]&0x1f == 7 || n[0]&0x1f == 8 }

func withoutParams(au [][]byte) [][]byte {
	return slices.DeleteFunc(slices.Clone(au), isParam)
}

func TestTrackHandsUnitsToLive(t *testing.T) {
	clip := livetest.Clip(t, "hamilton_wh_short_640x360.mp4")
	rec := newLiveRecorder(-1)
	tr, dec := newLiveTrack(t, clip, rec)
	const base = math.MaxUint32 - 3*camera.ClockRate // wraps 3 s in: PTS must stay unwrapped
	feedClip(t, tr, clip, base, nil)

	units := rec.all()
	if len(units) != len(clip.Units) {
		t.Fatalf("live sink got %d units, want the clip's %d", len(units), len(clip.Units))
	}
	// The tap adds no decoding: the decoder saw each unit once, the same
	// units the sink saw.
	if st := tr.Stats(); len(dec.fed) != len(units) || st.AccessUnits != uint64(len(units)) {
		t.Fatalf("decoder fed %d units, track counted %d, sink got %d", len(dec.fed), st.AccessUnits, len(units))
	}
	for i, u := range units {
		cu := clip.Units[i]
		switch {
		case u.Codec != camera.H264 || u.Random != cu.Random:
			t.Fatalf("unit %d: codec %s random %v, want H264 %v", i, u.Codec, u.Random, cu.Random)
		case u.PTS != base+cu.PTS:
			t.Fatalf("unit %d: PTS %d, want %d", i, u.PTS, base+cu.PTS)
		case !u.Wall.Equal(liveEpoch.Add(time.Duration(cu.PTS) * time.Second / camera.ClockRate)):
			t.Fatalf("unit %d: wall %v, want the arrival of a real-time stream", i, u.Wall)
		case !slices.EqualFunc(u.NALUs, dec.fed[i], bytes.Equal):
			t.Fatalf("unit %d: the sink and the decoder got different NAL units", i)
		case !slices.EqualFunc(withoutParams(u.NALUs), withoutParams(cu.NALUs), bytes.Equal):
			t.Fatalf("unit %d: NAL units differ from the clip's", i)
		case u.Random && (len(u.NALUs) < 3 || !bytes.Equal(u.NALUs[0], clip.Params[0]) || !bytes.Equal(u.NALUs[1], clip.Params[1])):
			t.Fatalf("unit %d: random access unit without SPS and PPS in front", i)
		}
	}
}

func TestTrackLiveSkipsUntilIDR(t *testing.T) {
	clip := livetest.Clip(t, "hamilton_wh_short_640x360.mp4")
	rec := newLiveRecorder(-1)
	tr, dec := newLiveTrack(t, clip, rec)
	const lossy = 10
	next := slices.IndexFunc(clip.Units[lossy+1:], func(u camera.AccessUnit) bool { return u.Random }) + lossy + 1
	if next == lossy {
		t.Fatal("clip has no IDR after the lost packet")
	}
	feedClip(t, tr, clip, 0, func(i int) bool { return i == lossy })

	units := rec.all()
	if want := len(clip.Units) - (next - lossy); len(units) != want || len(dec.fed) != want {
		t.Fatalf("sink got %d units, decoder %d; want %d (units %d..%d wait for the IDR)", len(units), len(dec.fed), want, lossy, next-1)
	}
	if units[lossy].PTS != clip.Units[next].PTS || !units[lossy].Random {
		t.Fatalf("after the loss the sink got PTS %d (random %v), want the IDR at %d", units[lossy].PTS, units[lossy].Random, clip.Units[next].PTS)
	}
}

func TestCameraLiveOverRTSP(t *testing.T) {
	clip := livetest.Clip(t, "hamilton_wh_short_640x360.mp4")
	const n = 30
	clip.Units = clip.Units[:n]
	clip.Period = time.Duration(clip.Units[n-1].DTS+3003) * time.Second / camera.ClockRate
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: clip, Loop: true})

	rec := newLiveRecorder(n)
	cam, err := camera.New(fast("live", srv.URL()), camera.Options{Decoders: fakeDecoders, Out: camera.NewLatest(), Live: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- cam.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-rec.got:
	case <-time.After(10 * time.Second):
		t.Fatalf("live sink got %d of %d units within 10 s", len(rec.all()), n)
	}
	units := rec.all()[:n]
	for i, u := range units {
		if !slices.EqualFunc(withoutParams(u.NALUs), withoutParams(clip.Units[i].NALUs), bytes.Equal) || u.Random != clip.Units[i].Random {
			t.Fatalf("unit %d differs from the clip's", i)
		}
		if i > 0 && u.PTS-units[0].PTS != clip.Units[i].PTS {
			t.Fatalf("unit %d: PTS %+d from the first, want %+d", i, u.PTS-units[0].PTS, clip.Units[i].PTS)
		}
		if u.Wall.IsZero() || (i > 0 && u.Wall.Before(units[i-1].Wall)) {
			t.Fatalf("unit %d: wall %v after %v", i, u.Wall, units[i-1].Wall)
		}
	}
}
