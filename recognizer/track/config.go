package track

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config tunes a Tracker. A zero field takes the default documented on it,
// except Threshold, which has none because its units are the gallery's.
type Config struct {
	// MaxAge is how long a track lives on without being observed. It is a
	// duration, not a frame count, because the detection rate varies with
	// load. Default 1.5 s: a person passing behind another is hidden for
	// about a second.
	MaxAge time.Duration
	// ConfirmFrames is how many observations turn a tentative track into a
	// real one (announced by TrackStarted). Default 2.
	ConfirmFrames int

	// MinIoU is the least overlap of an observation's box with a track's
	// predicted box for the two to be paired by position. Default 0.1.
	MinIoU float32
	// MinSimilarity is the least cosine similarity of an observation's
	// embedding to the track's mean embedding for a pairing by position: a
	// box that overlaps but looks like someone else is someone else.
	// Default 0.15, well below what the same face scores even when blurred
	// or turned, well above what two people score.
	MinSimilarity float32
	// ReacquireSimilarity pairs an observation with a track on appearance
	// alone, wherever its box is: a face reappearing after an occlusion.
	// Default 0.45.
	ReacquireSimilarity float32

	// MinFrames is the least number of usable frames with gallery matches
	// behind a decision; the decided person must also be the best match in
	// at least that many of them. Default 3.
	MinFrames int
	// Threshold is the least quality-weighted mean score of the decided
	// person, in the units of gallery.Match.Score (raw cosine, or the
	// normalised score of a snapshot built with gallery.Options.ScoreNorm).
	// Required: it must be positive.
	Threshold float32
	// MinMargin is how far the decided person's weighted mean score must
	// lead the runner-up's. Default Threshold/10, which suits both raw cosine
	// (0.04 for 0.4) and normalised scores (0.4 for 4).
	MinMargin float32
	// MinVoteShare is the least share of the evidence weight carried by the
	// frames in which the decided person is the best match. Default 0.6.
	MinVoteShare float32
	// SwitchFrames is how many of the most recent evidence frames must all
	// name another person before a decided identity changes. Default
	// 2·MinFrames.
	SwitchFrames int
	// SwitchMargin is the lead the new person needs over those frames.
	// Default 2·MinMargin.
	SwitchMargin float32
}

// Defaults that do not depend on the gallery's score units.
const (
	DefaultMaxAge              = 1500 * time.Millisecond
	DefaultConfirmFrames       = 2
	DefaultMinIoU              = 0.1
	DefaultMinSimilarity       = 0.15
	DefaultReacquireSimilarity = 0.45
	DefaultMinFrames           = 3
	DefaultMinVoteShare        = 0.6
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.ConfirmFrames == 0 {
		c.ConfirmFrames = DefaultConfirmFrames
	}
	if c.MinIoU == 0 {
		c.MinIoU = DefaultMinIoU
	}
	if c.MinSimilarity == 0 {
		c.MinSimilarity = DefaultMinSimilarity
	}
	if c.ReacquireSimilarity == 0 {
		c.ReacquireSimilarity = DefaultReacquireSimilarity
	}
	if c.MinFrames == 0 {
		c.MinFrames = DefaultMinFrames
	}
	if c.MinMargin == 0 {
		c.MinMargin = c.Threshold / 10
	}
	if c.MinVoteShare == 0 {
		c.MinVoteShare = DefaultMinVoteShare
	}
	if c.SwitchFrames == 0 {
		c.SwitchFrames = 2 * c.MinFrames
	}
	if c.SwitchMargin == 0 {
		c.SwitchMargin = 2 * c.MinMargin
	}
	return c
}

// Validate reports every field of c (after defaults) that is out of range,
// naming the field.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("track: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	finite := func(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }
	if c.MaxAge < 0 {
		bad("MaxAge", "negative duration %v", c.MaxAge)
	}
	if c.ConfirmFrames < 1 {
		bad("ConfirmFrames", "%d, want at least 1", c.ConfirmFrames)
	}
	for _, f := range []struct {
		name string
		v    float32
	}{{"MinIoU", c.MinIoU}, {"MinSimilarity", c.MinSimilarity}, {"ReacquireSimilarity", c.ReacquireSimilarity}} {
		if !finite(f.v) || f.v < 0 || f.v > 1 {
			bad(f.name, "%v is outside [0,1]", f.v)
		}
	}
	if c.MinFrames < 1 {
		bad("MinFrames", "%d, want at least 1", c.MinFrames)
	}
	if !finite(c.Threshold) || c.Threshold <= 0 {
		bad("Threshold", "%v, want a positive score in the gallery's units", c.Threshold)
	}
	if !finite(c.MinMargin) || c.MinMargin < 0 {
		bad("MinMargin", "%v, want a non-negative score difference", c.MinMargin)
	}
	if !finite(c.MinVoteShare) || c.MinVoteShare < 0 || c.MinVoteShare > 1 {
		bad("MinVoteShare", "%v is outside [0,1]", c.MinVoteShare)
	}
	if c.SwitchFrames < c.MinFrames {
		bad("SwitchFrames", "%d is below MinFrames %d", c.SwitchFrames, c.MinFrames)
	}
	if !finite(c.SwitchMargin) || c.SwitchMargin < c.MinMargin {
		bad("SwitchMargin", "%v is below MinMargin %v", c.SwitchMargin, c.MinMargin)
	}
	return errors.Join(errs...)
}
