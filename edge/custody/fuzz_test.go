package custody

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

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
