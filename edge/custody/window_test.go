package custody

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the host's zone files
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseWindowErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"25:00-26:00", "hour 25"},
		{"mon 08:00-24:01", "hour 24"},
		{"mon 24:00-08:00", "hour 24"},
		{"mon 08:60-09:00", "minute 60"},
		{"mon 8:00-9:00", "want HH:MM"},
		{"mon 08:00", "want HH:MM-HH:MM"},
		{"mon 08:00-08:00", "empty"},
		{"mon-fry 08:00-09:00", `unknown day "fry"`},
		{"mon,,tue 08:00-09:00", `unknown day ""`},
		{"mon,mon 08:00-09:00", "mon listed twice"},
		{"mon-wed,tue 08:00-09:00", "tue listed twice"},
		{"", "want \"DAYS HH:MM-HH:MM\""},
		{"mon tue 08:00-09:00", "want \"DAYS HH:MM-HH:MM\""},
		{"mon +8:00-09:00", "want HH:MM"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			_, err := ParseWindow(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestWindowContains(t *testing.T) {
	type probe struct {
		at   string // RFC 3339 with offset, or a local time "2006-01-02 15:04" in the zone
		want bool
	}
	// 2025-03-14 is a Friday.
	cases := []struct {
		name, zone, window string
		probes             []probe
	}{
		{"working hours", "Europe/Moscow", "mon-fri 08:00-17:00", []probe{
			{"2025-03-14 07:59", false},
			{"2025-03-14 08:00", true},
			{"2025-03-14 16:59", true},
			{"2025-03-14 17:00", false}, // the end is exclusive
			{"2025-03-15 10:00", false}, // Saturday
			{"2025-03-17 08:30", true},  // Monday
		}},
		{"whole day", "Europe/Moscow", "sun 00:00-24:00", []probe{
			{"2025-03-15 23:59", false},
			{"2025-03-16 00:00", true},
			{"2025-03-16 23:59", true},
			{"2025-03-17 00:00", false},
		}},
		{"every day without days", "Europe/Moscow", "12:00-13:00", []probe{
			{"2025-03-12 12:30", true},
			{"2025-03-16 12:59", true},
			{"2025-03-16 13:00", false},
		}},
		{"overnight wraps midnight", "Europe/Moscow", "fri 22:00-06:00", []probe{
			{"2025-03-14 21:59", false},
			{"2025-03-14 22:00", true},
			{"2025-03-14 23:59", true},
			{"2025-03-15 00:00", true},
			{"2025-03-15 05:59", true},
			{"2025-03-15 06:00", false},
			{"2025-03-13 23:00", false}, // Thursday night is not listed
			{"2025-03-14 03:00", false}, // early Friday belongs to Thursday's night
		}},
		{"overnight wraps the week", "Europe/Moscow", "sun 22:00-02:00", []probe{
			{"2025-03-16 22:30", true},
			{"2025-03-17 01:59", true}, // Monday morning
			{"2025-03-17 02:00", false},
			{"2025-03-10 01:00", true}, // the Monday before, from the Sunday before that
		}},
		{"day range wraps the weekend", "Europe/Moscow", "fri-mon 10:00-11:00", []probe{
			{"2025-03-14 10:30", true},
			{"2025-03-15 10:30", true},
			{"2025-03-16 10:30", true},
			{"2025-03-17 10:30", true},
			{"2025-03-18 10:30", false},
		}},
		// Berlin, 30 March 2025: at 01:00 UTC clocks jump from 02:00 CET
		// to 03:00 CEST. The wall-clock window 01:00-03:00 lasts one hour.
		{"Berlin spring forward", "Europe/Berlin", "sun 01:00-03:00", []probe{
			{"2025-03-29T23:59:00Z", false}, // 00:59 CET
			{"2025-03-30T00:00:00Z", true},  // 01:00 CET
			{"2025-03-30T00:59:00Z", true},  // 01:59 CET
			{"2025-03-30T01:00:00Z", false}, // 03:00 CEST
		}},
		{"Berlin skipped hour never comes", "Europe/Berlin", "sun 02:00-02:30", []probe{
			{"2025-03-30T00:59:59Z", false},
			{"2025-03-30T01:00:00Z", false},
			{"2025-03-30T01:29:00Z", false},
			{"2025-03-23T01:15:00Z", true}, // a week earlier it exists: 02:15 CET
		}},
		// Berlin, 26 October 2025: at 01:00 UTC clocks fall back from 03:00
		// CEST to 02:00 CET. The window 02:00-03:00 lasts two hours.
		{"Berlin fall back", "Europe/Berlin", "sun 02:00-03:00", []probe{
			{"2025-10-25T23:59:00Z", false}, // 01:59 CEST
			{"2025-10-26T00:00:00Z", true},  // 02:00 CEST
			{"2025-10-26T00:30:00Z", true},  // 02:30 CEST
			{"2025-10-26T01:30:00Z", true},  // 02:30 CET, again
			{"2025-10-26T02:00:00Z", false}, // 03:00 CET
		}},
		// Moscow moved to permanent summer time on 27 March 2011 (02:00
		// MSK+3 became 03:00 MSK+4) and back on 26 October 2014 (02:00
		// MSK+4 became 01:00 MSK+3).
		{"Moscow 2011 spring forward", "Europe/Moscow", "sun 01:00-03:00", []probe{
			{"2011-03-26T22:30:00Z", true},  // 01:30 +03
			{"2011-03-26T23:00:00Z", false}, // 03:00 +04
		}},
		{"Moscow 2014 fall back", "Europe/Moscow", "sun 01:00-02:00", []probe{
			{"2014-10-25T20:59:00Z", false}, // 00:59 +04
			{"2014-10-25T21:30:00Z", true},  // 01:30 +04
			{"2014-10-25T22:30:00Z", true},  // 01:30 +03, again
			{"2014-10-25T23:00:00Z", false}, // 02:00 +03
		}},
		// No change in Moscow since 2014, while Berlin springs forward:
		// the same instant is inside the window in one city only.
		{"Moscow on Berlin's change day", "Europe/Moscow", "sun 03:00-04:00", []probe{
			{"2025-03-30T00:30:00Z", true},  // 03:30 MSK
			{"2025-03-30T01:00:00Z", false}, // 04:00 MSK
		}},
		{"Berlin at the same instants", "Europe/Berlin", "sun 03:00-04:00", []probe{
			{"2025-03-30T00:30:00Z", false}, // 01:30 CET
			{"2025-03-30T01:00:00Z", true},  // 03:00 CEST
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc := mustLoc(t, c.zone)
			w, err := ParseWindow(c.window)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range c.probes {
				at, err := time.Parse(time.RFC3339, p.at)
				if err != nil {
					at, err = time.ParseInLocation("2006-01-02 15:04", p.at, loc)
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := w.Contains(at, loc); got != p.want {
					t.Errorf("%q contains %s (%s there) = %v, want %v", c.window, p.at, at.In(loc).Format("Mon 15:04 MST"), got, p.want)
				}
			}
		})
	}
}

func TestWindowOverlaps(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"mon-fri 08:00-12:00", "mon-fri 12:00-17:00", false},
		{"mon-fri 08:00-12:30", "fri 12:00-17:00", true},
		{"sat 22:00-06:00", "sun 05:00-07:00", true},
		{"sun 22:00-06:00", "mon 05:00-07:00", true},
		{"sun 22:00-06:00", "mon 06:00-07:00", false},
		{"daily 00:00-24:00", "wed 03:00-04:00", true},
		{"mon 08:00-09:00", "tue 08:00-09:00", false},
	}
	for _, c := range cases {
		a, err := ParseWindow(c.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseWindow(c.b)
		if err != nil {
			t.Fatal(err)
		}
		if a.Overlaps(b) != c.want || b.Overlaps(a) != c.want {
			t.Errorf("%q overlaps %q = %v, want %v", c.a, c.b, a.Overlaps(b), c.want)
		}
	}
}

// canonicalCases seed FuzzParseWindow as well.
var canonicalCases = []struct{ in, want string }{
	{"mon-fri 08:00-17:00", "mon-fri 08:00-17:00"},
	{"  MON-Fri\t08:00-17:00 ", "mon-fri 08:00-17:00"},
	{"12:00-13:00", "daily 12:00-13:00"},
	{"Daily 00:00-24:00", "daily 00:00-24:00"},
	{"sun-sat 09:00-10:00", "daily 09:00-10:00"},
	{"fri-mon 10:00-11:00", "mon,fri-sun 10:00-11:00"},
	{"fri,mon,wed 07:30-08:00", "mon,wed,fri 07:30-08:00"},
	{"sat,sun 22:00-06:00", "sat-sun 22:00-06:00"},
	{"tue,wed,thu,sun 23:59-00:01", "tue-thu,sun 23:59-00:01"},
}

func TestWindowCanonical(t *testing.T) {
	for _, c := range canonicalCases {
		t.Run(c.in, func(t *testing.T) {
			w, err := ParseWindow(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.Canonical(); got != c.want {
				t.Fatalf("canonical %q, want %q", got, c.want)
			}
			if w.String() != c.in {
				t.Errorf("String %q, want the text as written", w.String())
			}
		})
	}
	if got := (Window{}).Canonical(); got != "" {
		t.Errorf("zero window: %q", got)
	}
}
