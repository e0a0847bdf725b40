package camera

import (
	"errors"
	"fmt"
)

// Codec names a video compression format this package ingests.
type Codec string

// The codecs a camera may stream. Anything else is reported as an
// unsupported codec.
const (
	H264 Codec = "H264"
	H265 Codec = "H265"
)

// Valid reports whether c is one of the supported codecs.
func (c Codec) Valid() bool { return c == H264 || c == H265 }

// ParseCodec accepts "h264"/"h265" (and "hevc") in any case.
func ParseCodec(s string) (Codec, error) {
	switch s {
	case "h264", "H264", "avc", "AVC":
		return H264, nil
	case "h265", "H265", "hevc", "HEVC":
		return H265, nil
	}
	return "", fmt.Errorf("codec %q: %w (want h264 or h265)", s, ErrUnsupportedCodec)
}

// Errors a Decoder (and this package) reports; test with errors.Is.
var (
	// ErrUnsupportedCodec: the stream's codec (or its variant: packetization
	// mode, profile) cannot be decoded here.
	ErrUnsupportedCodec = errors.New("unsupported codec")
	// ErrInvalidData: the bitstream is corrupt (bad NAL unit, missing
	// reference, truncated slice). Counted, never fatal.
	ErrInvalidData = errors.New("invalid video data")
	// ErrDecoderClosed: the decoder was used after Close.
	ErrDecoderClosed = errors.New("decoder closed")
)

// Picture describes a decoded picture held inside a Decoder.
type Picture struct {
	// W and H are the coded picture's display size.
	W, H int
	// PTS is the presentation time the picture was fed with (in the
	// track's clock units), after the decoder's reordering.
	PTS int64
	// Corrupt is set when the decoder concealed errors in this picture.
	Corrupt bool
}

// Decoder decodes one video track. Implementations (camera/avcodec) own C
// memory: Close must be called, and a Decoder is used by one goroutine at a
// time. The consumer keeps the contract small so the cgo island stays one
// package.
type Decoder interface {
	// Decode feeds one access unit: its NAL units without start codes, in
	// decoding order, with its presentation time. It returns how many
	// pictures came out (0 while the decoder buffers for reordering; more
	// than one when it drains) and the newest of them, which it keeps for
	// Convert. A corrupt access unit returns an error wrapping
	// ErrInvalidData; the decoder stays usable.
	Decode(au [][]byte, pts int64) (pictures int, last Picture, err error)
	// Convert scales the newest picture to w x h and writes it to dst as
	// packed BGR (w*h*3 bytes, rows of w*3), in one pass. It may be called
	// again for the same picture at another size: the track converts a
	// sampled picture at the detection size and at full resolution.
	Convert(dst []byte, w, h int) error
	// Close frees the decoder. Further calls return ErrDecoderClosed.
	Close() error
}

// DecoderFactory opens a decoder for a codec. camera/avcodec.Factory is
// the production one; tests substitute fakes.
type DecoderFactory func(Codec) (Decoder, error)
