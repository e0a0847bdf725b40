package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
)

// Rules is a validated, compiled snapshot of a Config. It is immutable and
// may be shared; a new snapshot replaces it through Engine.SetRules.
type Rules struct {
	facility   string
	loc        *time.Location
	zones      map[string]Zone
	cameraZone map[string]string
	persons    map[string]*person
	partners   map[string][]partner
	rules      []Rule
	maxWithin  time.Duration
}

type person struct {
	lists   []string
	permits []permit
}

type permit struct {
	zones   []string
	windows []custody.Window
}

// partner is the other person of a keep-apart order.
type partner struct{ person, order string }

// Compile validates c and builds the snapshot the engine evaluates.
func Compile(c Config) (*Rules, error) { return compile(c) }

// Facility returns the facility the snapshot is for.
func (r *Rules) Facility() string { return r.facility }

// Location returns the facility's time zone.
func (r *Rules) Location() *time.Location { return r.loc }

func compile(c Config) (*Rules, error) {
	k := &checker{}
	r := &Rules{
		facility:   c.Facility,
		loc:        time.UTC,
		zones:      map[string]Zone{},
		cameraZone: map[string]string{},
		persons:    map[string]*person{},
		partners:   map[string][]partner{},
	}
	k.id("facility", c.Facility, nil)
	switch c.TimeZone {
	case "":
		k.Bad("time_zone", "missing; name the facility's IANA time zone, e.g. Europe/Moscow")
	case "Local":
		k.Bad("time_zone", `"Local" depends on the machine; name the facility's IANA time zone`)
	default:
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			k.Bad("time_zone", "unknown time zone %q", c.TimeZone)
		} else {
			r.loc = loc
		}
	}

	seen := map[string]string{}
	for i, z := range c.Zones {
		if k.id(fmt.Sprintf("zones[%d].id", i), z.ID, seen) {
			r.zones[z.ID] = z
		}
	}
	seen = map[string]string{}
	for i, cam := range c.Cameras {
		ok := k.id(fmt.Sprintf("cameras[%d].id", i), cam.ID, seen)
		if k.zone(fmt.Sprintf("cameras[%d].zone", i), cam.Zone, r.zones) && ok {
			r.cameraZone[cam.ID] = cam.Zone
		}
	}

	seen = map[string]string{}
	for i, p := range c.Persons {
		at := fmt.Sprintf("persons[%d]", i)
		if !k.id(at+".id", p.ID, seen) {
			continue
		}
		r.persons[p.ID] = k.person(at, p, r.zones)
	}

	seen = map[string]string{}
	pairs := map[[2]string]string{}
	for i, o := range c.KeepApart {
		at := fmt.Sprintf("keep_apart[%d]", i)
		k.id(at+".id", o.ID, seen)
		if len(o.Persons) != 2 {
			k.Bad(at+".persons", "has %d persons, want 2", len(o.Persons))
			continue
		}
		ok := true
		for j, p := range o.Persons {
			if _, known := r.persons[p]; !known {
				k.Bad(fmt.Sprintf("%s.persons[%d]", at, j), "unknown person %q; list it under persons", p)
				ok = false
			}
		}
		a, b := o.Persons[0], o.Persons[1]
		if a == b {
			k.Bad(at+".persons", "names %q twice", a)
			continue
		}
		key := [2]string{min(a, b), max(a, b)}
		if first, dup := pairs[key]; dup {
			k.Bad(at+".persons", "%q and %q are already kept apart by %s", a, b, first)
			continue
		}
		pairs[key] = at
		if ok {
			r.partners[a] = append(r.partners[a], partner{b, o.ID})
			r.partners[b] = append(r.partners[b], partner{a, o.ID})
		}
	}

	seen = map[string]string{}
	dups := map[string]string{}
	for i, ru := range c.Rules {
		at := fmt.Sprintf("rules[%d]", i)
		k.id(at+".id", ru.ID, seen)
		knownKind := k.Kind(at+".kind", ru.Kind)
		k.Severity(at+".severity", ru.Severity)
		if ru.Cooldown < 0 {
			k.Bad(at+".cooldown", "negative duration %v", ru.Cooldown)
		}
		k.scope(at+".scope", ru, r)
		// Parameters of another kind are only reported for a known kind:
		// with a misspelt kind they are most likely right.
		if knownKind {
			k.Params(at+".", ru.Kind, custody.Params{WatchList: ru.WatchList, Within: ru.Within})
		}
		key := fmt.Sprintf("%s|%s|%s|%s|%d", ru.Kind, ru.Scope.Camera, ru.Scope.Zone, ru.WatchList, ru.Within)
		if first, dup := dups[key]; dup {
			k.Bad(at, "same kind, scope and parameters as %s; one of them is redundant", first)
		} else {
			dups[key] = at
		}
		if ru.Kind == custody.KindKeepApart {
			r.maxWithin = max(r.maxWithin, time.Duration(ru.Within))
		}
		r.rules = append(r.rules, ru)
	}
	if err := k.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// zone checks a reference to a zone.
func (k *checker) zone(field, id string, zones map[string]Zone) bool {
	if id == "" {
		k.Bad(field, "missing")
		return false
	}
	if _, ok := zones[id]; !ok {
		k.Bad(field, "unknown zone %q", id)
		return false
	}
	return true
}

func (k *checker) person(at string, p Person, zones map[string]Zone) *person {
	out := &person{}
	lists := map[string]bool{}
	for i, l := range p.WatchLists {
		f := fmt.Sprintf("%s.watch_lists[%d]", at, i)
		if k.id(f, l, nil) {
			if lists[l] {
				k.Bad(f, "%q listed twice", l)
			}
			lists[l] = true
			out.lists = append(out.lists, l)
		}
	}
	// Who permits each zone, to find overlapping definitions.
	type grant struct {
		field  string
		window *custody.Window // nil: at any time
	}
	grants := map[string][]grant{}
	for j, pm := range p.Permits {
		pat := fmt.Sprintf("%s.permits[%d]", at, j)
		var cp permit
		for w, s := range pm.Windows {
			win, err := custody.ParseWindow(s)
			if err != nil {
				k.Bad(fmt.Sprintf("%s.windows[%d]", pat, w), "%v", err)
				continue
			}
			cp.windows = append(cp.windows, win)
		}
		if len(pm.Zones) == 0 {
			k.Bad(pat+".zones", "empty; a permit names at least one zone")
		}
		for zi, z := range pm.Zones {
			f := fmt.Sprintf("%s.zones[%d]", pat, zi)
			if !k.zone(f, z, zones) {
				continue
			}
			if slices.Contains(cp.zones, z) {
				k.Bad(f, "zone %q listed twice", z)
				continue
			}
			cp.zones = append(cp.zones, z)
			var mine []grant
			if len(pm.Windows) == 0 {
				mine = []grant{{field: pat}}
			}
			for wi := range cp.windows {
				mine = append(mine, grant{fmt.Sprintf("%s.windows[%d]", pat, wi), &cp.windows[wi]})
			}
			for _, g := range mine {
				for _, h := range grants[z] {
					if g.window == nil || h.window == nil || g.window.Overlaps(*h.window) {
						k.Bad(g.field, "overlaps %s for zone %q", h.field, z)
					}
				}
			}
			grants[z] = append(grants[z], mine...)
		}
		// Windows within one permit must not overlap each other either.
		for a := range cp.windows {
			for b := range a {
				if cp.windows[a].Overlaps(cp.windows[b]) {
					k.Bad(fmt.Sprintf("%s.windows[%d]", pat, a), "%q overlaps %s.windows[%d] (%q)", cp.windows[a], pat, b, cp.windows[b])
				}
			}
		}
		out.permits = append(out.permits, cp)
	}
	return out
}

func (k *checker) scope(at string, ru Rule, r *Rules) {
	s := ru.Scope
	if s.Camera != "" && s.Zone != "" {
		k.Bad(at, "names both camera %q and zone %q; a rule is scoped to one camera, one zone or (neither) the facility", s.Camera, s.Zone)
		return
	}
	zone := s.Zone
	switch {
	case s.Camera != "":
		z, ok := r.cameraZone[s.Camera]
		if !ok {
			k.Bad(at+".camera", "unknown camera %q", s.Camera)
			return
		}
		zone = z
	case s.Zone != "":
		if !k.zone(at+".zone", s.Zone, r.zones) {
			return
		}
	}
	if ru.Kind != custody.KindUnknownInStaffZone {
		return
	}
	// A rule that can never fire is a mistake in the snapshot.
	if zone != "" {
		if !r.zones[zone].StaffOnly {
			k.Bad(at, "zone %q is not staff-only, so a %s rule here could never fire", zone, ru.Kind)
		}
		return
	}
	for _, z := range r.zones {
		if z.StaffOnly {
			return
		}
	}
	k.Bad(at, "no zone is staff_only, so a %s rule could never fire", ru.Kind)
}

// in reports whether a sighting on camera in zone falls in scope s.
func (s Scope) in(camera, zone string) bool {
	switch {
	case s.Camera != "":
		return camera == s.Camera
	case s.Zone != "":
		return zone == s.Zone
	}
	return true
}

// permitted says whether the person may be in zone at t, and if not, why.
func (p *person) permitted(zone string, t time.Time, loc *time.Location) (ok bool, why string) {
	var hours []string
	for _, pm := range p.permits {
		if !slices.Contains(pm.zones, zone) {
			continue
		}
		if len(pm.windows) == 0 {
			return true, ""
		}
		for _, w := range pm.windows {
			if w.Contains(t, loc) {
				return true, ""
			}
			hours = append(hours, w.String())
		}
	}
	local := t.In(loc).Format("Mon 15:04 MST")
	if hours == nil {
		return false, fmt.Sprintf("not permitted in zone %q (seen %s)", zone, local)
	}
	return false, fmt.Sprintf("permitted in zone %q only %s; seen %s", zone, strings.Join(hours, ", "), local)
}
