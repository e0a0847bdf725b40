package camera

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// Limits on what a camera may send, checked before any byte reaches the
// decoder.
const (
	// MaxAccessUnitSize bounds one coded picture (a 50 Mbit/s 4K60 stream
	// stays under it).
	MaxAccessUnitSize = 8 << 20
	// MaxNALUsPerAccessUnit bounds the NAL units of one picture.
	MaxNALUsPerAccessUnit = 64
	// MaxPictureSide bounds the coded width and height an SPS may declare.
	MaxPictureSide = 8192
)

// nalKind is what the track needs to know about a NAL unit.
type nalKind int

const (
	nalOther nalKind = iota
	nalVPS
	nalSPS
	nalPPS
	nalRandom // IDR (H.264); IDR or CRA (H.265)
)

// classifyNALU validates one NAL unit's header and says what it is.
func classifyNALU(c Codec, n []byte) (nalKind, error) {
	if len(n) == 0 {
		return 0, fmt.Errorf("empty NAL unit")
	}
	if n[0]&0x80 != 0 {
		return 0, fmt.Errorf("NAL unit header 0x%02x: forbidden bit set", n[0])
	}
	switch c {
	case H264:
		switch t := h264.NALUType(n[0] & 0x1f); {
		case t == 0 || t >= 24:
			return 0, fmt.Errorf("H.264 NAL unit type %d not allowed in an access unit", t)
		case t == h264.NALUTypeIDR:
			return nalRandom, nil
		case t == h264.NALUTypeSPS:
			return nalSPS, nil
		case t == h264.NALUTypePPS:
			return nalPPS, nil
		}
		return nalOther, nil
	case H265:
		if len(n) < 2 {
			return 0, fmt.Errorf("H.265 NAL unit of %d byte: header needs 2", len(n))
		}
		if n[1]&0x07 == 0 {
			return 0, fmt.Errorf("H.265 NAL unit: temporal id 0 is invalid")
		}
		switch t := h265.NALUType((n[0] >> 1) & 0x3f); {
		case t >= 48:
			return 0, fmt.Errorf("H.265 NAL unit type %d not allowed in an access unit", t)
		case t == h265.NALUType_IDR_W_RADL || t == h265.NALUType_IDR_N_LP || t == h265.NALUType_CRA_NUT:
			return nalRandom, nil
		case t == h265.NALUType_VPS_NUT:
			return nalVPS, nil
		case t == h265.NALUType_SPS_NUT:
			return nalSPS, nil
		case t == h265.NALUType_PPS_NUT:
			return nalPPS, nil
		}
		return nalOther, nil
	}
	return 0, fmt.Errorf("codec %q: %w", c, ErrUnsupportedCodec)
}

// spsSize parses an SPS for its picture size. ok is false when the parser
// here cannot read it; the decoder remains the judge of such an SPS.
func spsSize(c Codec, sps []byte) (w, h int, ok bool) {
	defer func() {
		if recover() != nil { // a parser bug must not take the camera down
			ok = false
		}
	}()
	switch c {
	case H264:
		var s h264.SPS
		if s.Unmarshal(sps) != nil {
			return 0, 0, false
		}
		return s.Width(), s.Height(), true
	case H265:
		var s h265.SPS
		if s.Unmarshal(sps) != nil {
			return 0, 0, false
		}
		return s.Width(), s.Height(), true
	}
	return 0, 0, false
}

// checkSPS rejects an SPS that declares an absurd picture size.
func checkSPS(c Codec, sps []byte) (w, h int, err error) {
	w, h, ok := spsSize(c, sps)
	if !ok {
		return 0, 0, nil
	}
	if w <= 0 || h <= 0 || w > MaxPictureSide || h > MaxPictureSide {
		return 0, 0, fmt.Errorf("SPS declares %dx%d (limit %d per side)", w, h, MaxPictureSide)
	}
	return w, h, nil
}

// disposable reports whether access unit au holds a picture no later
// picture refers to, so that leaving it undecoded changes no other
// picture: in H.264 every slice has nal_ref_idc 0; in H.265 every slice is
// a sub-layer non-reference picture (TRAIL_N, TSA_N, STSA_N, RADL_N,
// RASL_N) and sps, the stream's SPS, declares a single temporal sub-layer
// (with several, a higher sub-layer may still refer to it). An access unit
// without a slice is not disposable.
func disposable(c Codec, au [][]byte, sps []byte) bool {
	slices := 0
	for _, n := range au {
		if len(n) == 0 {
			return false
		}
		switch c {
		case H264:
			t := n[0] & 0x1f
			if t < 1 || t > 5 {
				continue
			}
			if n[0]&0x60 != 0 {
				return false
			}
		case H265:
			t := (n[0] >> 1) & 0x3f
			if t >= 32 {
				continue
			}
			if t > 14 || t%2 != 0 {
				return false
			}
		default:
			return false
		}
		slices++
	}
	if c == H265 {
		// sps_max_sub_layers_minus1 is the 3 bits after the 4-bit VPS id
		// that follows the 2-byte NAL header.
		if len(sps) < 3 || (sps[2]>>1)&0x07 != 0 {
			return false
		}
	}
	return slices > 0
}
