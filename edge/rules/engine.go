package rules

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
)

// Sighting is a tracker's identity decision (or a track that ended
// unknown), as stored by the daemon.
type Sighting struct {
	// ID is the stored sighting's reference; alerts cite it.
	ID   string
	Time time.Time
	// Camera that saw the face, and the zone it looks at; an empty Zone is
	// taken from the camera's entry in the rules.
	Camera string
	Zone   string
	Track  uint64
	// PersonID is empty for an unknown face.
	PersonID string
	// Score and Margin of the decision; Margin may be +Inf when the gallery
	// offered no runner-up.
	Score, Margin float32
	CropRef       string
}

// State is where an alert stands.
type State string

// States of an alert. An alert is open until a person decides it.
const (
	Open      State = "open"
	Confirmed State = "confirmed"
	Rejected  State = "rejected"
)

// Evidence is one sighting behind an alert.
type Evidence struct {
	Sighting      string
	Time          time.Time
	Camera, Zone  string
	Track         uint64
	PersonID      string
	Score, Margin float32
	CropRef       string
}

// Decision is a person's verdict on an alert.
type Decision struct {
	State State // Confirmed or Rejected
	By    string
	Note  string
	At    time.Time
}

// Alert asks a guard to look at something.
type Alert struct {
	ID       string // a random (version 4) UUID
	Rule     string
	Kind     custody.Kind
	Severity custody.Severity
	// Time, Camera and Zone of the sighting that raised the alert.
	Time   time.Time
	Camera string
	Zone   string
	// Persons involved, none for an unknown face, two for keep_apart.
	Persons []string
	// Sightings cited, oldest first, with their evidence in Evidence.
	Sightings []string
	Evidence  []Evidence
	// Reason explains the alert to a guard.
	Reason   string
	State    State
	Decision *Decision // set once decided
}

func (a *Alert) clone() Alert {
	c := *a
	c.Persons = slices.Clone(a.Persons)
	c.Sightings = slices.Clone(a.Sightings)
	c.Evidence = slices.Clone(a.Evidence)
	if a.Decision != nil {
		d := *a.Decision
		c.Decision = &d
	}
	return c
}

// Errors of Decide and Restore; the returned errors wrap them.
var (
	ErrUnknownAlert   = errors.New("no such alert")
	ErrAlreadyDecided = errors.New("alert already decided")
)

// Options tune an Engine. The zero value is ready to use.
type Options struct {
	// Rand is where alert ids come from; crypto/rand when nil.
	Rand io.Reader
	// DecidedMemory is how many decided alerts the engine remembers, so
	// that deciding one again is told apart from deciding an unknown id.
	// Default 10,000; older ones are the store's business.
	DecidedMemory int
}

// Stats counts what an Engine has done, for aggregated logging.
type Stats struct {
	Sightings  uint64
	Alerts     uint64
	Suppressed uint64 // alerts held back by a cooldown
	// NoZone counts sightings whose zone neither they nor the rules name:
	// zone rules cannot judge them.
	NoZone uint64
	Open   int
}

// Engine applies a rules snapshot to sightings and keeps the alerts until
// people decide them. One goroutine owns it; it has no locks and reads no
// clock: cooldowns and keep-apart intervals use sighting times.
type Engine struct {
	rules *Rules
	rand  io.Reader
	limit int

	open     map[string]*Alert
	decided  map[string]Decision
	order    []string // decided ids, oldest first
	cooldown map[coolKey]time.Time
	pruneAt  int
	// recent holds, per zone and person, the latest sighting of each
	// person under a keep-apart order.
	recent map[string]map[string]Sighting
	latest time.Time // the latest sighting time seen
	stats  Stats
}

// coolKey identifies repeats of an alert: the rule, the person or pair,
// and the zone.
type coolKey struct{ rule, persons, zone string }

// New returns an engine applying r.
func New(r *Rules, opt Options) *Engine {
	if opt.Rand == nil {
		opt.Rand = rand.Reader
	}
	if opt.DecidedMemory <= 0 {
		opt.DecidedMemory = 10_000
	}
	return &Engine{
		rules:    r,
		rand:     opt.Rand,
		limit:    opt.DecidedMemory,
		open:     map[string]*Alert{},
		decided:  map[string]Decision{},
		cooldown: map[coolKey]time.Time{},
		pruneAt:  4096,
		recent:   map[string]map[string]Sighting{},
	}
}

// SetRules replaces the snapshot. Open alerts stay open, and cooldowns
// carry over for rules that keep their ids.
func (e *Engine) SetRules(r *Rules) { e.rules = r }

// Stats returns the counts so far.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.Open = len(e.open)
	return s
}

// Process applies the rules to s and returns the alerts it raises, in rule
// order. An invalid sighting is an error and changes nothing.
func (e *Engine) Process(s Sighting) ([]Alert, error) {
	if err := checkSighting(s); err != nil {
		return nil, err
	}
	if s.Zone == "" {
		s.Zone = e.rules.cameraZone[s.Camera]
	}
	// Collect first and commit only when every alert has its id, so that a
	// failing random source leaves no half-raised alerts behind.
	type raised struct {
		key coolKey
		a   *Alert
	}
	var todo []raised
	suppressed := 0
	r := e.rules
	for i := range r.rules {
		ru := &r.rules[i]
		if !ru.Scope.in(s.Camera, s.Zone) {
			continue
		}
		var as []*Alert
		switch ru.Kind {
		case custody.KindWatchList:
			as = e.watchList(ru, s)
		case custody.KindOutsidePermit:
			as = e.outsidePermit(ru, s)
		case custody.KindKeepApart:
			as = e.keepApart(ru, s)
		case custody.KindUnknownInStaffZone:
			as = e.unknownInStaffZone(s)
		}
		for _, a := range as {
			k := coolKey{ru.ID, strings.Join(a.Persons, "|"), a.Zone}
			if e.cooling(k, a.Time, time.Duration(ru.Cooldown)) {
				suppressed++
				continue
			}
			a.Rule, a.Kind, a.Severity, a.State = ru.ID, ru.Kind, ru.Severity, Open
			todo = append(todo, raised{k, a})
		}
	}
	for _, x := range todo {
		id, err := newUUID(e.rand)
		if err != nil {
			return nil, fmt.Errorf("rules: sighting %q: alert id: %w", s.ID, err)
		}
		x.a.ID = id
	}
	e.stats.Sightings++
	e.stats.Suppressed += uint64(suppressed)
	if s.Zone == "" {
		e.stats.NoZone++
	}
	if s.Time.After(e.latest) {
		e.latest = s.Time
	}
	out := make([]Alert, 0, len(todo))
	for _, x := range todo {
		e.startCooldown(x.key, x.a.Time)
		e.open[x.a.ID] = x.a
		e.stats.Alerts++
		out = append(out, x.a.clone())
	}
	e.remember(s)
	return out, nil
}

func checkSighting(s Sighting) error {
	var missing []string
	if s.ID == "" {
		missing = append(missing, "ID")
	}
	if s.Camera == "" {
		missing = append(missing, "Camera")
	}
	if s.Time.IsZero() {
		missing = append(missing, "Time")
	}
	if missing != nil {
		return fmt.Errorf("rules: sighting %q: missing %s", s.ID, strings.Join(missing, ", "))
	}
	if math.IsNaN(float64(s.Score)) || math.IsNaN(float64(s.Margin)) {
		return fmt.Errorf("rules: sighting %q: score or margin is NaN", s.ID)
	}
	return nil
}

// alert starts an alert raised by sightings, the last of them the current.
func alert(reason string, persons []string, sightings ...Sighting) *Alert {
	cur := sightings[len(sightings)-1]
	slices.SortStableFunc(sightings, func(a, b Sighting) int { return a.Time.Compare(b.Time) })
	a := &Alert{Time: cur.Time, Camera: cur.Camera, Zone: cur.Zone, Persons: persons, Reason: reason}
	for _, s := range sightings {
		a.Sightings = append(a.Sightings, s.ID)
		a.Evidence = append(a.Evidence, Evidence{
			Sighting: s.ID, Time: s.Time, Camera: s.Camera, Zone: s.Zone, Track: s.Track,
			PersonID: s.PersonID, Score: s.Score, Margin: s.Margin, CropRef: s.CropRef,
		})
	}
	return a
}

func (e *Engine) watchList(ru *Rule, s Sighting) []*Alert {
	p := e.rules.persons[s.PersonID]
	if s.PersonID == "" || p == nil {
		return nil
	}
	var lists []string
	for _, l := range p.lists {
		if ru.WatchList == "" || l == ru.WatchList {
			lists = append(lists, fmt.Sprintf("%q", l))
		}
	}
	if lists == nil {
		return nil
	}
	reason := fmt.Sprintf("%s is on watch list %s", s.PersonID, strings.Join(lists, ", "))
	return []*Alert{alert(reason, []string{s.PersonID}, s)}
}

func (e *Engine) outsidePermit(ru *Rule, s Sighting) []*Alert {
	p := e.rules.persons[s.PersonID]
	if s.PersonID == "" || p == nil || len(p.permits) == 0 || s.Zone == "" {
		return nil
	}
	ok, why := p.permitted(s.Zone, s.Time, e.rules.loc)
	if ok {
		return nil
	}
	return []*Alert{alert(s.PersonID+" is "+why, []string{s.PersonID}, s)}
}

func (e *Engine) keepApart(ru *Rule, s Sighting) []*Alert {
	if s.PersonID == "" || s.Zone == "" {
		return nil
	}
	var out []*Alert
	for _, pt := range e.rules.partners[s.PersonID] {
		o, ok := e.recent[s.Zone][pt.person]
		if !ok || !ru.Scope.in(o.Camera, o.Zone) {
			continue
		}
		gap := s.Time.Sub(o.Time).Abs()
		if gap > time.Duration(ru.Within) {
			continue
		}
		persons := []string{s.PersonID, pt.person}
		slices.Sort(persons)
		reason := fmt.Sprintf("%s and %s, kept apart by order %s, were seen in zone %q %s apart",
			persons[0], persons[1], pt.order, s.Zone, gap.Round(time.Second))
		out = append(out, alert(reason, persons, o, s))
	}
	return out
}

func (e *Engine) unknownInStaffZone(s Sighting) []*Alert {
	if s.PersonID != "" || !e.rules.zones[s.Zone].StaffOnly {
		return nil
	}
	return []*Alert{alert(fmt.Sprintf("unknown face in staff-only zone %q", s.Zone), nil, s)}
}

// cooling reports whether an alert with key k at t repeats one raised
// less than d before or after it. Sightings may arrive out of order, so
// both sides count.
func (e *Engine) cooling(k coolKey, t time.Time, d time.Duration) bool {
	last, ok := e.cooldown[k]
	return ok && t.Sub(last).Abs() < d
}

// startCooldown records an alert with key k at t.
func (e *Engine) startCooldown(k coolKey, t time.Time) {
	if last, ok := e.cooldown[k]; ok && !t.After(last) {
		return
	}
	e.cooldown[k] = t
	if len(e.cooldown) >= e.pruneAt {
		e.pruneCooldowns()
		e.pruneAt = max(4096, 2*len(e.cooldown))
	}
}

// pruneCooldowns forgets cooldowns that have run out, or whose rule is
// gone.
func (e *Engine) pruneCooldowns() {
	cool := map[string]time.Duration{}
	for _, ru := range e.rules.rules {
		cool[ru.ID] = time.Duration(ru.Cooldown)
	}
	for k, last := range e.cooldown {
		if d, ok := cool[k.rule]; !ok || e.latest.Sub(last) > d {
			delete(e.cooldown, k)
		}
	}
}

// remember keeps s for keep-apart rules if its person is under an order,
// and forgets sightings too old for any of them.
func (e *Engine) remember(s Sighting) {
	if s.PersonID == "" || s.Zone == "" || len(e.rules.partners[s.PersonID]) == 0 {
		return
	}
	z := e.recent[s.Zone]
	if z == nil {
		z = map[string]Sighting{}
		e.recent[s.Zone] = z
	}
	if o, ok := z[s.PersonID]; !ok || !o.Time.After(s.Time) {
		z[s.PersonID] = s
	}
	for p, o := range z {
		if e.latest.Sub(o.Time) > e.rules.maxWithin {
			delete(z, p)
		}
	}
}

// Open returns the open alerts, oldest first.
func (e *Engine) Open() []Alert {
	out := make([]Alert, 0, len(e.open))
	for _, a := range e.open {
		out = append(out, a.clone())
	}
	slices.SortFunc(out, func(a, b Alert) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// Decide records a person's verdict (Confirmed or Rejected) on an open
// alert and returns the decided alert. An unknown id wraps
// ErrUnknownAlert, a decided one ErrAlreadyDecided.
func (e *Engine) Decide(alertID string, verdict State, by, note string, at time.Time) (Alert, error) {
	if verdict != Confirmed && verdict != Rejected {
		return Alert{}, fmt.Errorf("rules: decision on alert %s: verdict %q, want %q or %q", alertID, verdict, Confirmed, Rejected)
	}
	if strings.TrimSpace(by) == "" {
		return Alert{}, fmt.Errorf("rules: decision on alert %s: who decided is missing", alertID)
	}
	if at.IsZero() {
		return Alert{}, fmt.Errorf("rules: decision on alert %s: time is missing", alertID)
	}
	if d, ok := e.decided[alertID]; ok {
		return Alert{}, fmt.Errorf("rules: alert %s: %w: %s by %s at %s", alertID, ErrAlreadyDecided, d.State, d.By, d.At.Format(time.RFC3339))
	}
	a, ok := e.open[alertID]
	if !ok {
		return Alert{}, fmt.Errorf("rules: alert %q: %w", alertID, ErrUnknownAlert)
	}
	d := Decision{State: verdict, By: by, Note: note, At: at}
	a.State, a.Decision = verdict, &d
	delete(e.open, alertID)
	e.markDecided(alertID, d)
	return a.clone(), nil
}

func (e *Engine) markDecided(id string, d Decision) {
	e.decided[id] = d
	e.order = append(e.order, id)
	if len(e.order) > e.limit {
		delete(e.decided, e.order[0])
		e.order[0] = ""
		e.order = e.order[1:]
	}
}

// Restore loads alerts from the store after a restart, before the first
// Process: open ones are open again, decided ones are remembered as
// decided, and all of them restart their cooldowns, so a restart does not
// repeat alerts.
func (e *Engine) Restore(alerts []Alert) error {
	for i := range alerts {
		a := alerts[i].clone()
		if a.ID == "" || a.Rule == "" || a.Time.IsZero() {
			return fmt.Errorf("rules: restore alert %d: missing id, rule or time", i)
		}
		if _, dup := e.open[a.ID]; dup {
			return fmt.Errorf("rules: restore alert %s: defined twice", a.ID)
		}
		if _, dup := e.decided[a.ID]; dup {
			return fmt.Errorf("rules: restore alert %s: defined twice", a.ID)
		}
		switch {
		case a.State == Open && a.Decision == nil:
			e.open[a.ID] = &a
		case (a.State == Confirmed || a.State == Rejected) && a.Decision != nil && a.Decision.State == a.State:
			e.markDecided(a.ID, *a.Decision)
		default:
			return fmt.Errorf("rules: restore alert %s: state %q does not agree with its decision", a.ID, a.State)
		}
		e.startCooldown(coolKey{a.Rule, strings.Join(a.Persons, "|"), a.Zone}, a.Time)
		if a.Time.After(e.latest) {
			e.latest = a.Time
		}
	}
	return nil
}

// newUUID returns a random UUID (version 4, RFC 9562) read from r.
func newUUID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // variant 10
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[x>>4], hex[x&0x0f])
	}
	return string(out), nil
}
