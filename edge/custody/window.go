package custody

import (
	"fmt"
	"strings"
	"time"
)

const (
	minutesPerDay  = 24 * 60
	minutesPerWeek = 7 * minutesPerDay
)

var dayNames = [7]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// span is a half-open interval [from, to) of minutes since Monday 00:00.
type span struct{ from, to int }

// Window is a parsed weekly time window: a set of days and a time of day
// range, in facility wall-clock time.
//
// The text form is "DAYS HH:MM-HH:MM" or just "HH:MM-HH:MM" for every day.
// DAYS is "daily" or a comma-separated list of days (mon … sun) and day
// ranges ("mon-fri", "fri-mon" wraps over the weekend). The end may be
// "24:00". An end before the start makes an overnight window that begins on
// the listed day and ends the next morning: "fri 22:00-06:00" covers
// Friday night until Saturday 06:00, and "sun 22:00-02:00" runs into
// Monday. Start and end are wall-clock times, so on the day clocks go
// forward a window covering the skipped hour is an hour shorter, and on the
// day they go back a window covering the repeated hour is an hour longer.
type Window struct {
	text string
	// days (Monday first), start and end (minutes of the day) are the
	// window as parsed, from which Canonical writes it again.
	days       [7]bool
	start, end int
	spans      []span
}

// String returns the window as written.
func (w Window) String() string { return w.text }

// Canonical returns the window in one spelling shared by every text that
// parses to the same days and hours, so that equal windows compare equal
// as text: lower case, single spaces, "daily" for the whole week, and
// otherwise the days Monday first with each run of consecutive days
// written as a range ("mon,wed-fri"). ParseWindow reads it back to the
// same window. The zero Window has no canonical form and gives "".
func (w Window) Canonical() string {
	if len(w.spans) == 0 {
		return ""
	}
	var b strings.Builder
	if w.days == [7]bool{true, true, true, true, true, true, true} {
		b.WriteString("daily")
	} else {
		for d := 0; d < 7; d++ {
			if !w.days[d] {
				continue
			}
			last := d
			for last+1 < 7 && w.days[last+1] {
				last++
			}
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(dayNames[d])
			if last > d {
				b.WriteString("-" + dayNames[last])
			}
			d = last
		}
	}
	fmt.Fprintf(&b, " %02d:%02d-%02d:%02d", w.start/60, w.start%60, w.end/60, w.end%60)
	return b.String()
}

// ParseWindow parses the text form of a window.
func ParseWindow(s string) (Window, error) {
	fields := strings.Fields(s)
	var days, clock string
	switch len(fields) {
	case 1:
		days, clock = "daily", fields[0]
	case 2:
		days, clock = fields[0], fields[1]
	default:
		return Window{}, fmt.Errorf("window %q: want \"DAYS HH:MM-HH:MM\", e.g. \"mon-fri 08:00-17:00\"", s)
	}
	set, err := parseDays(days)
	if err != nil {
		return Window{}, fmt.Errorf("window %q: %w", s, err)
	}
	start, end, err := parseClockRange(clock)
	if err != nil {
		return Window{}, fmt.Errorf("window %q: %w", s, err)
	}
	w := Window{text: s, days: set, start: start, end: end}
	length := end - start
	if end < start {
		length += minutesPerDay
	}
	for d, on := range set {
		if !on {
			continue
		}
		from := d*minutesPerDay + start
		to := from + length
		if to <= minutesPerWeek {
			w.spans = append(w.spans, span{from, to})
			continue
		}
		// Sunday night running into Monday morning.
		w.spans = append(w.spans, span{from, minutesPerWeek}, span{0, to - minutesPerWeek})
	}
	return w, nil
}

// Contains reports whether t, read on a wall clock in loc, is in w.
func (w Window) Contains(t time.Time, loc *time.Location) bool {
	m := minuteOfWeek(t.In(loc))
	for _, s := range w.spans {
		if s.from <= m && m < s.to {
			return true
		}
	}
	return false
}

// Overlaps reports whether w and o share any minute of the week.
func (w Window) Overlaps(o Window) bool {
	for _, a := range w.spans {
		for _, b := range o.spans {
			if a.from < b.to && b.from < a.to {
				return true
			}
		}
	}
	return false
}

func minuteOfWeek(t time.Time) int {
	day := (int(t.Weekday()) + 6) % 7 // Monday first
	return day*minutesPerDay + t.Hour()*60 + t.Minute()
}

func parseDays(s string) ([7]bool, error) {
	var set [7]bool
	if strings.EqualFold(s, "daily") {
		for i := range set {
			set[i] = true
		}
		return set, nil
	}
	for item := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := parseDay(lo)
		if err != nil {
			return set, err
		}
		b := a
		if isRange {
			if b, err = parseDay(hi); err != nil {
				return set, err
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			if set[d] {
				return set, fmt.Errorf("day %s listed twice", dayNames[d])
			}
			set[d] = true
			if d == b {
				break
			}
		}
	}
	return set, nil
}

func parseDay(s string) (int, error) {
	for i, n := range dayNames {
		if strings.EqualFold(s, n) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown day %q, want one of mon, tue, wed, thu, fri, sat, sun or daily", s)
}

// parseClockRange parses "HH:MM-HH:MM" into minutes of the day; the end may
// be 24:00 (1440).
func parseClockRange(s string) (start, end int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("time range %q: want HH:MM-HH:MM", s)
	}
	if start, err = parseClock(a, false); err != nil {
		return 0, 0, err
	}
	if end, err = parseClock(b, true); err != nil {
		return 0, 0, err
	}
	if start == end {
		return 0, 0, fmt.Errorf("time range %q is empty; write 00:00-24:00 for a whole day", s)
	}
	return start, end, nil
}

func parseClock(s string, end bool) (int, error) {
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	switch {
	case end && h == 24 && m == 0:
		return minutesPerDay, nil
	case h > 23:
		return 0, fmt.Errorf("time %q: hour %d is out of range", s, h)
	case m > 59:
		return 0, fmt.Errorf("time %q: minute %d is out of range", s, m)
	}
	return h*60 + m, nil
}

func digits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
