package track

import (
	"fmt"
	"math"
)

// Budget says which faces are worth an embedding, the dearest step of
// recognition (both models of a fused engine, and the mirror image). An
// embedding is spent where it can change a decision:
//
//   - a face that continues no track, or more than one by position (Match
//     returns -1), is embedded: a new face, or one only its appearance can
//     place;
//   - a face of a track still undecided is embedded every frame, so that
//     a first decision is made from the same evidence as without a budget,
//     until the track is plainly nobody enrolled: UnknownFrames evidence
//     frames whose leading person's weighted mean score is below the
//     tracker's Threshold by ClearMargin or more. Such a track is then
//     treated like a settled one (below): most faces on a corridor camera
//     are of people nobody enrolled, and they would otherwise cost an
//     embedding on every frame they are seen;
//   - a face of a decided track whose margin is below ClearMargin is
//     embedded every frame: the identity may yet change;
//   - a face of a track decided with a clear margin is embedded when its
//     quality score beats the best the track has embedded by MinGain, or
//     when its refresh is due (Refresh observations since the track's
//     latest embedding, more for a track followed long: see MaxRefresh);
//     otherwise it is followed by its box alone.
//
// The zero value takes the defaults documented on the fields.
type Budget struct {
	// ClearMargin is the margin from which a decided identity is settled.
	// Default Config.SwitchMargin (after defaults): the lead a new person
	// would need to take the track over.
	ClearMargin float32
	// Refresh is how many observations of a settled track may pass without
	// an embedding before one is made again, so that its appearance keeps
	// up and a change of person can still be noticed. Default 5 (a second
	// at the default 5 detections per second); 1 embeds every face, as
	// without a budget.
	Refresh int
	// MaxRefresh is the longest a settled track waits between refreshes.
	// The wait grows with how long the track has been followed: a quarter
	// of its observations, from Refresh up to MaxRefresh. A track that has
	// kept one identity (or none) through many frames is the least likely
	// to change now, and a change of person under one track is what a
	// refresh looks for: the tracker pairs faces by position, so it takes
	// two people crossing. A better face is embedded whatever the wait.
	// Default 5·Refresh (5 s at the defaults), but 1 when Refresh is 1, so
	// that Refresh 1 still embeds every face.
	MaxRefresh int
	// MinGain is how much a face's quality score (0 to 1) must exceed the
	// best a settled track has embedded for the face to be embedded.
	// Default 0.05.
	MinGain float32
	// UnknownFrames is how many evidence frames an undecided track needs
	// before it can be settled as unknown. Default Config.MinFrames (after
	// defaults): the evidence a decision needs, so that "nobody enrolled"
	// takes as many frames as naming someone. A settled unknown is still
	// embedded for every better face and at each refresh, so a person who
	// was far at first is named once his faces are good enough.
	UnknownFrames int

	// unknownBelow is the leading weighted mean under which an undecided
	// track is plainly unknown: Config.Threshold − ClearMargin.
	unknownBelow float32
}

// Defaults of Budget that do not depend on the tracker's configuration.
const (
	DefaultRefresh = 5
	DefaultMinGain = 0.05
)

// WithDefaults returns b with every zero field set to its default for the
// tracker configuration cfg.
func (b Budget) WithDefaults(cfg Config) Budget {
	if b.ClearMargin == 0 {
		b.ClearMargin = cfg.WithDefaults().SwitchMargin
	}
	if b.Refresh == 0 {
		b.Refresh = DefaultRefresh
	}
	if b.MaxRefresh == 0 {
		b.MaxRefresh = 5 * b.Refresh
		if b.Refresh == 1 {
			b.MaxRefresh = 1
		}
	}
	if b.MinGain == 0 {
		b.MinGain = DefaultMinGain
	}
	if b.UnknownFrames == 0 {
		b.UnknownFrames = cfg.WithDefaults().MinFrames
	}
	b.unknownBelow = cfg.Threshold - b.ClearMargin
	return b
}

// Validate reports the fields of b (after defaults for cfg) that are out
// of range, naming the field.
func (b Budget) Validate(cfg Config) error {
	b = b.WithDefaults(cfg)
	switch {
	case math.IsNaN(float64(b.ClearMargin)) || b.ClearMargin < 0:
		return fmt.Errorf("track: Budget.ClearMargin: %v, want at least 0", b.ClearMargin)
	case b.Refresh < 1:
		return fmt.Errorf("track: Budget.Refresh: %d, want at least 1", b.Refresh)
	case b.MaxRefresh < b.Refresh:
		return fmt.Errorf("track: Budget.MaxRefresh: %d, want at least Refresh (%d)", b.MaxRefresh, b.Refresh)
	case math.IsNaN(float64(b.MinGain)) || b.MinGain < 0 || b.MinGain > 1:
		return fmt.Errorf("track: Budget.MinGain: %v is outside [0,1]", b.MinGain)
	case b.UnknownFrames < 1:
		return fmt.Errorf("track: Budget.UnknownFrames: %d, want at least 1", b.UnknownFrames)
	}
	return nil
}

// Reason is why a face was or was not embedded.
type Reason uint8

// Reasons of Budget.Embed.
const (
	// Embedded:
	ReasonNew       Reason = iota + 1 // the face continues no single track
	ReasonUndecided                   // its track has no identity yet
	ReasonNarrow                      // its track's identity has a narrow margin
	ReasonBetter                      // a better face than its track has embedded
	ReasonRefresh                     // Refresh observations since the last embedding
	// Not embedded:
	ReasonSettled // its track is decided with a clear margin
	ReasonUnknown // its track is plainly nobody enrolled
)

func (r Reason) String() string {
	switch r {
	case ReasonNew:
		return "new"
	case ReasonUndecided:
		return "undecided"
	case ReasonNarrow:
		return "narrow"
	case ReasonBetter:
		return "better"
	case ReasonRefresh:
		return "refresh"
	case ReasonSettled:
		return "settled"
	case ReasonUnknown:
		return "unknown"
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Embeds reports whether a face given reason r is embedded.
func (r Reason) Embeds() bool { return r != ReasonSettled && r != ReasonUnknown }

// Reasons lists every Reason, those that embed first.
var Reasons = []Reason{ReasonNew, ReasonUndecided, ReasonNarrow, ReasonBetter, ReasonRefresh, ReasonSettled, ReasonUnknown}

// Embed says whether a face of quality score quality is worth an
// embedding when it continues track l (nil: no single track), and why.
// b must have its defaults applied.
func (b Budget) Embed(l *Live, quality float32) (bool, Reason) {
	settled := ReasonSettled
	switch {
	case l == nil:
		return true, ReasonNew
	case l.PersonID == "" && (l.Evidence < b.UnknownFrames || !(l.Nearest < b.unknownBelow)):
		return true, ReasonUndecided
	case l.PersonID == "":
		settled = ReasonUnknown
	case l.Margin < b.ClearMargin:
		return true, ReasonNarrow
	}
	switch {
	case quality >= l.EmbeddedQuality+b.MinGain:
		return true, ReasonBetter
	case l.SinceEmbedded+1 >= b.refreshWait(l):
		return true, ReasonRefresh
	}
	return false, settled
}

// refreshWait is how many observations settled track l waits between
// embeddings: a quarter of those it has had, between Refresh and
// MaxRefresh.
func (b Budget) refreshWait(l *Live) int {
	return min(max(l.Observations/4, b.Refresh), b.MaxRefresh)
}
