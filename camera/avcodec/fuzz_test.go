package avcodec_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/pion/rtp"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
)

// A fuzz input is a codec byte (even: H.264, odd: H.265) followed by
// packets, each as [ctrl][length, 2 bytes][payload]: ctrl bit 7 is the
// RTP marker, bit 6 skips a sequence number (a lost packet), bits 0-3 add
// that many 1/60 s to the timestamp.
func encodeFuzz(codec camera.Codec, pkts []*rtp.Packet, prevTS uint32) []byte {
	out := []byte{0}
	if codec == camera.H265 {
		out[0] = 1
	}
	for _, p := range pkts {
		ctrl := byte(0)
		if p.Marker {
			ctrl |= 0x80
		}
		if p.Timestamp != prevTS {
			ctrl |= byte(min((p.Timestamp-prevTS)/1500, 15))
			prevTS = p.Timestamp
		}
		out = append(out, ctrl, byte(len(p.Payload)>>8), byte(len(p.Payload)))
		out = append(out, p.Payload...)
	}
	return out
}

func decodeFuzz(data []byte) (camera.Codec, []*rtp.Packet) {
	if len(data) == 0 {
		return camera.H264, nil
	}
	codec := camera.H264
	if data[0]&1 == 1 {
		codec = camera.H265
	}
	data = data[1:]
	var pkts []*rtp.Packet
	seq, ts := uint16(100), uint32(9000)
	for len(data) >= 3 && len(pkts) < 2000 {
		ctrl, n := data[0], int(binary.BigEndian.Uint16(data[1:3]))
		data = data[3:]
		n = min(n, len(data))
		if ctrl&0x40 != 0 {
			seq++
		}
		ts += uint32(ctrl&0x0f) * 1500
		pkts = append(pkts, &rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, Marker: ctrl&0x80 != 0},
			Payload: data[:n],
		})
		seq++
		data = data[n:]
	}
	return codec, pkts
}

// seedPackets packetises the first pictures of a real clip.
func seedPackets(t testing.TB, c *camera.Clip, n int) []*rtp.Packet {
	var enc interface {
		Encode([][]byte) ([]*rtp.Packet, error)
	}
	if c.Codec == camera.H264 {
		e := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1, PayloadMaxSize: 1200}
		e.Init()
		enc = e
	} else {
		e := &rtph265.Encoder{PayloadType: 96, PayloadMaxSize: 1200}
		e.Init()
		enc = e
	}
	var out []*rtp.Packet
	for _, u := range c.Units[:n] {
		pkts, err := enc.Encode(u.NALUs)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			p.Timestamp = 9000 + uint32(u.PTS)
		}
		out = append(out, pkts...)
	}
	return out
}

// FuzzDepacketizeDecode drives arbitrary RTP packets through the camera's
// depacketise -> validate -> decode (libavcodec) -> convert path. It must
// never crash or hang, every frame must be well formed, and the decoder's
// C memory must be freed.
func FuzzDepacketizeDecode(f *testing.F) {
	// Small pictures keep the seeds short, so the fuzzer mutates and
	// minimises quickly.
	h264 := readClip(f, "intel_head-pose-face-detection-female.mp4", avcodec.ClipOptions{MaxSide: 64, MaxFrames: 3})
	h265 := readClip(f, "intel_head-pose-face-detection-female.mp4", avcodec.ClipOptions{Codec: camera.H265, MaxSide: 64, MaxFrames: 3})
	for _, c := range []*camera.Clip{h264, h265} {
		pkts := seedPackets(f, c, len(c.Units))
		f.Add(encodeFuzz(c.Codec, pkts, 9000))
		// the same with damage: a lost packet, flipped bytes, a truncation
		lost := append(append([]*rtp.Packet{}, pkts[:1]...), pkts[2:]...)
		f.Add(encodeFuzz(c.Codec, lost, 9000))
		flipped := make([]*rtp.Packet, len(pkts))
		for i, p := range pkts {
			q := *p
			q.Payload = append([]byte(nil), p.Payload...)
			if i%2 == 1 && len(q.Payload) > 10 {
				q.Payload[len(q.Payload)/2] ^= 0x5a
				q.Payload[3] ^= 0xff
			}
			flipped[i] = &q
		}
		f.Add(encodeFuzz(c.Codec, flipped, 9000))
		cut := *pkts[0]
		cut.Payload = cut.Payload[:len(cut.Payload)/2]
		f.Add(encodeFuzz(c.Codec, []*rtp.Packet{&cut, pkts[1]}, 9000))
	}
	f.Add([]byte{0, 0x80, 0, 1, 0x65})
	f.Add([]byte{1, 0x80, 0, 2, 0x26, 0x01})
	f.Add([]byte{0, 0x80, 0, 5, 0x18, 0, 1, 0x67, 0})    // STAP-A
	f.Add([]byte{0, 0x80, 0, 4, 0x7c, 0x85, 0x00, 0x00}) // FU-A start+end

	f.Fuzz(func(t *testing.T, data []byte) {
		codec, pkts := decodeFuzz(data)
		tr := fuzzTrack(t, codec)
		now := time.Unix(1_700_000_000, 0)
		frames := 0
		for i, p := range pkts {
			fr, _ := tr.WritePacket(p, now.Add(time.Duration(i)*time.Millisecond))
			if fr != nil {
				if err := fr.Validate(); err != nil {
					t.Fatalf("bad frame: %v", err)
				}
				if fr.W > 160 || fr.H > 160 {
					t.Fatalf("frame %dx%d exceeds the detection size", fr.W, fr.H)
				}
				frames++
			}
		}
		st := tr.Stats()
		if st.Packets != uint64(len(pkts)) || st.Frames != uint64(frames) || st.Frames > st.Pictures+st.DecodeErrors {
			t.Fatalf("inconsistent counters %+v for %d packets, %d frames", st, len(pkts), frames)
		}
		tr.Close()
		if avcodec.Live() != 0 {
			t.Fatalf("%d decoders left open", avcodec.Live())
		}
	})
}

// fuzzTrack is the track the fuzz target feeds: a real decoder, frames
// scaled to at most 160 pixels a side.
func fuzzTrack(t *testing.T, codec camera.Codec) *camera.Track {
	t.Helper()
	dec, err := avcodec.NewDecoder(codec, avcodec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := camera.NewTrack(camera.TrackConfig{Codec: codec, PacketizationMode: 1, SampleRate: -1, MaxSide: 160, Decoder: dec})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// The seeds decode: the fuzz corpus exercises the real path, not only
// rejections.
func TestFuzzSeedsDecode(t *testing.T) {
	c := readClip(t, "hamilton_wh_short_640x360.mp4", avcodec.ClipOptions{MaxFrames: 4})
	codec, pkts := decodeFuzz(encodeFuzz(c.Codec, seedPackets(t, c, 4), 9000))
	tr := fuzzTrack(t, codec)
	defer tr.Close()
	for _, p := range pkts {
		tr.WritePacket(p, time.Now())
	}
	if st := tr.Stats(); st.Pictures != 4 || st.Frames != 4 || st.RTPErrors != 0 {
		t.Fatalf("seed stream: %+v", st)
	}
}
