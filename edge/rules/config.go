package rules

import (
	"fmt"

	"github.com/dozor-edge/dozor/edge/custody"
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
// when it has none. Windows use the syntax of custody.ParseWindow. A zone
// may appear in several permits of one person only with windows that do
// not overlap.
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

// Rule is one thing to alert on.
type Rule struct {
	ID       string           `json:"id" yaml:"id"`
	Kind     custody.Kind     `json:"kind" yaml:"kind"`
	Scope    Scope            `json:"scope,omitzero" yaml:"scope,omitempty"`
	Severity custody.Severity `json:"severity" yaml:"severity"`
	// Cooldown suppresses a repeat of an alert of this rule for the same
	// person or pair in the same zone that comes sooner than this after
	// it, by sighting time. Zero repeats every time.
	Cooldown custody.Duration `json:"cooldown" yaml:"cooldown"`
	// WatchList is the list a watch_list rule is about; empty means any.
	WatchList string `json:"watch_list,omitempty" yaml:"watch_list,omitempty"`
	// Within is how close in time two keep_apart sightings must be.
	Within custody.Duration `json:"within,omitzero" yaml:"within,omitempty"`
}

// Scope limits a rule to one camera or one zone; empty is the whole
// facility.
type Scope struct {
	Camera string `json:"camera,omitempty" yaml:"camera,omitempty"`
	Zone   string `json:"zone,omitempty" yaml:"zone,omitempty"`
}

// Parse decodes a JSON rules snapshot strictly (an unknown key, a second
// document or a value of the wrong type is an error) and validates it.
func Parse(data []byte) (Config, error) {
	var c Config
	if err := custody.DecodeStrict(data, &c); err != nil {
		return Config{}, fmt.Errorf("rules config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every problem in c, each as a *custody.FieldError
// naming the field, joined with errors.Join.
func (c Config) Validate() error {
	_, err := compile(c)
	return err
}

// checker collects the problems found while compiling a Config; custody's
// Checker judges the vocabulary, kinds, severities and parameters.
type checker struct{ custody.Checker }

// id checks an identifier and, with seen, that it is unique in its list.
func (k *checker) id(field, id string, seen map[string]string) bool {
	if !k.ID(field, id) {
		return false
	}
	if seen == nil {
		return true
	}
	if first, dup := seen[id]; dup {
		k.Bad(field, "%q is defined twice (first at %s)", id, first)
		return false
	}
	seen[id] = field
	return true
}
