package enroll

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
)

// Catalogue is the biometric data a store holds, as its audit log tells
// it: which enrolment photos each person has, and how many templates of
// each model. It is rebuilt by replaying the store's own entries for
// photo and template enrolments and biometric deletions, which the store
// writes in the same transaction as each change, so it needs neither the
// key nor any biometric read.
type Catalogue struct {
	// Photos lists each person's enrolment photos, oldest first.
	Photos map[string][]PhotoRef
	// Templates counts templates per model and person.
	Templates map[recognizer.ModelID]map[string]int
}

// PhotoRef is one stored enrolment photo.
type PhotoRef struct {
	ID     string
	Source string
}

// Models lists the models that have templates, sorted.
func (c *Catalogue) Models() []recognizer.ModelID {
	var out []recognizer.ModelID
	for m, byPerson := range c.Templates {
		if len(byPerson) > 0 {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// The audit actions the replay follows, as the store writes them.
const (
	actionPhotoEnrol      = "photo.enrol"
	actionTemplateEnrol   = "template.enrol"
	actionBiometricDelete = "biometric.delete"
)

// ReadCatalogue replays the audit log of st. An entry of a followed
// action whose object or detail is not in the store's form is an error
// naming it: a catalogue with a silent hole would make Reembed skip
// people.
func ReadCatalogue(ctx context.Context, st Reader) (*Catalogue, error) {
	c := &Catalogue{Photos: map[string][]PhotoRef{}, Templates: map[recognizer.ModelID]map[string]int{}}
	var after uint64
	for {
		entries, err := st.AuditEntries(ctx, after, store.MaxBatch)
		if err != nil {
			return nil, fmt.Errorf("enroll: reading the audit log: %w", err)
		}
		if len(entries) == 0 {
			return c, nil
		}
		for _, e := range entries {
			if err := c.apply(e); err != nil {
				return nil, fmt.Errorf("enroll: audit entry %d (%s %s): %w", e.Seq, e.Action, e.Object, err)
			}
		}
		after = entries[len(entries)-1].Seq
	}
}

func (c *Catalogue) apply(e store.AuditEntry) error {
	var d struct {
		Person string `json:"person"`
		Source string `json:"source"`
		Model  string `json:"model"`
	}
	switch e.Action {
	case actionPhotoEnrol:
		id, ok := strings.CutPrefix(e.Object, "photo:")
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil || !ok || id == "" || d.Person == "" {
			return fmt.Errorf("not the store's record of a photo enrolment")
		}
		c.Photos[d.Person] = append(c.Photos[d.Person], PhotoRef{ID: id, Source: d.Source})
	case actionTemplateEnrol:
		_, ok := strings.CutPrefix(e.Object, "template:")
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil || !ok || d.Person == "" || d.Model == "" {
			return fmt.Errorf("not the store's record of a template enrolment")
		}
		m := recognizer.ModelID(d.Model)
		if c.Templates[m] == nil {
			c.Templates[m] = map[string]int{}
		}
		c.Templates[m][d.Person]++
	case actionBiometricDelete:
		person, ok := strings.CutPrefix(e.Object, "person:")
		if !ok || person == "" {
			return fmt.Errorf("not the store's record of a biometric deletion")
		}
		delete(c.Photos, person)
		for _, byPerson := range c.Templates {
			delete(byPerson, person)
		}
	}
	return nil
}

// Listing is an overview of the gallery: profiles, and templates per
// model.
type Listing struct {
	Models  []ModelCount `json:"models"`
	Persons []PersonRow  `json:"persons"`
}

// ModelCount is one model's share of the gallery.
type ModelCount struct {
	Model     recognizer.ModelID `json:"model"`
	Templates int                `json:"templates"`
	Persons   int                `json:"persons"`
}

// PersonRow is one profile with its biometric data counted.
type PersonRow struct {
	ID          string                     `json:"id"`
	DisplayName string                     `json:"display_name"`
	Status      store.PersonStatus         `json:"status"`
	Photos      int                        `json:"photos"`
	Templates   map[recognizer.ModelID]int `json:"templates"`
}

// List counts profiles, photos and templates per model from the profiles
// and the audit log; it decrypts nothing, so it works on a store opened
// without its key.
func List(ctx context.Context, st Reader) (Listing, error) {
	cat, err := ReadCatalogue(ctx, st)
	if err != nil {
		return Listing{}, err
	}
	persons, err := st.Persons(ctx)
	if err != nil {
		return Listing{}, fmt.Errorf("enroll: %w", err)
	}
	l := Listing{Persons: make([]PersonRow, 0, len(persons))}
	for _, m := range cat.Models() {
		mc := ModelCount{Model: m}
		for _, n := range cat.Templates[m] {
			mc.Templates += n
			mc.Persons++
		}
		l.Models = append(l.Models, mc)
	}
	for _, p := range persons {
		row := PersonRow{ID: p.ID, DisplayName: p.DisplayName, Status: p.Status, Photos: len(cat.Photos[p.ID]),
			Templates: map[recognizer.ModelID]int{}}
		for m, byPerson := range cat.Templates {
			if n := byPerson[p.ID]; n > 0 {
				row.Templates[m] = n
			}
		}
		l.Persons = append(l.Persons, row)
	}
	return l, nil
}
