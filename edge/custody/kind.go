package custody

import "slices"

// Kind is what a rule watches for.
type Kind string

// Rule kinds.
const (
	// KindWatchList: a person on a watch list was seen (on the rule's
	// watch list, or on any list when it names none).
	KindWatchList Kind = "watch_list"
	// KindOutsidePermit: a person with permits was seen in a zone, or at a
	// time, that none of them covers.
	KindOutsidePermit Kind = "outside_permit"
	// KindKeepApart: two persons under a keep-apart order were seen in the
	// same zone within the rule's Params.Within of each other.
	KindKeepApart Kind = "keep_apart"
	// KindUnknownInStaffZone: an unknown face was seen in a staff-only
	// zone.
	KindUnknownInStaffZone Kind = "unknown_in_staff_zone"
)

var kinds = []Kind{KindWatchList, KindOutsidePermit, KindKeepApart, KindUnknownInStaffZone}

// Kinds returns every rule kind, for callers that list the choices.
func Kinds() []Kind { return slices.Clone(kinds) }

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return slices.Contains(kinds, k) }

// Severity grades an alert for the guard.
type Severity string

// Severities, least urgent first.
const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

var severities = []Severity{Info, Warning, Critical}

// Severities returns every severity, least urgent first.
func Severities() []Severity { return slices.Clone(severities) }

// Valid reports whether s is one of Severities.
func (s Severity) Valid() bool { return slices.Contains(severities, s) }
