package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// ruleParamsCases seed FuzzParseRuleParams as well.
var ruleParamsCases = []struct {
	name string
	kind RuleKind
	raw  string
	want any // nil: rejected
}{
	{"watchlist", RuleWatchlist, `{"lists":["escape-risk","violent"]}`, &WatchlistParams{Lists: []string{"escape-risk", "violent"}}},
	{"watchlist with spaces around", RuleWatchlist, " \n{ \"lists\" : [ \"a\" ] }\t", &WatchlistParams{Lists: []string{"a"}}},
	{"watchlist without lists", RuleWatchlist, `{}`, nil},
	{"watchlist with null lists", RuleWatchlist, `{"lists":null}`, nil},
	{"watchlist naming a list twice", RuleWatchlist, `{"lists":["a","a"]}`, nil},
	{"watchlist list with a space", RuleWatchlist, `{"lists":["escape risk"]}`, nil},
	{"watchlist list not a string", RuleWatchlist, `{"lists":[1]}`, nil},
	{"unknown field", RuleWatchlist, `{"lists":["a"],"list":["b"]}`, nil},
	{"zone with defaults", RuleZone, `{}`, &ZoneParams{}},
	{"zone grace", RuleZone, `{"grace_seconds":300}`, &ZoneParams{GraceSeconds: 300}},
	{"zone grace too long", RuleZone, `{"grace_seconds":3601}`, nil},
	{"zone grace negative", RuleZone, `{"grace_seconds":-1}`, nil},
	{"zone grace fractional", RuleZone, `{"grace_seconds":1.5}`, nil},
	{"zone grace as a string", RuleZone, `{"grace_seconds":"300"}`, nil},
	{"unknown face", RuleUnknownFace, `{"zone_kinds":["staff_only","perimeter"],"min_frames":3}`,
		&UnknownFaceParams{ZoneKinds: []ZoneKind{ZoneStaffOnly, ZonePerimeter}, MinFrames: 3}},
	{"unknown face without kinds", RuleUnknownFace, `{"min_frames":3}`, nil},
	{"unknown face with an unknown kind", RuleUnknownFace, `{"zone_kinds":["lobby"]}`, nil},
	{"unknown face repeating a kind", RuleUnknownFace, `{"zone_kinds":["yard","yard"]}`, nil},
	{"unknown face with too many frames", RuleUnknownFace, `{"zone_kinds":["yard"],"min_frames":1001}`, nil},
	{"keep apart", RuleKeepApart, `{"window_seconds":120}`, &KeepApartParams{WindowSeconds: 120}},
	{"keep apart without window", RuleKeepApart, `{}`, nil},
	{"keep apart huge number", RuleKeepApart, `{"window_seconds":1e400}`, nil},
	{"trailing data", RuleKeepApart, `{"window_seconds":120} {}`, nil},
	{"trailing garbage", RuleKeepApart, `{"window_seconds":120}x`, nil},
	{"array instead of object", RuleKeepApart, `[{"window_seconds":120}]`, nil},
	{"null", RuleKeepApart, `null`, nil},
	{"empty", RuleZone, ``, nil},
	{"truncated", RuleZone, `{"grace_seconds":`, nil},
	{"unknown kind", "loitering", `{}`, nil},
	{"oversized", RuleZone, `{"grace_seconds":1` + strings.Repeat(" ", MaxParamsBytes) + `}`, nil},
}

func TestParseRuleParams(t *testing.T) {
	for _, tc := range ruleParamsCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRuleParams(tc.kind, []byte(tc.raw))
			if tc.want == nil {
				if err == nil {
					t.Fatalf("accepted as %+v", got)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				return
			}
			must(t, err)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzParseRuleParams checks that the parser never panics and that whatever
// it accepts survives the canonical encoding PutRule stores unchanged.
func FuzzParseRuleParams(f *testing.F) {
	for _, tc := range ruleParamsCases {
		f.Add(string(tc.kind), []byte(tc.raw))
	}
	f.Fuzz(func(t *testing.T, kind string, raw []byte) {
		p, err := ParseRuleParams(RuleKind(kind), raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		canon, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRuleParams(RuleKind(kind), canon)
		if err != nil {
			t.Fatalf("canonical form %s rejected: %v", canon, err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("canonical form %s reads back as %+v, not %+v", canon, again, p)
		}
	})
}

// windowCases seed FuzzParseWindow as well.
var windowCases = []struct {
	text  string
	want  Window
	canon string // "": rejected
}{
	{"daily 08:00-20:00", Window{AllDays, 480, 1200}, "daily 08:00-20:00"},
	{"mon-fri 07:30-19:00", Window{0b0111110, 450, 1140}, "mon-fri 07:30-19:00"},
	{"  MON,Wed,fri   09:00-10:00 ", Window{0b0101010, 540, 600}, "mon,wed,fri 09:00-10:00"},
	{"sat-sun 22:00-06:00", Window{0b1000001, 1320, 360}, "sat-sun 22:00-06:00"},
	{"fri-mon 00:00-24:00", Window{0b1100011, 0, 1440}, "mon,fri-sun 00:00-24:00"},
	{"sun-sat 00:00-24:00", Window{AllDays, 0, 1440}, "daily 00:00-24:00"},
	{"mon,mon 10:00-11:00", Window{0b0000010, 600, 660}, "mon 10:00-11:00"},
	{"tue-tue 23:59-00:01", Window{0b0000100, 1439, 1}, "tue 23:59-00:01"},
	{"mon 10:00-10:00", Window{}, ""},
	{"mon 24:00-10:00", Window{}, ""},
	{"mon 10:00-24:01", Window{}, ""},
	{"mon 10:60-11:00", Window{}, ""},
	{"mon 9:00-11:00", Window{}, ""},
	{"mon 09:00", Window{}, ""},
	{"monday 09:00-10:00", Window{}, ""},
	{"mon-xyz 09:00-10:00", Window{}, ""},
	{"mon,,tue 09:00-10:00", Window{}, ""},
	{"09:00-10:00", Window{}, ""},
	{"mon 09:00-10:00 extra", Window{}, ""},
	{"", Window{}, ""},
	{"mon ０９:00-10:00", Window{}, ""},
}

func TestParseWindow(t *testing.T) {
	for _, tc := range windowCases {
		t.Run(tc.text, func(t *testing.T) {
			w, err := ParseWindow(tc.text)
			if tc.canon == "" {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %+v, %v; want ErrInvalid", w, err)
				}
				return
			}
			must(t, err)
			if w != tc.want || w.String() != tc.canon {
				t.Errorf("got %+v %q, want %+v %q", w, w.String(), tc.want, tc.canon)
			}
		})
	}
}

func TestWindowContains(t *testing.T) {
	monday := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	at := func(day int, hhmm string) time.Time {
		d, _ := time.ParseDuration(hhmm[:2] + "h" + hhmm[3:] + "m")
		return monday.AddDate(0, 0, day).Add(d)
	}
	weekdays, _ := ParseWindow("mon-fri 08:00-17:00")
	nights, _ := ParseWindow("fri 22:00-06:00")
	cases := []struct {
		name string
		w    Window
		t    time.Time
		want bool
	}{
		{"start is inside", weekdays, at(0, "08:00"), true},
		{"end is outside", weekdays, at(0, "17:00"), false},
		{"before", weekdays, at(2, "07:59"), false},
		{"saturday", weekdays, at(5, "12:00"), false},
		{"overnight, evening of the day", nights, at(4, "23:00"), true},
		{"overnight, morning after", nights, at(5, "05:59"), true},
		{"overnight, end", nights, at(5, "06:00"), false},
		{"overnight, morning of the day itself", nights, at(4, "05:00"), false},
	}
	for _, tc := range cases {
		if got := tc.w.Contains(tc.t); got != tc.want {
			t.Errorf("%s: %v contains %v = %v", tc.name, tc.w, tc.t, got)
		}
	}
}

// FuzzParseWindow checks that the parser never panics, that an accepted
// window is valid, and that String writes a form that reads back to the
// same window and is its own canonical form.
func FuzzParseWindow(f *testing.F) {
	for _, tc := range windowCases {
		f.Add(tc.text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		w, err := ParseWindow(text)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := w.validate("window"); err != nil {
			t.Fatalf("accepted an invalid window %+v: %v", w, err)
		}
		again, err := ParseWindow(w.String())
		if err != nil || again != w || again.String() != w.String() {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", text, w, w.String(), again, err)
		}
	})
}
