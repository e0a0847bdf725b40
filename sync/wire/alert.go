package wire

import (
	"fmt"
	"slices"
	"time"
)

// Alert kinds: what rule fired.
const (
	// AlertWatchlist: a watch-listed person was seen.
	AlertWatchlist = "watchlist"
	// AlertZone: a person outside the zones they are permitted in.
	AlertZone = "zone"
	// AlertSchedule: a person in a permitted zone at a time they are not
	// permitted there.
	AlertSchedule = "schedule"
	// AlertUnknownFace: a face that matches nobody in a staff-only zone.
	AlertUnknownFace = "unknown_face"
	// AlertKeepApart: two people who must be kept apart were seen in the
	// same zone; Person is one of them, Others the rest.
	AlertKeepApart = "keep_apart"
)

// MaxAlertOthers bounds Alert.Others.
const MaxAlertOthers = 16

// Alert severities.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Alert is a rule that fired on a sighting. It waits for a person's
// decision (AlertDecision) and carries the evidence the guard sees.
type Alert struct {
	ID   ID     `json:"id"`
	Seq  uint64 `json:"seq"`
	Site string `json:"site"`
	// Rule is the rule's ID in the site's rule set.
	Rule string `json:"rule"`
	// Kind is one of the Alert* constants.
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	// Sighting is the ID of the sighting the rule fired on.
	Sighting ID `json:"sighting"`
	// Person is required, except for AlertUnknownFace where it is empty.
	Person string `json:"person,omitempty"`
	// Others are the further people the alert is about: for
	// AlertKeepApart the people Person must be kept apart from (at least
	// one); empty for every other kind. Optional within v1.
	Others []string `json:"others,omitempty"`
	Camera string   `json:"camera"`
	// Zone is required for AlertZone, AlertUnknownFace and AlertKeepApart.
	Zone     string    `json:"zone,omitempty"`
	At       time.Time `json:"at"`
	Evidence Evidence  `json:"evidence"`
}

// Evidence is what a guard needs to judge an alert: no alert rests on a
// bare claim.
type Evidence struct {
	// Score and Margin as in Sighting.
	Score  float64 `json:"score"`
	Margin float64 `json:"margin"`
	// Frames counts the frames that agreed.
	Frames int `json:"frames"`
	// Crop is the best face crop (JPEG, at most MaxCropLen bytes);
	// required.
	Crop []byte `json:"crop"`
}

// TopicKind implements Payload.
func (Alert) TopicKind() Kind { return KindAlert }

// MarshalJSON writes the payload with its "v" field.
func (a Alert) MarshalJSON() ([]byte, error) {
	type plain Alert
	return withVersion(plain(a))
}

// Validate implements Payload.
func (a Alert) Validate() error { return a.check(time.Time{}) }

func (a Alert) check(now time.Time) error {
	c := checker{payload: "alert", now: now}
	c.id("id", a.ID)
	c.seq("seq", a.Seq)
	c.segment("site", a.Site)
	c.token("rule", a.Rule, true, 128)
	c.oneOf("kind", a.Kind, AlertWatchlist, AlertZone, AlertSchedule, AlertUnknownFace, AlertKeepApart)
	c.oneOf("severity", a.Severity, SeverityInfo, SeverityWarning, SeverityCritical)
	c.id("sighting", a.Sighting)
	if a.Kind == AlertUnknownFace {
		if a.Person != "" {
			c.fail("person", "must be empty for kind %s", AlertUnknownFace)
		}
	} else {
		c.token("person", a.Person, true, 128)
	}
	c.others(a.Kind, a.Person, a.Others)
	c.segment("camera", a.Camera)
	c.token("zone", a.Zone, a.Kind == AlertZone || a.Kind == AlertUnknownFace || a.Kind == AlertKeepApart, 128)
	c.time("at", a.At, true)
	c.float("evidence.score", a.Evidence.Score, -1, 1)
	c.float("evidence.margin", a.Evidence.Margin, 0, 2)
	if a.Evidence.Frames < 1 {
		c.fail("evidence.frames", "%d; an alert rests on at least one frame", a.Evidence.Frames)
	}
	c.count("evidence.frames", a.Evidence.Frames, 1_000_000)
	c.crop("evidence.crop", a.Evidence.Crop, true)
	return c.err
}

// others checks Alert.Others: required for AlertKeepApart, empty for the
// other kinds; each entry a person ID like Person, none repeated and none
// equal to Person.
func (c *checker) others(kind, person string, others []string) {
	if kind != AlertKeepApart {
		if len(others) > 0 {
			c.fail("others", "must be empty for kind %s", clip(kind))
		}
		return
	}
	if len(others) == 0 {
		c.fail("others", "missing; kind %s names at least two people", AlertKeepApart)
		return
	}
	if len(others) > MaxAlertOthers {
		c.fail("others", "%d entries, more than %d", len(others), MaxAlertOthers)
		return
	}
	for i, p := range others {
		field := fmt.Sprintf("others[%d]", i)
		c.token(field, p, true, 128)
		if c.err != nil {
			return
		}
		if p == person {
			c.fail(field, "repeats person")
			return
		}
		if slices.Contains(others[:i], p) {
			c.fail(field, "%q appears twice", clip(p))
			return
		}
	}
}

// DecodeAlert reads an alert; see DecodeSighting for now.
func DecodeAlert(data []byte, now time.Time) (Alert, error) {
	var a Alert
	if err := decode("alert", data, &a); err != nil {
		return Alert{}, err
	}
	if err := a.check(now); err != nil {
		return Alert{}, err
	}
	return a, nil
}

// Decisions on an alert.
const (
	DecisionConfirmed = "confirmed"
	DecisionRejected  = "rejected"
)

// AlertDecision is a person's verdict on an alert.
type AlertDecision struct {
	ID    ID     `json:"id"`
	Seq   uint64 `json:"seq"`
	Site  string `json:"site"`
	Alert ID     `json:"alert"`
	// Decision is DecisionConfirmed or DecisionRejected.
	Decision string `json:"decision"`
	// By is the user ID of who decided.
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Note string    `json:"note,omitempty"`
}

// MaxNoteLen bounds AlertDecision.Note.
const MaxNoteLen = 2048

// TopicKind implements Payload.
func (AlertDecision) TopicKind() Kind { return KindAlertDecision }

// MarshalJSON writes the payload with its "v" field.
func (d AlertDecision) MarshalJSON() ([]byte, error) {
	type plain AlertDecision
	return withVersion(plain(d))
}

// Validate implements Payload.
func (d AlertDecision) Validate() error { return d.check(time.Time{}) }

func (d AlertDecision) check(now time.Time) error {
	c := checker{payload: "alert-decision", now: now}
	c.id("id", d.ID)
	c.seq("seq", d.Seq)
	c.segment("site", d.Site)
	c.id("alert", d.Alert)
	c.oneOf("decision", d.Decision, DecisionConfirmed, DecisionRejected)
	c.token("by", d.By, true, 128)
	c.time("at", d.At, true)
	c.text("note", d.Note, MaxNoteLen)
	return c.err
}

// DecodeAlertDecision reads a decision; see DecodeSighting for now.
func DecodeAlertDecision(data []byte, now time.Time) (AlertDecision, error) {
	var d AlertDecision
	if err := decode("alert-decision", data, &d); err != nil {
		return AlertDecision{}, err
	}
	if err := d.check(now); err != nil {
		return AlertDecision{}, err
	}
	return d, nil
}
