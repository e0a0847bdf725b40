package camera

import (
	"fmt"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/pion/rtp"
)

// Parameter sets of real streams: the 640x360 H.264 test clip, and a
// 480x270 H.265 encoding.
var (
	testSPS  = []byte{0x67, 0x42, 0xc0, 0x1e, 0xda, 0x2, 0x80, 0xbf, 0xe5, 0xc0, 0x5a, 0x80, 0x80, 0x80, 0xa0, 0x0, 0x0, 0xc, 0x80, 0x0, 0x2, 0xed, 0x41, 0xe2, 0xc5, 0xd4}
	testPPS  = []byte{0x68, 0xce, 0x3c, 0x80}
	test5VPS = []byte{0x40, 0x1, 0xc, 0x1, 0xff, 0xff, 0x1, 0x60, 0x0, 0x0, 0x3, 0x0, 0x90, 0x0, 0x0, 0x3, 0x0, 0x0, 0x3, 0x0, 0x3f, 0xba, 0x2, 0x40}
	test5SPS = []byte{0x42, 0x1, 0x1, 0x1, 0x60, 0x0, 0x0, 0x3, 0x0, 0x90, 0x0, 0x0, 0x3, 0x0, 0x0, 0x3, 0x0, 0x3f, 0xa0, 0xf, 0x8, 0x4, 0x47, 0xd6, 0x5b, 0xa9, 0x24, 0xca, 0xe6, 0x80, 0x80, 0x0, 0x0, 0x3, 0x0, 0x80, 0x0, 0x0, 0x7, 0x84}
	test5PPS = []byte{0x44, 0x1, 0xc1, 0x72, 0xb4, 0x62, 0x40}
)

// fakeDecoder "decodes" any access unit holding a slice into a picture of
// a fixed size; a slice whose second byte is 0xEE is corrupt.
type fakeDecoder struct {
	codec    Codec
	w, h     int
	fed      [][][]byte
	pictures int
	last     Picture
	closed   bool
}

func (d *fakeDecoder) Decode(au [][]byte, pts int64) (int, Picture, error) {
	if d.closed {
		return 0, Picture{}, ErrDecoderClosed
	}
	d.fed = append(d.fed, au)
	for _, n := range au {
		k, _ := classifyNALU(d.codec, n)
		slice := k == nalRandom || (d.codec == H264 && n[0]&0x1f == 1) || (d.codec == H265 && (n[0]>>1)&0x3f <= 9)
		if !slice {
			continue
		}
		if len(n) > 1 && n[1] == 0xEE {
			return 0, Picture{}, fmt.Errorf("fake: %w", ErrInvalidData)
		}
		d.pictures++
		d.last = Picture{W: d.w, H: d.h, PTS: pts}
		return 1, d.last, nil
	}
	return 0, Picture{}, nil
}

func (d *fakeDecoder) Convert(dst []byte, w, h int) error {
	if len(dst) != w*h*3 {
		return fmt.Errorf("fake convert: %d bytes for %dx%d", len(dst), w, h)
	}
	for i := range dst {
		dst[i] = byte(d.last.PTS)
	}
	return nil
}

func (d *fakeDecoder) Close() error { d.closed = true; return nil }

// packetizer turns access units into RTP packets with continuing sequence
// numbers, the way a camera does.
type packetizer struct {
	enc interface {
		Encode([][]byte) ([]*rtp.Packet, error)
	}
	base uint32
}

func newPacketizer(t testing.TB, c Codec) *packetizer {
	t.Helper()
	var p packetizer
	switch c {
	case H264:
		e := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1, PayloadMaxSize: 200}
		if err := e.Init(); err != nil {
			t.Fatal(err)
		}
		p.enc = e
	case H265:
		e := &rtph265.Encoder{PayloadType: 96, PayloadMaxSize: 200}
		if err := e.Init(); err != nil {
			t.Fatal(err)
		}
		p.enc = e
	}
	p.base = 1000
	return &p
}

func (p *packetizer) packets(t testing.TB, au [][]byte, pts int64) []*rtp.Packet {
	t.Helper()
	pkts, err := p.enc.Encode(au)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range pkts {
		k.Timestamp = p.base + uint32(pts)
	}
	return pkts
}

// slice makes a slice NAL unit of n bytes.
func slice(c Codec, idr bool, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	switch {
	case c == H264 && idr:
		b[0] = 0x65
	case c == H264:
		b[0] = 0x41
	case idr: // IDR_W_RADL
		b[0], b[1] = 19<<1, 1
	default: // TRAIL_R
		b[0], b[1] = 1<<1, 1
	}
	return b
}

// stream is a synthetic H.264 stream: an IDR (with parameter sets) every
// gop pictures at fps.
func stream(c Codec, n, gop int, fps float64) []AccessUnit {
	var out []AccessUnit
	for i := range n {
		pts := int64(float64(i) * ClockRate / fps)
		idr := i%gop == 0
		au := [][]byte{slice(c, idr, 500)}
		if idr {
			if c == H264 {
				au = append([][]byte{testSPS, testPPS}, au...)
			} else {
				au = append([][]byte{test5VPS, test5SPS, test5PPS}, au...)
			}
		}
		out = append(out, AccessUnit{PTS: pts, DTS: pts, NALUs: au, Random: idr})
	}
	return out
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at is the arrival time of a picture with this PTS in a live stream.
func at(pts int64) time.Time { return epoch.Add(time.Duration(pts) * time.Second / ClockRate) }
