package camera

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func newTestTrack(t *testing.T, c Codec, params [][]byte, rate float64, maxSide int) (*Track, *fakeDecoder) {
	t.Helper()
	dec := &fakeDecoder{codec: c, w: 1920, h: 1080}
	tr, err := NewTrack(TrackConfig{Codec: c, Params: params, PacketizationMode: 1, SampleRate: rate, MaxSide: maxSide, Decoder: dec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr, dec
}

// feed sends access units as RTP packets arriving in real time and
// returns the frames that came out. drop(i, j) drops packet j of unit i.
func feed(t *testing.T, tr *Track, c Codec, units []AccessUnit, drop func(i, j int) bool) []*Frame {
	t.Helper()
	p := newPacketizer(t, c)
	var frames []*Frame
	for i, u := range units {
		for j, pkt := range p.packets(t, u.NALUs, u.PTS) {
			if drop != nil && drop(i, j) {
				continue
			}
			f, err := tr.WritePacket(pkt, at(u.PTS))
			if err != nil && testing.Verbose() {
				t.Logf("unit %d packet %d: %v", i, j, err)
			}
			if f != nil {
				frames = append(frames, f)
			}
		}
	}
	return frames
}

func TestTrackDecodesAndSamples(t *testing.T) {
	for _, c := range []Codec{H264, H265} {
		t.Run(string(c), func(t *testing.T) {
			tr, dec := newTestTrack(t, c, nil, 5, 640)
			frames := feed(t, tr, c, stream(c, 100, 25, 25), nil)
			st := tr.Stats()
			if st.Pictures != 100 || dec.pictures != 100 {
				t.Fatalf("pictures %d (decoder %d), want 100; stats %+v", st.Pictures, dec.pictures, st)
			}
			if len(frames) != 20 || st.Frames != 20 {
				t.Fatalf("%d frames (stats %d) at 5 fps from 4 s of 25 fps, want 20", len(frames), st.Frames)
			}
			for i, f := range frames {
				if f.W != 640 || f.H != 360 || f.Validate() != nil {
					t.Fatalf("frame %d: %dx%d, %d bytes", i, f.W, f.H, len(f.Pix))
				}
				if f.FullW != 1920 || f.FullH != 1080 || len(f.FullPix) != 1920*1080*3 {
					t.Fatalf("frame %d: full picture %dx%d, %d bytes: want the decoded 1920x1080", i, f.FullW, f.FullH, len(f.FullPix))
				}
				if want := at(int64(i) * 18000); !f.Captured.Equal(want) {
					t.Errorf("frame %d captured %v, want %v", i, f.Captured, want)
				}
			}
			if st.RTPErrors != 0 || st.DecodeErrors != 0 || st.Skipped != 0 || st.Lost != 0 {
				t.Errorf("clean stream counted errors: %+v", st)
			}
			if st.Width != 1920 || st.Height != 1080 {
				t.Errorf("coded size %dx%d", st.Width, st.Height)
			}
		})
	}
}

func TestTrackEveryPictureAndNativeSize(t *testing.T) {
	tr, _ := newTestTrack(t, H264, nil, -1, -1)
	frames := feed(t, tr, H264, stream(H264, 30, 10, 30), nil)
	if len(frames) != 30 {
		t.Fatalf("%d frames, want every picture (30)", len(frames))
	}
	if frames[0].W != 1920 || frames[0].H != 1080 {
		t.Fatalf("size %dx%d, want the decoded size", frames[0].W, frames[0].H)
	}
	if frames[0].FullPix != nil {
		t.Fatalf("full picture %dx%d beside a frame of the decoded size", frames[0].FullW, frames[0].FullH)
	}
}

func TestTrackFullPicture(t *testing.T) {
	for _, tc := range []struct {
		name             string
		maxSide, chip    int
		wantFW, wantFH   int
		wantFullReleased bool
	}{
		{"default keeps 1080p", 640, 0, 1920, 1080, true},
		{"bounded", 640, 1280, 1280, 720, true},
		{"none", 640, -1, 0, 0, false},
		{"no larger than the frame", 640, 480, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dec := &fakeDecoder{codec: H264, w: 1920, h: 1080}
			tr, err := NewTrack(TrackConfig{Codec: H264, PacketizationMode: 1, SampleRate: -1, MaxSide: tc.maxSide, ChipMaxSide: tc.chip, Decoder: dec})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			frames := feed(t, tr, H264, stream(H264, 3, 10, 25), nil)
			if len(frames) != 3 {
				t.Fatalf("%d frames, want 3", len(frames))
			}
			f := frames[0]
			if err := f.Validate(); err != nil {
				t.Fatal(err)
			}
			if f.FullW != tc.wantFW || f.FullH != tc.wantFH || len(f.FullPix) != tc.wantFW*tc.wantFH*3 {
				t.Fatalf("full picture %dx%d with %d bytes, want %dx%d", f.FullW, f.FullH, len(f.FullPix), tc.wantFW, tc.wantFH)
			}
			if f.FullPix != nil && f.FullPix[0] != f.Pix[0] {
				t.Errorf("full picture and frame come from different pictures")
			}
			full := f.FullPix
			f.Release()
			if f.Pix != nil || f.FullPix != nil {
				t.Fatal("Release kept the buffers")
			}
			if got := len(tr.fullPool.c) == 1; got != tc.wantFullReleased {
				t.Errorf("full buffer back in its pool: %v, want %v", got, tc.wantFullReleased)
			}
			if tc.wantFullReleased && &tr.fullPool.get(len(full))[0] != &full[0] {
				t.Errorf("the full buffer was not reused")
			}
		})
	}
}

func TestFrameValidateFullPicture(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Frame
		ok   bool
	}{
		{"none", Frame{W: 2, H: 2, Pix: make([]byte, 12)}, true},
		{"good", Frame{W: 2, H: 2, Pix: make([]byte, 12), FullW: 4, FullH: 4, FullPix: make([]byte, 48)}, true},
		{"short", Frame{W: 2, H: 2, Pix: make([]byte, 12), FullW: 4, FullH: 4, FullPix: make([]byte, 47)}, false},
		{"smaller than the frame", Frame{W: 2, H: 2, Pix: make([]byte, 12), FullW: 1, FullH: 1, FullPix: make([]byte, 3)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestTrackWaitsForIDRAfterGap(t *testing.T) {
	tr, dec := newTestTrack(t, H264, nil, -1, 0)
	// 40 pictures, IDR every 10; lose the second packet of picture 13.
	frames := feed(t, tr, H264, stream(H264, 40, 10, 25), func(i, j int) bool { return i == 13 && j == 1 })
	st := tr.Stats()
	if st.Lost != 1 {
		t.Fatalf("lost %d, want 1", st.Lost)
	}
	// Picture 13 is discarded by the depacketiser (a fragment is
	// missing), 14..19 are skipped (they reference it); decoding resumes
	// at the IDR at 20.
	if st.Pictures != 33 || len(frames) != 33 {
		t.Fatalf("pictures %d, frames %d: want 33 (7 lost until the IDR)", st.Pictures, len(frames))
	}
	if st.Skipped != 6 || st.RTPErrors != 1 {
		t.Errorf("skipped %d, RTP errors %d: want 6 and 1", st.Skipped, st.RTPErrors)
	}
	for _, au := range dec.fed[13:14] {
		if au[0][0]&0x1f != 7 {
			t.Errorf("after the gap the decoder was fed %x..., want the IDR with its SPS", au[0][:1])
		}
	}
}

func TestTrackLostMarkerPacket(t *testing.T) {
	// Losing the last packet of an IDR (the marker) must not feed the
	// truncated IDR to the decoder.
	tr, dec := newTestTrack(t, H264, nil, -1, 0)
	units := stream(H264, 30, 10, 25)
	p := newPacketizer(t, H264)
	for i, u := range units {
		pkts := p.packets(t, u.NALUs, u.PTS)
		for j, pkt := range pkts {
			if i == 10 && j == len(pkts)-1 {
				continue
			}
			tr.WritePacket(pkt, at(u.PTS))
		}
	}
	for _, au := range dec.fed {
		var total int
		for _, n := range au {
			total += len(n)
		}
		if au[len(au)-1][0] == 0x65 && len(au[len(au)-1]) != 500 {
			t.Fatalf("decoder was fed a truncated IDR of %d bytes", len(au[len(au)-1]))
		}
	}
	if got := tr.Stats().Pictures; got != 20 {
		t.Fatalf("pictures %d, want 20 (the GOP of the damaged IDR is lost)", got)
	}
}

func TestTrackInjectsParameterSets(t *testing.T) {
	units := stream(H264, 10, 10, 25)
	units[0].NALUs = units[0].NALUs[2:] // IDR without SPS/PPS in band
	t.Run("from SDP", func(t *testing.T) {
		tr, dec := newTestTrack(t, H264, [][]byte{testSPS, testPPS}, -1, 0)
		feed(t, tr, H264, units, nil)
		if len(dec.fed) == 0 || len(dec.fed[0]) != 3 || !bytes.Equal(dec.fed[0][0], testSPS) || !bytes.Equal(dec.fed[0][1], testPPS) {
			t.Fatalf("IDR fed without the SDP's parameter sets: %d NAL units", len(dec.fed[0]))
		}
		if tr.Stats().Pictures != 10 {
			t.Fatalf("pictures %d", tr.Stats().Pictures)
		}
	})
	t.Run("none known", func(t *testing.T) {
		tr, dec := newTestTrack(t, H264, nil, -1, 0)
		feed(t, tr, H264, units, nil)
		if len(dec.fed) != 0 {
			t.Fatalf("decoder fed %d units without parameter sets", len(dec.fed))
		}
		if st := tr.Stats(); st.Skipped != 10 {
			t.Fatalf("skipped %d, want 10", st.Skipped)
		}
	})
	t.Run("H265 from SDP", func(t *testing.T) {
		u := stream(H265, 3, 3, 25)
		u[0].NALUs = u[0].NALUs[3:]
		tr, dec := newTestTrack(t, H265, [][]byte{test5VPS, test5SPS, test5PPS}, -1, 0)
		feed(t, tr, H265, u, nil)
		if len(dec.fed) == 0 || len(dec.fed[0]) != 4 {
			t.Fatalf("H.265 IDR not completed with VPS/SPS/PPS")
		}
	})
}

func TestTrackRejectsBadInput(t *testing.T) {
	idr := []*rtp.Packet{}
	p := newPacketizer(t, H264)
	idr = append(idr, p.packets(t, stream(H264, 1, 1, 25)[0].NALUs, 0)...)
	var seq uint16
	pkt := func(payload []byte, marker bool) *rtp.Packet {
		seq++
		return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: 1000 + 3600*uint32(seq), Marker: marker}, Payload: payload}
	}
	cases := []struct {
		name    string
		pkt     func() *rtp.Packet
		counter func(TrackStats) uint64
	}{
		{"empty payload", func() *rtp.Packet { return pkt(nil, true) }, func(s TrackStats) uint64 { return s.RTPErrors }},
		{"forbidden bit", func() *rtp.Packet { return pkt([]byte{0xc1, 1, 2, 3}, true) }, func(s TrackStats) uint64 { return s.RTPErrors }},
		{"NAL type 0", func() *rtp.Packet { return pkt([]byte{0x00, 1, 2, 3}, true) }, func(s TrackStats) uint64 { return s.RTPErrors }},
		{"STAP-B", func() *rtp.Packet { return pkt([]byte{0x19, 0, 4, 1, 2}, true) }, func(s TrackStats) uint64 { return s.RTPErrors }},
		{"truncated STAP-A", func() *rtp.Packet { return pkt([]byte{0x18, 0, 40, 0x41, 2}, true) }, func(s TrackStats) uint64 { return s.RTPErrors }},
		{"FU-A without start", func() *rtp.Packet { return pkt([]byte{0x7c, 0x05, 1, 2, 3}, true) }, func(s TrackStats) uint64 { return s.RTPErrors }},
		{"absurd SPS", func() *rtp.Packet { return pkt(hugeSPS(), true) }, func(s TrackStats) uint64 { return s.RTPErrors }},
		{"corrupt slice", func() *rtp.Packet { return pkt([]byte{0x41, 0xEE, 1, 2, 3}, true) }, func(s TrackStats) uint64 { return s.DecodeErrors }},
		{"late packet", func() *rtp.Packet {
			k := pkt([]byte{0x41, 1, 2, 3}, true)
			k.SequenceNumber -= 5
			return k
		}, func(s TrackStats) uint64 { return s.RTPErrors }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := newTestTrack(t, H264, nil, -1, 0)
			seq = idr[len(idr)-1].SequenceNumber
			for _, k := range idr {
				if _, err := tr.WritePacket(k, epoch); err != nil {
					t.Fatal(err)
				}
			}
			before := tc.counter(tr.Stats())
			f, err := tr.WritePacket(tc.pkt(), epoch)
			if err == nil || f != nil {
				t.Fatalf("accepted: frame %v, err %v", f, err)
			}
			if tc.counter(tr.Stats()) != before+1 {
				t.Fatalf("error not counted: %+v (%v)", tr.Stats(), err)
			}
			t.Logf("%v", err)
		})
	}
	if _, err := (&Track{}).WritePacket(nil, epoch); err == nil {
		t.Fatal("nil packet accepted")
	}
}

func TestTrackTimestampWrap(t *testing.T) {
	tr, _ := newTestTrack(t, H264, nil, 5, 0)
	p := newPacketizer(t, H264)
	p.base = 0xFFFFFFFF - 3600*20 // wraps after 20 pictures
	var frames []*Frame
	for i, u := range stream(H264, 50, 25, 25) {
		for _, k := range p.packets(t, u.NALUs, u.PTS) {
			if f, _ := tr.WritePacket(k, at(int64(i)*3600)); f != nil {
				frames = append(frames, f)
			}
		}
	}
	if len(frames) != 10 {
		t.Fatalf("%d frames across the wrap, want 10", len(frames))
	}
	for i := 1; i < len(frames); i++ {
		if d := frames[i].Captured.Sub(frames[i-1].Captured); d != 200*time.Millisecond {
			t.Fatalf("frame %d: %v after the previous, want 200ms", i, d)
		}
	}
}

func TestTrackCaptureTime(t *testing.T) {
	type arrival struct {
		pts int64         // RTP time of the picture
		at  time.Duration // arrival after the first
	}
	sec := int64(ClockRate)
	for _, tc := range []struct {
		name string
		in   []arrival
		want []time.Duration // capture times after the first arrival
	}{
		{"on time", []arrival{{0, 0}, {sec, time.Second}, {2 * sec, 2 * time.Second}},
			[]time.Duration{0, time.Second, 2 * time.Second}},
		{"our backlog keeps RTP spacing", []arrival{{0, 0}, {sec, 2500 * time.Millisecond}, {2 * sec, 2600 * time.Millisecond}},
			[]time.Duration{0, time.Second, 2 * time.Second}},
		{"never in the future", []arrival{{0, 0}, {2 * sec, time.Second}, {3 * sec, 2 * time.Second}},
			[]time.Duration{0, time.Second, 2 * time.Second}},
		{"encoder restart jumps back", []arrival{{0, 0}, {sec, time.Second}, {-3600 * sec, 2 * time.Second}, {-3599 * sec, 3 * time.Second}},
			[]time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}},
		{"slow camera clock", []arrival{{0, 0}, {5 * sec, 8 * time.Second}, {7 * sec, 11 * time.Second}, {8 * sec, 12 * time.Second}},
			[]time.Duration{0, 5 * time.Second, 10 * time.Second, 11 * time.Second}}, // corrected by the smallest lag of the window
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &Track{}
			for i, a := range tc.in {
				got := tr.captured(1_000_000+a.pts, epoch.Add(a.at)).Sub(epoch)
				if got != tc.want[i] {
					t.Errorf("picture %d (pts %+ds, arrived +%v): captured +%v, want +%v", i, a.pts/sec, a.at, got, tc.want[i])
				}
			}
		})
	}
}

func TestSamplingFollowsStreamClock(t *testing.T) {
	for _, tc := range []struct {
		fps, rate float64
		n, want   int
	}{
		{25, 5, 250, 50},
		{29.97, 5, 300, 51}, // 10.01 s
		{30, 5, 300, 50},
		{10, 5, 100, 50},
		{4, 5, 40, 40}, // slower than the rate: every picture
		{12, 5, 120, 50},
		{25, 1, 250, 10},
	} {
		tr := &Track{interval: int64(ClockRate / tc.rate)}
		got := 0
		for i := range tc.n {
			if tr.due(int64(float64(i) * ClockRate / tc.fps)) {
				got++
			}
		}
		if got < tc.want-1 || got > tc.want {
			t.Errorf("%v fps sampled at %v/s over %d pictures: %d, want %d", tc.fps, tc.rate, tc.n, got, tc.want)
		}
	}
}

func TestOutputSize(t *testing.T) {
	for _, tc := range []struct{ w, h, max, ow, oh int }{
		{1920, 1080, 640, 640, 360},
		{1080, 1920, 640, 360, 640},
		{640, 360, 640, 640, 360},
		{480, 270, 640, 480, 270},
		{1920, 1080, 0, 1920, 1080},
		{1920, 1080, -1, 1920, 1080},
		{2000, 1, 640, 640, 1},
		{1280, 720, 1000, 1000, 563},
	} {
		if w, h := OutputSize(tc.w, tc.h, tc.max); w != tc.ow || h != tc.oh {
			t.Errorf("OutputSize(%d, %d, %d) = %d, %d; want %d, %d", tc.w, tc.h, tc.max, w, h, tc.ow, tc.oh)
		}
	}
}

func TestNewTrackRejects(t *testing.T) {
	dec := &fakeDecoder{codec: H264}
	for name, cfg := range map[string]TrackConfig{
		"no decoder":      {Codec: H264},
		"mjpeg":           {Codec: "MJPEG", Decoder: dec},
		"packetization 2": {Codec: H264, PacketizationMode: 2, Decoder: dec},
		"NaN rate":        {Codec: H264, SampleRate: nanValue(), Decoder: dec},
	} {
		if _, err := NewTrack(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name == "mjpeg" || name == "packetization 2" {
			if !errors.Is(err, ErrUnsupportedCodec) {
				t.Errorf("%s: %v, want ErrUnsupportedCodec", name, err)
			}
		}
	}
}

func nanValue() float64 {
	z := 0.0
	return z / z
}

// hugeSPS is a well-formed baseline SPS declaring 32000x176 pixels.
func hugeSPS() []byte {
	var w bitWriter
	w.bits(0x67, 8) // NAL header: SPS
	w.bits(66, 8)   // profile_idc: baseline
	w.bits(0xc0, 8) // constraint flags
	w.bits(30, 8)   // level_idc
	w.ue(0)         // seq_parameter_set_id
	w.ue(0)         // log2_max_frame_num_minus4
	w.ue(2)         // pic_order_cnt_type
	w.ue(1)         // max_num_ref_frames
	w.bits(0, 1)    // gaps_in_frame_num_value_allowed_flag
	w.ue(1999)      // pic_width_in_mbs_minus1
	w.ue(10)        // pic_height_in_map_units_minus1
	w.bits(1, 1)    // frame_mbs_only_flag
	w.bits(1, 1)    // direct_8x8_inference_flag
	w.bits(0, 1)    // frame_cropping_flag
	w.bits(0, 1)    // vui_parameters_present_flag
	w.bits(1, 1)    // rbsp_stop_one_bit
	return w.bytes()
}

type bitWriter struct {
	b []byte
	n int // bits used
}

func (w *bitWriter) bits(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>uint(i)&1 == 1 {
			w.b[len(w.b)-1] |= 0x80 >> uint(w.n%8)
		}
		w.n++
	}
}

func (w *bitWriter) ue(v uint64) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	w.bits(0, n)
	w.bits(v, n+1)
}

func (w *bitWriter) bytes() []byte { return w.b }

func TestHugeSPSParses(t *testing.T) {
	w, h, ok := spsSize(H264, hugeSPS())
	if !ok || w != 32000 || h != 176 {
		t.Fatalf("test SPS: %dx%d ok=%v", w, h, ok)
	}
	if w, h, ok := spsSize(H264, testSPS); !ok || w != 640 || h != 360 {
		t.Fatalf("clip SPS: %dx%d ok=%v", w, h, ok)
	}
	if w, h, ok := spsSize(H265, test5SPS); !ok || w != 480 || h != 270 {
		t.Fatalf("H.265 SPS: %dx%d ok=%v", w, h, ok)
	}
}
