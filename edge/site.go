package edge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/custody"
	"github.com/dozor-edge/dozor/edge/rules"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// unzoned is the zone given to a configured camera that names none: the
// store needs every camera in a zone, and rules scoped to zones then simply
// do not apply to it.
const unzoned = "unzoned"

// ensureCameras makes the store know every configured camera, in the zone
// the configuration gives it: a sighting can only be stored for a camera
// the store knows. Rows that already match are left alone, so a restart
// writes nothing.
func ensureCameras(ctx context.Context, st Store, cams []config.Camera) error {
	have, err := st.Cameras(ctx)
	if err != nil {
		return err
	}
	zones, err := st.Zones(ctx)
	if err != nil {
		return err
	}
	known := map[string]store.Camera{}
	for _, c := range have {
		known[c.ID] = c
	}
	zoneKnown := map[string]bool{}
	for _, z := range zones {
		zoneKnown[z.ID] = true
	}
	for _, c := range cams {
		zone := c.Zone
		old, exists := known[c.ID]
		switch {
		case zone == "" && exists:
			continue // the store's zone stands when the file names none
		case zone == "":
			zone = unzoned
		case exists && old.ZoneID == zone:
			continue
		}
		if !zoneKnown[zone] {
			if err := st.PutZone(ctx, store.SystemActor, store.Zone{ID: zone, Name: zone, Kind: store.ZoneGeneral}); err != nil {
				return fmt.Errorf("zone %s of camera %s: %w", zone, c.ID, err)
			}
			zoneKnown[zone] = true
		}
		name := c.ID
		if exists && old.Name != "" {
			name = old.Name
		}
		if err := st.PutCamera(ctx, store.SystemActor, store.Camera{ID: c.ID, Name: name, ZoneID: zone}); err != nil {
			return fmt.Errorf("camera %s: %w", c.ID, err)
		}
	}
	return nil
}

// galleryInfo describes the snapshot in use, for /healthz.
type galleryInfo struct {
	Templates int       `json:"templates"`
	Persons   int       `json:"persons"`
	Model     string    `json:"model"`
	LoadedAt  time.Time `json:"loaded_at"`
	// Error is the last reload failure; the previous snapshot stays in use.
	Error string `json:"error,omitempty"`
}

// loadGallery reads every template of model from the store (a biometric
// read, audited as the system) and builds an immutable snapshot.
func loadGallery(ctx context.Context, st Store, model recognizer.ModelID, dim int) (*gallery.Snapshot, error) {
	ts, err := st.Templates(ctx, model, store.SystemActor)
	if err != nil {
		return nil, fmt.Errorf("gallery: %w", err)
	}
	gts := make([]gallery.Template, len(ts))
	for i, t := range ts {
		gts[i] = gallery.Template{PersonID: t.PersonID, TemplateID: t.ID, Vec: t.Vec}
	}
	snap, err := gallery.New(model, dim, gts, gallery.Options{})
	if err != nil {
		return nil, fmt.Errorf("gallery: %w", err)
	}
	return snap, nil
}

// siteRules is a compiled rules snapshot and what the daemon needs beside
// it to put its alerts on the wire.
type siteRules struct {
	rules *rules.Rules
	// permitted lists, per person with permits, the zones some permit
	// covers: an outside_permit alert in one of them is about the time
	// (wire kind "schedule"), elsewhere about the place ("zone").
	permitted map[string]map[string]bool
	count     int
}

// loadRules builds the facility's rules snapshot from the store: zones,
// cameras, the persons with watch lists or permits, keep-apart orders and
// the enabled rules.
func loadRules(ctx context.Context, st Store, site config.Site) (*siteRules, error) {
	zones, err := st.Zones(ctx)
	if err != nil {
		return nil, err
	}
	cams, err := st.Cameras(ctx)
	if err != nil {
		return nil, err
	}
	persons, err := st.Persons(ctx)
	if err != nil {
		return nil, err
	}
	permits, err := st.Permits(ctx, "")
	if err != nil {
		return nil, err
	}
	aparts, err := st.KeepAparts(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := st.Rules(ctx)
	if err != nil {
		return nil, err
	}

	c := rules.Config{Facility: site.ID, TimeZone: site.TimeZone}
	for _, z := range zones {
		c.Zones = append(c.Zones, rules.Zone{ID: z.ID, Name: z.Name, StaffOnly: z.Kind == store.ZoneStaffOnly})
	}
	for _, cam := range cams {
		c.Cameras = append(c.Cameras, rules.Camera{ID: cam.ID, Zone: cam.ZoneID})
	}
	sr := &siteRules{permitted: map[string]map[string]bool{}}
	byPerson := map[string]*rules.Person{}
	var order []string
	person := func(id string) *rules.Person {
		p, ok := byPerson[id]
		if !ok {
			p = &rules.Person{ID: id}
			byPerson[id] = p
			order = append(order, id)
		}
		return p
	}
	for _, p := range persons {
		if len(p.WatchLists) > 0 {
			person(p.ID).WatchLists = p.WatchLists
		}
	}
	for _, pm := range permits {
		p := person(pm.PersonID)
		p.Permits = append(p.Permits, rules.Permit{Zones: []string{pm.ZoneID}, Windows: []string{pm.Window}})
		if sr.permitted[pm.PersonID] == nil {
			sr.permitted[pm.PersonID] = map[string]bool{}
		}
		sr.permitted[pm.PersonID][pm.ZoneID] = true
	}
	for _, k := range aparts {
		person(k.A)
		person(k.B)
		c.KeepApart = append(c.KeepApart, rules.Order{ID: k.A + "~" + k.B, Persons: []string{k.A, k.B}, Note: k.Reason})
	}
	for _, id := range order {
		c.Persons = append(c.Persons, *byPerson[id])
	}
	for _, r := range stored {
		if !r.Enabled {
			continue
		}
		p, err := custody.ParseParams(r.Kind, r.Params)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.ID, err)
		}
		c.Rules = append(c.Rules, rules.Rule{ID: r.ID, Kind: r.Kind, Severity: r.Severity,
			Cooldown: custody.Duration(r.Cooldown), WatchList: p.WatchList, Within: p.Within})
	}
	compiled, err := rules.Compile(c)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	sr.rules, sr.count = compiled, len(c.Rules)
	return sr, nil
}

// emptyRules is the snapshot used when the stored one does not compile:
// recognition and sightings go on, and no rule fires until it is fixed.
func emptyRules(site config.Site) *siteRules {
	r, err := rules.Compile(rules.Config{Facility: site.ID, TimeZone: site.TimeZone})
	if err != nil {
		// The site id and time zone passed config validation; an error
		// here is a contradiction between the two validators.
		panic(fmt.Sprintf("edge: empty rules snapshot: %v", err))
	}
	return &siteRules{rules: r, permitted: map[string]map[string]bool{}}
}

// Audit actions after which the gallery or the rules must be rebuilt.
var (
	galleryActions = map[string]bool{"template.enrol": true, "biometric.delete": true, "person.remove": true}
	rulesActions   = map[string]bool{"person.put": true, "permit.add": true, "permit.remove": true,
		"keep_apart.put": true, "keep_apart.remove": true, "zone.put": true, "camera.put": true, "rule.put": true,
		"rule.delete": true, "person.remove": true, "camera.region": true}
)

// revision follows the store's audit log, which records every change to
// templates and to the site in the transaction that makes it: the log is
// the store's revision counter. Reading it is not a biometric read.
type revision struct {
	after  uint64
	marker string // object of the daemon's own gallery loads
}

// scan reads the entries written since the last scan and says whether the
// gallery and the rules changed since they were loaded. A gallery load by
// the daemon itself (template.read of its model, as the system) covers
// every change before it.
func (r *revision) scan(ctx context.Context, st Store) (galleryChanged, rulesChanged bool, err error) {
	for range 1000 { // bounded: 10 million entries per scan at most
		es, err := st.AuditEntries(ctx, r.after, 10000)
		if err != nil {
			return galleryChanged, rulesChanged, err
		}
		for _, e := range es {
			// A removed person changes both.
			galleryChanged = galleryChanged || galleryActions[e.Action]
			rulesChanged = rulesChanged || rulesActions[e.Action]
			if e.Action == "template.read" && e.Actor == store.SystemActor && e.Object == r.marker {
				galleryChanged = false
			}
			r.after = e.Seq
		}
		if len(es) < 10000 {
			return galleryChanged, rulesChanged, nil
		}
	}
	return galleryChanged, rulesChanged, errors.New("audit log scan did not reach the end")
}
