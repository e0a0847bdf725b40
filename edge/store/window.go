package store

import (
	"fmt"
	"strings"
	"time"
)

// Weekdays is a set of days: bit d is time.Weekday d (Sunday is bit 0).
type Weekdays uint8

// AllDays is every day of the week.
const AllDays Weekdays = 1<<7 - 1

// Has reports whether d is in the set.
func (w Weekdays) Has(d time.Weekday) bool { return w&(1<<d) != 0 }

// Window is a weekly time window in the facility's local time: on each of
// Days, from Start to End minutes after midnight. When Start > End the
// window runs over midnight and ends on the following day.
type Window struct {
	Days       Weekdays
	Start, End int // minutes: Start in 0..1439, End in 1..1440, Start != End
}

func (w Window) validate(what string) error {
	switch {
	case w.Days == 0 || w.Days > AllDays:
		return invalid(what, "days", "must name at least one day (bit mask 1..127), got %d", w.Days)
	case w.Start < 0 || w.Start > 1439:
		return invalid(what, "start", "must be a minute of the day in 0..1439, got %d", w.Start)
	case w.End < 1 || w.End > 1440:
		return invalid(what, "end", "must be in 1..1440 minutes, got %d", w.End)
	case w.Start == w.End:
		return invalid(what, "end", "equals start: the window would be empty")
	}
	return nil
}

// Contains reports whether t (already in the facility's time zone) falls in
// the window.
func (w Window) Contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	d := t.Weekday()
	if w.Start < w.End {
		return w.Days.Has(d) && m >= w.Start && m < w.End
	}
	prev := (d + 6) % 7
	return (w.Days.Has(d) && m >= w.Start) || (w.Days.Has(prev) && m < w.End)
}

// Day names in the order they are written, Monday first.
var dayNames = [7]struct {
	name string
	day  time.Weekday
}{
	{"mon", time.Monday}, {"tue", time.Tuesday}, {"wed", time.Wednesday}, {"thu", time.Thursday},
	{"fri", time.Friday}, {"sat", time.Saturday}, {"sun", time.Sunday},
}

func dayIndex(s string) (int, bool) {
	for i, d := range dayNames {
		if d.name == s {
			return i, true
		}
	}
	return 0, false
}

// ParseWindow reads the form supervisors type and String writes:
//
//	daily 08:00-20:00
//	mon-fri 07:30-19:00
//	mon,wed,fri 09:00-10:00
//	sat-sun 22:00-06:00     (runs over midnight into the next day)
//
// Day ranges may wrap (fri-mon is fri,sat,sun,mon); 24:00 may end a window.
// Case and surrounding spaces are ignored.
func ParseWindow(s string) (Window, error) {
	const what = "time window"
	if len(s) > 200 {
		return Window{}, invalid(what, "text", "is %d bytes, at most 200 are allowed", len(s))
	}
	fields := strings.Fields(strings.ToLower(s))
	if len(fields) != 2 {
		return Window{}, invalid(what, "text", "%q: want DAYS HH:MM-HH:MM, e.g. \"mon-fri 08:00-17:00\"", s)
	}
	var w Window
	if fields[0] == "daily" {
		w.Days = AllDays
	} else {
		for _, part := range strings.Split(fields[0], ",") {
			from, to, isRange := strings.Cut(part, "-")
			a, ok := dayIndex(from)
			if !ok {
				return Window{}, invalid(what, "days", "%q is not a day (mon..sun or daily)", from)
			}
			b := a
			if isRange {
				if b, ok = dayIndex(to); !ok {
					return Window{}, invalid(what, "days", "%q is not a day (mon..sun)", to)
				}
			}
			for i := a; ; i = (i + 1) % 7 {
				w.Days |= 1 << dayNames[i].day
				if i == b {
					break
				}
			}
		}
	}
	from, to, ok := strings.Cut(fields[1], "-")
	if !ok {
		return Window{}, invalid(what, "time", "%q: want HH:MM-HH:MM", fields[1])
	}
	var err error
	if w.Start, err = parseClock(from, false); err != nil {
		return Window{}, err
	}
	if w.End, err = parseClock(to, true); err != nil {
		return Window{}, err
	}
	if err := w.validate(what); err != nil {
		return Window{}, err
	}
	return w, nil
}

func parseClock(s string, end bool) (int, error) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, invalid("time window", "time", "%q: want HH:MM", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h == 24 && m == 0 && end {
		return 1440, nil
	}
	if h > 23 || m > 59 {
		return 0, invalid("time window", "time", "%q is not a time of day", s)
	}
	return h*60 + m, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes the window in the form ParseWindow reads, with days in
// Monday-first order and consecutive days joined into ranges.
func (w Window) String() string {
	var b strings.Builder
	if w.Days&AllDays == AllDays {
		b.WriteString("daily")
	} else {
		first := true
		for i := 0; i < 7; {
			if !w.Days.Has(dayNames[i].day) {
				i++
				continue
			}
			j := i
			for j+1 < 7 && w.Days.Has(dayNames[j+1].day) {
				j++
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(dayNames[i].name)
			if j > i {
				b.WriteByte('-')
				b.WriteString(dayNames[j].name)
			}
			i = j + 1
		}
	}
	fmt.Fprintf(&b, " %02d:%02d-%02d:%02d", w.Start/60, w.Start%60, w.End/60, w.End%60)
	return b.String()
}
