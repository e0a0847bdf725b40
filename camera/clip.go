package camera

import (
	"fmt"
	"time"
)

// ClockRate is the RTP clock of H.264 and H.265 video (RFC 6184, RFC 7798):
// timestamps in this package count 1/90000 s.
const ClockRate = 90000

// AccessUnit is one coded picture: its NAL units (no start codes) in
// decoding order, and its timestamps in ClockRate units.
type AccessUnit struct {
	PTS, DTS int64
	NALUs    [][]byte
	// Random is set when decoding can start here (H.264 IDR; H.265 IDR or
	// CRA).
	Random bool
}

// Clip is encoded video held in memory: what the simulated camera streams
// and what the decoder benchmarks replay. camera/avcodec reads one from an
// MP4 file.
type Clip struct {
	Codec         Codec
	Width, Height int
	FPS           float64
	// Params are the parameter sets announced in the SDP: SPS and PPS for
	// H.264; VPS, SPS and PPS for H.265.
	Params [][]byte
	// Units are in decoding order; the first is a random access point.
	Units []AccessUnit
	// Period is the time from the first unit to the start of a replay.
	Period time.Duration
}

// Validate checks what a server or a benchmark relies on.
func (c *Clip) Validate() error {
	if c == nil {
		return fmt.Errorf("clip: nil")
	}
	if !c.Codec.Valid() {
		return fmt.Errorf("clip: codec %q: %w", c.Codec, ErrUnsupportedCodec)
	}
	if c.Width <= 0 || c.Height <= 0 {
		return fmt.Errorf("clip: size %dx%d", c.Width, c.Height)
	}
	if len(c.Units) == 0 {
		return fmt.Errorf("clip: no access units")
	}
	if !c.Units[0].Random {
		return fmt.Errorf("clip: first access unit is not a random access point")
	}
	if c.Period <= 0 {
		return fmt.Errorf("clip: period %v", c.Period)
	}
	for i, u := range c.Units {
		if len(u.NALUs) == 0 {
			return fmt.Errorf("clip: access unit %d is empty", i)
		}
		for _, n := range u.NALUs {
			if len(n) == 0 {
				return fmt.Errorf("clip: access unit %d has an empty NAL unit", i)
			}
		}
		if i > 0 && u.DTS < c.Units[i-1].DTS {
			return fmt.Errorf("clip: access unit %d: DTS goes backwards", i)
		}
	}
	return nil
}

// Frames is the number of pictures in the clip.
func (c *Clip) Frames() int { return len(c.Units) }
