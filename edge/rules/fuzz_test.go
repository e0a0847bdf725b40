package rules

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to the snapshot parser, seeded with the
// table of TestParse. Whatever it accepts must compile, and must survive
// being written back out and parsed again unchanged.
func FuzzParse(f *testing.F) {
	for _, c := range configCases {
		f.Add(c.input(f))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			return
		}
		r, err := Compile(cfg)
		if err != nil {
			t.Fatalf("parsed but does not compile: %v", err)
		}
		again, err := Parse(mustJSON(t, cfg))
		if err != nil {
			t.Fatalf("written back, no longer parses: %v", err)
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("round trip changed the snapshot:\n%+v\n%+v", cfg, again)
		}
		// The compiled snapshot must judge a sighting on any camera
		// without failing.
		e := New(r, Options{Rand: &counter{}})
		at := time.Date(2025, 3, 30, 1, 0, 0, 0, time.UTC)
		for i, cam := range cfg.Cameras {
			for _, p := range append([]string{""}, personIDs(cfg)...) {
				s := Sighting{ID: "s", Time: at.Add(time.Duration(i) * time.Second), Camera: cam.ID, PersonID: p}
				if _, err := e.Process(s); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func personIDs(c Config) []string {
	var ids []string
	for _, p := range c.Persons {
		ids = append(ids, p.ID)
	}
	return ids
}

// FuzzParseWindow checks that any accepted window describes whole,
// non-empty stretches of one week, and that its canonical form reads back
// to the same stretches and is its own canonical form.
func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{
		"mon-fri 08:00-17:00", "sun 22:00-02:00", "daily 00:00-24:00", "12:00-13:00",
		"fri-mon 10:00-11:00", "sat,sun 23:59-00:00", "25:00-26:00", "mon 08:60-09:00",
	} {
		f.Add(s)
	}
	for _, c := range canonicalCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWindow(s)
		if err != nil {
			return
		}
		if len(w.spans) == 0 || w.String() != s {
			t.Fatalf("%q parsed to %+v", s, w)
		}
		for _, sp := range w.spans {
			if sp.from < 0 || sp.to > minutesPerWeek || sp.from >= sp.to {
				t.Fatalf("%q has span %+v", s, sp)
			}
		}
		if _, err := json.Marshal(w.String()); err != nil {
			t.Fatal(err)
		}
		canon := w.Canonical()
		again, err := ParseWindow(canon)
		if err != nil {
			t.Fatalf("%q: canonical form %q rejected: %v", s, canon, err)
		}
		if again.Canonical() != canon || !reflect.DeepEqual(again.spans, w.spans) {
			t.Fatalf("%q: canonical form %q reads back as %+v, not %+v", s, canon, again, w)
		}
	})
}

// FuzzParseParams checks that accepted parameters marshal to a form that
// reads back to the same parameters and marshals to the same bytes.
func FuzzParseParams(f *testing.F) {
	for _, c := range paramsCases {
		f.Add(string(c.kind), []byte(c.raw))
	}
	f.Fuzz(func(t *testing.T, kind string, raw []byte) {
		p, err := ParseParams(Kind(kind), raw)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v names no field", err)
			}
			return
		}
		canon, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseParams(Kind(kind), canon)
		if err != nil {
			t.Fatalf("canonical form %s rejected: %v", canon, err)
		}
		if again != p {
			t.Fatalf("canonical form %s reads back as %+v, not %+v", canon, again, p)
		}
		if b, _ := json.Marshal(again); string(b) != string(canon) {
			t.Fatalf("canonical form %s marshals again as %s", canon, b)
		}
	})
}
