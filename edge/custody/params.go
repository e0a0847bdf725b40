package custody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Params are the settings of a rule that depend on its kind, under the keys
// they have in a rule: watch_list (kind watch_list, optional) and within
// (kind keep_apart, required). The other kinds take none. They let a rule's
// kind-specific settings be kept apart from its id, scope and severity, as
// one JSON object that ParseParams reads.
type Params struct {
	WatchList string   `json:"watch_list,omitempty" yaml:"watch_list,omitempty"`
	Within    Duration `json:"within,omitzero" yaml:"within,omitempty"`
}

// ParseParams decodes the parameters of a rule of the given kind from one
// JSON object, as strictly as DecodeStrict reads any custody setting, and
// checks them as Checker.Params checks a rule's in a whole snapshot. Each
// problem is a *FieldError naming "kind", "params" (the JSON as a whole) or
// the key; they are joined with errors.Join. The result marshals to a
// canonical form that ParseParams reads back unchanged.
func ParseParams(kind Kind, raw json.RawMessage) (Params, error) {
	k := &Checker{}
	if !k.Kind("kind", kind) {
		return Params{}, k.Err()
	}
	// A null, an array or nothing at all would decode as no parameters;
	// only an object says which parameters were meant.
	if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || trimmed[0] != '{' {
		return Params{}, &FieldError{Field: "params", Msg: "want a JSON object"}
	}
	var p Params
	if err := DecodeStrict(raw, &p); err != nil {
		return Params{}, &FieldError{Field: "params", Msg: err.Error()}
	}
	k.Params("", kind, p)
	if err := k.Err(); err != nil {
		return Params{}, err
	}
	return p, nil
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

// FieldError is one problem with the rules configuration, a whole snapshot
// or one rule's parameters, located by the path of its JSON keys
// ("rules[2].cooldown", "within").
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "rules config: " + e.Field + ": " + e.Msg }

// DecodeStrict decodes one JSON value into v: an unknown key, a value of
// the wrong type or anything after the value is an error. Rule parameters
// and whole rules snapshots are read with it, equally strictly.
func DecodeStrict(data []byte, v any) error {
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

// Checker collects the problems found in rules settings, each a
// *FieldError. The rules engine's snapshot validation builds on it, so a
// kind, a severity or a rule's parameters are judged alike in a snapshot
// and on their own.
type Checker struct{ errs []error }

// Bad records a problem with field.
func (k *Checker) Bad(field, format string, args ...any) {
	k.errs = append(k.errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Err returns every problem recorded, joined with errors.Join, or nil.
func (k *Checker) Err() error { return errors.Join(k.errs...) }

// ID checks an identifier: present, without leading or trailing spaces.
func (k *Checker) ID(field, id string) bool {
	switch {
	case id == "":
		k.Bad(field, "missing")
		return false
	case strings.TrimSpace(id) != id:
		k.Bad(field, "%q has leading or trailing spaces", id)
		return false
	}
	return true
}

// Kind checks a rule kind.
func (k *Checker) Kind(field string, kind Kind) bool {
	if !kind.Valid() {
		k.Bad(field, "unknown kind %q, want one of %s", kind, join(kinds))
		return false
	}
	return true
}

// Severity checks a severity.
func (k *Checker) Severity(field string, s Severity) {
	if !s.Valid() {
		k.Bad(field, "unknown severity %q, want one of %s", s, join(severities))
	}
}

// Params checks the parameters that depend on a rule's kind, which must be
// a known one. prefix goes before each key: "rules[2]." in a snapshot,
// nothing for parameters given on their own.
func (k *Checker) Params(prefix string, kind Kind, p Params) {
	if p.WatchList != "" {
		if kind != KindWatchList {
			k.Bad(prefix+"watch_list", "only rules of kind %s have a watch list", KindWatchList)
		} else {
			k.ID(prefix+"watch_list", p.WatchList)
		}
	}
	switch {
	case kind == KindKeepApart && p.Within <= 0:
		k.Bad(prefix+"within", "missing or not positive; say how close in time the two sightings must be, e.g. \"60s\"")
	case kind != KindKeepApart && p.Within != 0:
		k.Bad(prefix+"within", "only rules of kind %s have a time limit", KindKeepApart)
	}
}

func join[T ~string](all []T) string {
	s := make([]string, len(all))
	for i, v := range all {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
