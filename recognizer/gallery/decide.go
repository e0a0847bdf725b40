package gallery

import "math"

// Reasons given in Decision.Reason.
const (
	ReasonAccepted       = ""
	ReasonNoCandidates   = "no candidates"
	ReasonBelowThreshold = "best score below threshold"
	ReasonAmbiguous      = "too close to the runner-up"
)

// Decision is the verdict on one query.
type Decision struct {
	// PersonID is the best match, also when it was rejected, so that logs
	// can show who it almost was.
	PersonID string
	// Score is the best match's Match.Score.
	Score float32
	// Margin is Score minus the best score of a different person; +Inf
	// when no other person was among the matches.
	Margin float32
	Known  bool
	// Reason is ReasonAccepted for a known person, else the first rule
	// that rejected it.
	Reason string
}

// Decide accepts the best of ms as a known person only when its score is at
// least threshold and it leads every other person by at least margin. A
// lone candidate has no runner-up and passes the margin rule; search with
// k ≥ 2 for the rule to take effect. ms need not be sorted, and several
// entries of one person are allowed: the runner-up is the best entry of
// another PersonID.
func Decide(ms []Match, threshold, margin float32) Decision {
	if len(ms) == 0 {
		return Decision{Margin: float32(math.Inf(1)), Reason: ReasonNoCandidates}
	}
	best := 0
	for i, m := range ms {
		if m.Score > ms[best].Score {
			best = i
		}
	}
	b := ms[best]
	d := Decision{PersonID: b.PersonID, Score: b.Score, Margin: float32(math.Inf(1))}
	for _, m := range ms {
		if m.PersonID != b.PersonID {
			d.Margin = min(d.Margin, b.Score-m.Score)
		}
	}
	switch {
	case !(b.Score >= threshold):
		d.Reason = ReasonBelowThreshold
	case !(d.Margin >= margin):
		d.Reason = ReasonAmbiguous
	default:
		d.Known = true
	}
	return d
}
