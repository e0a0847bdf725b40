package enroll

import (
	"context"
	"fmt"
	"slices"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
)

// Catalogue is the biometric data a store holds, as its metadata tells
// it: which enrolment photos each person has, and how many templates of
// each model. It is read from the store's metadata queries (Photos,
// TemplateCounts), which decrypt nothing, so it needs neither the key nor
// any biometric read.
type Catalogue struct {
	// Photos lists each person's enrolment photos, oldest first; persons
	// without photos are absent.
	Photos map[string][]PhotoRef
	// Templates counts templates per model and person.
	Templates map[recognizer.ModelID]map[string]int
}

// PhotoRef is one stored enrolment photo.
type PhotoRef struct {
	ID     string
	Source string
	// SHA256 is the hash of the stored image, as the store recorded it.
	SHA256 string
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

// ReadCatalogue reads the enrolment photos and template counts of st.
func ReadCatalogue(ctx context.Context, st Reader) (*Catalogue, error) {
	c := &Catalogue{Photos: map[string][]PhotoRef{}, Templates: map[recognizer.ModelID]map[string]int{}}
	photos, err := st.Photos(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("enroll: listing enrolment photos: %w", err)
	}
	for _, p := range photos {
		c.Photos[p.PersonID] = append(c.Photos[p.PersonID], PhotoRef{ID: p.ID, Source: p.Source, SHA256: p.SHA256})
	}
	counts, err := st.TemplateCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("enroll: counting templates: %w", err)
	}
	for _, tc := range counts {
		if c.Templates[tc.Model] == nil {
			c.Templates[tc.Model] = map[string]int{}
		}
		c.Templates[tc.Model][tc.PersonID] += tc.Count
	}
	return c, nil
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
	Dim       int                `json:"dim"`
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

// List counts profiles, photos and templates per model from the store's
// metadata; it decrypts nothing, so it works on a store opened without
// its key.
func List(ctx context.Context, st Reader) (Listing, error) {
	cat, err := ReadCatalogue(ctx, st)
	if err != nil {
		return Listing{}, err
	}
	models, err := st.TemplateModels(ctx)
	if err != nil {
		return Listing{}, fmt.Errorf("enroll: counting templates per model: %w", err)
	}
	persons, err := st.Persons(ctx)
	if err != nil {
		return Listing{}, fmt.Errorf("enroll: %w", err)
	}
	l := Listing{Persons: make([]PersonRow, 0, len(persons))}
	for _, m := range models {
		l.Models = append(l.Models, ModelCount{Model: m.Model, Dim: m.Dim, Templates: m.Templates, Persons: m.Persons})
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
