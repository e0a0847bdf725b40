package rules

import (
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
