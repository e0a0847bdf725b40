package avcodec_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
)

// countingDecoder counts the access units the track hands the decoder.
type countingDecoder struct {
	*avcodec.Decoder
	units int
}

func (d *countingDecoder) Decode(au [][]byte, pts int64) (int, camera.Picture, error) {
	d.units++
	return d.Decoder.Decode(au, pts)
}

// A stream with B-frames (the pedestrians clip as published): the track
// leaves its disposable pictures that are not due for sampling undecoded,
// and still hands off exactly the frames, pixel for pixel, that decoding
// every picture and sampling 5 per second gives.
func TestTrackLeavesDisposablePicturesUndecoded(t *testing.T) {
	clip := readClip(t, "pedestrians_arcade_1080p.mp4", avcodec.ClipOptions{})
	if clip.Codec != camera.H264 {
		t.Fatalf("clip codec %s, want H264", clip.Codec)
	}
	const loops, rate, side = 3, 5, 640
	interval := int64(camera.ClockRate / rate)
	period := int64(clip.Period.Seconds() * camera.ClockRate)
	w, h := camera.OutputSize(clip.Width, clip.Height, side)

	// What decoding every picture gives, sampled on the stream's clock.
	ref, err := avcodec.NewDecoder(clip.Codec, avcodec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	var want [][32]byte
	var next int64
	buf := make([]byte, w*h*3)
	sample := func(n int, p camera.Picture) {
		if n <= 0 || (len(want) > 0 && p.PTS < next-interval/50) {
			return
		}
		if len(want) == 0 {
			next = p.PTS
		}
		next += interval
		if err := ref.Convert(buf, w, h); err != nil {
			t.Fatal(err)
		}
		want = append(want, sha256.Sum256(buf))
	}
	for l := range int64(loops) {
		for _, u := range clip.Units {
			n, p, err := ref.Decode(u.NALUs, u.PTS+l*period)
			if err != nil {
				t.Fatal(err)
			}
			sample(n, p)
		}
	}

	// The track, fed the same units as RTP packets.
	dec, err := avcodec.NewDecoder(clip.Codec, avcodec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cd := &countingDecoder{Decoder: dec}
	tr, err := camera.NewTrack(camera.TrackConfig{Codec: clip.Codec, Params: clip.Params, PacketizationMode: 1,
		SampleRate: rate, MaxSide: side, ChipMaxSide: -1, Decoder: cd})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	enc := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1, PayloadMaxSize: 1400}
	if err := enc.Init(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_000_000, 0)
	var got [][32]byte
	units := 0
	for l := range int64(loops) {
		for i, u := range clip.Units {
			units++
			pts := u.PTS + l*period
			pkts, err := enc.Encode(u.NALUs)
			if err != nil {
				t.Fatal(err)
			}
			arrival := t0.Add(time.Duration(l*len64(clip.Units)+int64(i)) * time.Second / time.Duration(clip.FPS))
			for _, pkt := range pkts {
				pkt.Timestamp = uint32(pts)
				f, err := tr.WritePacket(pkt, arrival)
				if err != nil {
					t.Fatalf("loop %d unit %d: %v", l, i, err)
				}
				if f != nil {
					got = append(got, sha256.Sum256(f.Pix))
					f.Release()
				}
			}
		}
	}
	st := tr.Stats()
	t.Logf("%d pictures, %d left undecoded (%.0f%%), %d decoded, %d frames handed off",
		st.Pictures, st.Undecoded, 100*float64(st.Undecoded)/float64(st.Pictures), cd.units, len(got))
	if cd.units+int(st.Undecoded) != units {
		t.Errorf("%d units decoded + %d undecoded, want the %d sent", cd.units, st.Undecoded, units)
	}
	if st.Undecoded < uint64(units)/4 {
		t.Errorf("%d of %d pictures left undecoded; a stream with B-frames has far more that are disposable", st.Undecoded, units)
	}
	if len(got) != len(want) || len(want) < loops*int(clip.Period.Seconds()*rate)-1 {
		t.Fatalf("%d frames handed off, decoding everything samples %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frame %d differs from the frame decoding every picture gives", i)
		}
	}
}

func len64[T any](s []T) int64 { return int64(len(s)) }
