package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Config is a facility's rules snapshot as the supervisor writes it. Field
// names follow the JSON (and YAML) keys; see the package documentation for
// an example.
type Config struct {
	// Facility names the facility the snapshot is for.
	Facility string `json:"facility" yaml:"facility"`
	// TimeZone is the facility's IANA time zone ("Europe/Moscow"); every
	// time window is read on its wall clock.
	TimeZone string   `json:"time_zone" yaml:"time_zone"`
	Zones    []Zone   `json:"zones" yaml:"zones"`
	Cameras  []Camera `json:"cameras" yaml:"cameras"`
	// Persons are the enrolled people that rules say something about: watch
	// lists and custody permits. Persons not listed have neither.
	Persons []Person `json:"persons" yaml:"persons"`
	// KeepApart lists the orders that two persons must not meet.
	KeepApart []Order `json:"keep_apart" yaml:"keep_apart"`
	Rules     []Rule  `json:"rules" yaml:"rules"`
}

// Zone is an area of the facility.
type Zone struct {
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// StaffOnly zones alert on unknown faces (rule kind
	// unknown_in_staff_zone).
	StaffOnly bool `json:"staff_only,omitempty" yaml:"staff_only,omitempty"`
}

// Camera places a camera in a zone, for sightings that do not name one.
type Camera struct {
	ID   string `json:"id" yaml:"id"`
	Zone string `json:"zone" yaml:"zone"`
}

// Person is what the rules know about one enrolled person.
type Person struct {
	ID string `json:"id" yaml:"id"`
	// WatchLists the person is on ("escape-risk").
	WatchLists []string `json:"watch_lists,omitempty" yaml:"watch_lists,omitempty"`
	// Permits say where and when the person may be. A person without
	// permits may be anywhere at any time; with permits, a sighting that
	// no permit covers breaks rule kind outside_permit.
	Permits []Permit `json:"permits,omitempty" yaml:"permits,omitempty"`
}

// Permit lets a person be in its zones, during its windows, or at any time
// when it has none. Windows use the syntax of ParseWindow. A zone may appear
// in several permits of one person only with windows that do not overlap.
type Permit struct {
	Zones   []string `json:"zones" yaml:"zones"`
	Windows []string `json:"windows,omitempty" yaml:"windows,omitempty"`
}

// Order is a keep-apart order between two persons.
type Order struct {
	ID      string   `json:"id" yaml:"id"`
	Persons []string `json:"persons" yaml:"persons"`
	Note    string   `json:"note,omitempty" yaml:"note,omitempty"`
}

// Kind is what a rule watches for.
type Kind string

// Rule kinds.
const (
	// KindWatchList: a person on a watch list was seen (on Rule.WatchList,
	// or on any list when that is empty).
	KindWatchList Kind = "watch_list"
	// KindOutsidePermit: a person with permits was seen in a zone, or at a
	// time, that none of them covers.
	KindOutsidePermit Kind = "outside_permit"
	// KindKeepApart: two persons under a keep-apart order were seen in the
	// same zone within Rule.Within of each other.
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

// Rule is one thing to alert on.
type Rule struct {
	ID       string   `json:"id" yaml:"id"`
	Kind     Kind     `json:"kind" yaml:"kind"`
	Scope    Scope    `json:"scope,omitzero" yaml:"scope,omitempty"`
	Severity Severity `json:"severity" yaml:"severity"`
	// Cooldown suppresses a repeat of an alert of this rule for the same
	// person or pair in the same zone that comes sooner than this after
	// it, by sighting time. Zero repeats every time.
	Cooldown Duration `json:"cooldown" yaml:"cooldown"`
	// WatchList is the list a watch_list rule is about; empty means any.
	WatchList string `json:"watch_list,omitempty" yaml:"watch_list,omitempty"`
	// Within is how close in time two keep_apart sightings must be.
	Within Duration `json:"within,omitzero" yaml:"within,omitempty"`
}

// Params are the settings of a rule that depend on its kind, under the keys
// they have in a Rule: watch_list (kind watch_list, optional) and within
// (kind keep_apart, required). The other kinds take none. They let a rule's
// kind-specific settings be kept apart from its id, scope and severity, as
// one JSON object that ParseParams reads.
type Params struct {
	WatchList string   `json:"watch_list,omitempty" yaml:"watch_list,omitempty"`
	Within    Duration `json:"within,omitzero" yaml:"within,omitempty"`
}

// ParseParams decodes the parameters of a rule of the given kind from one
// JSON object, as strictly as Parse decodes a snapshot, and checks them as
// Validate checks a rule's. Each problem is a *FieldError naming "kind",
// "params" (the JSON as a whole) or the key; they are joined with
// errors.Join. The result marshals to a canonical form that ParseParams
// reads back unchanged.
func ParseParams(kind Kind, raw json.RawMessage) (Params, error) {
	k := &checker{}
	if !k.kind("kind", kind) {
		return Params{}, errors.Join(k.errs...)
	}
	// A null, an array or nothing at all would decode as no parameters;
	// only an object says which parameters were meant.
	if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || trimmed[0] != '{' {
		return Params{}, &FieldError{Field: "params", Msg: "want a JSON object"}
	}
	var p Params
	if err := decodeStrict(raw, &p); err != nil {
		return Params{}, &FieldError{Field: "params", Msg: err.Error()}
	}
	k.params("", kind, p)
	if err := errors.Join(k.errs...); err != nil {
		return Params{}, err
	}
	return p, nil
}

// Scope limits a rule to one camera or one zone; empty is the whole
// facility.
type Scope struct {
	Camera string `json:"camera,omitempty" yaml:"camera,omitempty"`
	Zone   string `json:"zone,omitempty" yaml:"zone,omitempty"`
}

// Duration is a time.Duration written as text ("90s", "15m", "1h30m") in
// JSON and YAML.
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	x, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want e.g. \"90s\", \"15m\", \"1h30m\"", b)
	}
	*d = Duration(x)
	return nil
}

// MarshalText writes the duration the way UnmarshalText reads it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d Duration) String() string { return time.Duration(d).String() }

// FieldError is one problem with a Config, located by the path of its
// JSON keys ("rules[2].cooldown").
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "rules config: " + e.Field + ": " + e.Msg }

// Parse decodes a JSON rules snapshot strictly (an unknown key, a second
// document or a value of the wrong type is an error) and validates it.
func Parse(data []byte) (Config, error) {
	var c Config
	if err := decodeStrict(data, &c); err != nil {
		return Config{}, fmt.Errorf("rules config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// decodeStrict decodes one JSON value into v: an unknown key, a value of
// the wrong type or anything after the value is an error.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// Validate reports every problem in c, each as a *FieldError naming the
// field, joined with errors.Join.
func (c Config) Validate() error {
	_, err := compile(c)
	return err
}

// checker collects the problems found while compiling a Config.
type checker struct{ errs []error }

func (k *checker) bad(field, format string, args ...any) {
	k.errs = append(k.errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// id checks an identifier and, with seen, that it is unique in its list.
func (k *checker) id(field, id string, seen map[string]string) bool {
	switch {
	case id == "":
		k.bad(field, "missing")
		return false
	case strings.TrimSpace(id) != id:
		k.bad(field, "%q has leading or trailing spaces", id)
		return false
	}
	if seen == nil {
		return true
	}
	if first, dup := seen[id]; dup {
		k.bad(field, "%q is defined twice (first at %s)", id, first)
		return false
	}
	seen[id] = field
	return true
}

// kind checks a rule kind.
func (k *checker) kind(field string, kind Kind) bool {
	if !kind.Valid() {
		k.bad(field, "unknown kind %q, want one of %s", kind, join(kinds))
		return false
	}
	return true
}

// params checks the parameters that depend on a rule's kind, which must be
// a known one. prefix goes before each key: "rules[2]." in a snapshot,
// nothing for parameters given on their own.
func (k *checker) params(prefix string, kind Kind, p Params) {
	if p.WatchList != "" {
		if kind != KindWatchList {
			k.bad(prefix+"watch_list", "only rules of kind %s have a watch list", KindWatchList)
		} else {
			k.id(prefix+"watch_list", p.WatchList, nil)
		}
	}
	switch {
	case kind == KindKeepApart && p.Within <= 0:
		k.bad(prefix+"within", "missing or not positive; say how close in time the two sightings must be, e.g. \"60s\"")
	case kind != KindKeepApart && p.Within != 0:
		k.bad(prefix+"within", "only rules of kind %s have a time limit", KindKeepApart)
	}
}

func join[T ~string](all []T) string {
	s := make([]string, len(all))
	for i, v := range all {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
