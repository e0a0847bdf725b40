package rules

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
)

// counter is a predictable source of alert ids.
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	r, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return New(r, Options{Rand: &counter{}})
}

var moscow = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		panic(err)
	}
	return loc
}()

// msk reads "2025-03-14 10:00:05" (a Friday) on Moscow's wall clock.
func msk(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, moscow)
	if err != nil {
		panic(err)
	}
	return t
}

// sight is a decided sighting; person "" is an unknown face.
func sight(id, at, camera, person string) Sighting {
	return Sighting{ID: id, Time: msk(at), Camera: camera, PersonID: person, Track: 7, Score: 0.61, Margin: 0.2, CropRef: "crops/" + id + ".jpg"}
}

// brief writes an alert as "rule persons zone sightings".
func brief(a Alert) string {
	ps := strings.Join(a.Persons, ",")
	if ps == "" {
		ps = "-"
	}
	return fmt.Sprintf("%s %s %s %s", a.Rule, ps, a.Zone, strings.Join(a.Sightings, ","))
}

func rule(id string, kind custody.Kind, cooldown time.Duration, edit ...func(*Rule)) Rule {
	r := Rule{ID: id, Kind: kind, Severity: custody.Warning, Cooldown: custody.Duration(cooldown)}
	for _, e := range edit {
		e(&r)
	}
	return r
}

func within(d time.Duration) func(*Rule) { return func(r *Rule) { r.Within = custody.Duration(d) } }
func onZone(z string) func(*Rule)        { return func(r *Rule) { r.Scope.Zone = z } }
func onCamera(c string) func(*Rule)      { return func(r *Rule) { r.Scope.Camera = c } }
func list(l string) func(*Rule)          { return func(r *Rule) { r.WatchList = l } }

func TestRuleKinds(t *testing.T) {
	const day = "2025-03-14 " // a Friday
	cases := []struct {
		name      string
		rules     []Rule
		sightings []Sighting
		want      []string
	}{
		{
			name:  "watch list",
			rules: []Rule{rule("watch", custody.KindWatchList, 10*time.Minute, list("escape-risk"))},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-a1", "p1"),
				sight("s2", day+"10:00:00", "cam-a1", "p2"), // on another list
				sight("s3", day+"10:00:00", "cam-a1", "p4"), // on none
				sight("s4", day+"10:00:00", "cam-a1", "p99"),
				sight("s5", day+"10:00:00", "cam-a1", ""),
			},
			want: []string{"watch p1 block-a s1"},
		},
		{
			name:  "watch any list",
			rules: []Rule{rule("watch", custody.KindWatchList, 10*time.Minute)},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-a1", "p1"),
				sight("s2", day+"10:00:00", "cam-a1", "p2"),
				sight("s3", day+"10:00:00", "cam-a1", "p4"),
			},
			want: []string{"watch p1 block-a s1", "watch p2 block-a s2"},
		},
		{
			name:  "cooldown per rule, person and zone",
			rules: []Rule{rule("watch", custody.KindWatchList, 10*time.Minute)},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-a1", "p1"),
				sight("s2", day+"10:05:00", "cam-a2", "p1"), // same zone, other camera: held back
				sight("s3", day+"10:05:00", "cam-a1", "p2"), // another person
				sight("s4", day+"10:06:00", "cam-y1", "p1"), // another zone
				sight("s5", day+"10:09:59", "cam-a1", "p1"), // just inside the cooldown
				sight("s6", day+"10:10:00", "cam-a1", "p1"), // exactly the cooldown later
				sight("s7", day+"10:02:00", "cam-a1", "p1"), // late arrival, before s6
				sight("s8", day+"10:19:00", "cam-a1", "p1"), // within s6's cooldown
				sight("s9", day+"10:20:00", "cam-a1", "p1"),
			},
			want: []string{
				"watch p1 block-a s1", "watch p2 block-a s3", "watch p1 yard s4",
				"watch p1 block-a s6", "watch p1 block-a s9",
			},
		},
		{
			name:  "no cooldown",
			rules: []Rule{rule("watch", custody.KindWatchList, 0)},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-a1", "p1"),
				sight("s2", day+"10:00:00", "cam-a1", "p1"),
			},
			want: []string{"watch p1 block-a s1", "watch p1 block-a s2"},
		},
		{
			name:  "camera scope",
			rules: []Rule{rule("watch", custody.KindWatchList, 0, onCamera("cam-a2"))},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-a1", "p1"),
				sight("s2", day+"10:00:01", "cam-a2", "p1"),
			},
			want: []string{"watch p1 block-a s2"},
		},
		{
			name:  "zone scope",
			rules: []Rule{rule("watch", custody.KindWatchList, 0, onZone("yard"))},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-a1", "p1"),
				sight("s2", day+"10:00:01", "cam-y2", "p1"),
				// A camera the rules do not know, naming its zone itself.
				func() Sighting { s := sight("s3", day+"10:00:02", "cam-new", "p1"); s.Zone = "yard"; return s }(),
				sight("s4", day+"10:00:03", "cam-new", "p1"),
			},
			want: []string{"watch p1 yard s2", "watch p1 yard s3"},
		},
		{
			name:  "outside permitted zones and hours",
			rules: []Rule{rule("permits", custody.KindOutsidePermit, 0)},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-w", "p1"),         // workshop in working hours
				sight("s2", day+"12:00:00", "cam-w", "p1"),         // lunch break
				sight("s3", day+"12:59:59", "cam-w", "p1"),         // still lunch
				sight("s4", day+"13:00:00", "cam-w", "p1"),         // back at work
				sight("s5", day+"16:59:00", "cam-w", "p1"),         // last minute
				sight("s6", day+"17:00:00", "cam-w", "p1"),         // the end is exclusive
				sight("s7", "2025-03-15 10:00:00", "cam-w", "p1"),  // Saturday
				sight("s8", "2025-03-16 03:00:00", "cam-a1", "p1"), // block at any time
				sight("s9", day+"11:00:00", "cam-v", "p1"),         // visits: never permitted
				sight("s10", day+"11:00:00", "cam-c", "p4"),        // no permits: not restricted
				sight("s11", day+"11:00:00", "cam-c", ""),          // unknown: not this rule
				sight("s12", day+"11:00:00", "cam-c", "p3"),
				sight("s13", day+"11:00:00", "cam-new", "p1"), // zone unknown: cannot judge
			},
			want: []string{
				"permits p1 workshop s2", "permits p1 workshop s3", "permits p1 workshop s6",
				"permits p1 workshop s7", "permits p1 visits s9", "permits p3 control-room s12",
			},
		},
		{
			name:  "keep apart within the limit",
			rules: []Rule{rule("apart", custody.KindKeepApart, 5*time.Minute, within(time.Minute))},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-y1", "p1"),
				sight("s2", day+"10:00:45", "cam-y2", "p3"),
				sight("s3", day+"10:00:50", "cam-y1", "p3"), // cooldown
				sight("s4", day+"10:00:55", "cam-y1", "p2"), // no order
			},
			want: []string{"apart p1,p3 yard s1,s2"},
		},
		{
			name:  "keep apart at exactly the limit",
			rules: []Rule{rule("apart", custody.KindKeepApart, 5*time.Minute, within(time.Minute))},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-y1", "p3"),
				sight("s2", day+"10:01:00", "cam-y2", "p1"),
			},
			want: []string{"apart p1,p3 yard s1,s2"},
		},
		{
			name:  "keep apart outside the limit or zone",
			rules: []Rule{rule("apart", custody.KindKeepApart, 5*time.Minute, within(time.Minute))},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-y1", "p1"),
				sight("s2", day+"10:01:01", "cam-y2", "p3"), // 61 s later
				sight("s3", day+"10:01:30", "cam-a1", "p1"), // other zone
				sight("s4", day+"10:03:00", "cam-a2", "p3"), // 90 s after s3
			},
			want: nil,
		},
		{
			name:  "keep apart with a late sighting",
			rules: []Rule{rule("apart", custody.KindKeepApart, 5*time.Minute, within(time.Minute))},
			sightings: []Sighting{
				sight("s1", day+"10:01:00", "cam-y1", "p3"),
				sight("s2", day+"10:00:30", "cam-y2", "p1"), // arrives after, happened before
			},
			want: []string{"apart p1,p3 yard s2,s1"},
		},
		{
			name:  "keep apart on one camera",
			rules: []Rule{rule("apart", custody.KindKeepApart, 5*time.Minute, within(time.Minute), onCamera("cam-y1"))},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-y1", "p1"),
				sight("s2", day+"10:00:10", "cam-y2", "p3"), // same zone, camera out of scope
				sight("s3", day+"10:00:20", "cam-y1", "p3"),
			},
			want: []string{"apart p1,p3 yard s1,s3"},
		},
		{
			name:  "unknown face in staff-only zone",
			rules: []Rule{rule("staff", custody.KindUnknownInStaffZone, 2*time.Minute)},
			sightings: []Sighting{
				sight("s1", day+"10:00:00", "cam-c", ""),
				sight("s2", day+"10:01:00", "cam-c", ""),   // cooldown
				sight("s3", day+"10:01:00", "cam-y1", ""),  // not staff-only
				sight("s4", day+"10:01:30", "cam-c", "p4"), // known
				sight("s5", day+"10:02:00", "cam-c", ""),
			},
			want: []string{"staff - control-room s1", "staff - control-room s5"},
		},
		{
			name: "one sighting, several rules",
			rules: []Rule{
				rule("watch", custody.KindWatchList, time.Minute),
				rule("permits", custody.KindOutsidePermit, time.Minute),
				rule("watch-visits", custody.KindWatchList, time.Minute, onZone("visits")),
			},
			sightings: []Sighting{sight("s1", day+"10:00:00", "cam-v", "p1")},
			want:      []string{"watch p1 visits s1", "permits p1 visits s1", "watch-visits p1 visits s1"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Rules = c.rules
			e := newEngine(t, cfg)
			var got []string
			for _, s := range c.sightings {
				as, err := e.Process(s)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range as {
					got = append(got, brief(a))
				}
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("alerts:\n  got  %q\n  want %q", got, c.want)
			}
			if st := e.Stats(); st.Open != len(c.want) || st.Alerts != uint64(len(c.want)) || st.Sightings != uint64(len(c.sightings)) {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestAlertContents(t *testing.T) {
	cfg := baseConfig()
	e := newEngine(t, cfg)
	s1 := sight("s1", "2025-03-14 10:00:00", "cam-y1", "p3")
	s2 := sight("s2", "2025-03-14 10:00:20", "cam-y2", "p1")
	s2.Margin = float32(math.Inf(1))
	if _, err := e.Process(s1); err != nil {
		t.Fatal(err)
	}
	as, err := e.Process(s2)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 || as[0].Kind != custody.KindWatchList || as[1].Kind != custody.KindKeepApart {
		t.Fatalf("alerts %v", as)
	}
	w, k := as[0], as[1]
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(w.ID) || !uuid.MatchString(k.ID) || w.ID == k.ID {
		t.Errorf("ids %q, %q", w.ID, k.ID)
	}
	if w.Severity != custody.Critical || w.State != Open || w.Decision != nil || !w.Time.Equal(s2.Time) ||
		w.Camera != "cam-y2" || w.Zone != "yard" || w.Reason != `p1 is on watch list "escape-risk"` {
		t.Errorf("watch alert %+v", w)
	}
	ev := k.Evidence
	if len(ev) != 2 || ev[0].Sighting != "s1" || ev[0].PersonID != "p3" || ev[0].CropRef != "crops/s1.jpg" ||
		ev[0].Score != 0.61 || ev[0].Margin != 0.2 || ev[0].Camera != "cam-y1" || ev[0].Zone != "yard" || ev[0].Track != 7 ||
		ev[1].Sighting != "s2" || !math.IsInf(float64(ev[1].Margin), 1) {
		t.Errorf("keep-apart evidence %+v", ev)
	}
	if want := `p1 and p3, kept apart by order ka-1, were seen in zone "yard" 20s apart`; k.Reason != want {
		t.Errorf("reason %q, want %q", k.Reason, want)
	}
	// What Process returns is the caller's: changing it changes nothing.
	k.Persons[0], k.Evidence[0].Score = "x", 0
	open := e.Open()
	if len(open) != 2 || open[1].ID != k.ID && open[0].ID != k.ID {
		t.Fatalf("open %v", open)
	}
	for _, a := range open {
		if a.Kind == custody.KindKeepApart && (a.Persons[0] != "p1" || a.Evidence[0].Score != 0.61) {
			t.Errorf("engine's alert was changed through a returned copy: %+v", a)
		}
	}
}

func TestPermitReasons(t *testing.T) {
	cfg := baseConfig()
	cfg.Rules = cfg.Rules[1:2]
	e := newEngine(t, cfg)
	as, _ := e.Process(sight("s1", "2025-03-15 10:00:00", "cam-w", "p1"))
	if want := `p1 is permitted in zone "workshop" only mon-fri 08:00-12:00, mon-fri 13:00-17:00; seen Sat 10:00 MSK`; len(as) != 1 || as[0].Reason != want {
		t.Errorf("alerts %v, want reason %q", as, want)
	}
	as, _ = e.Process(sight("s2", "2025-03-15 10:00:00", "cam-v", "p1"))
	if want := `p1 is not permitted in zone "visits" (seen Sat 10:00 MSK)`; len(as) != 1 || as[0].Reason != want {
		t.Errorf("alerts %v, want reason %q", as, want)
	}
}

// TestFacilityTimeZone: the same instant is inside a permit in Moscow and
// outside it in Berlin, on the day Berlin moves its clocks.
func TestFacilityTimeZone(t *testing.T) {
	at := time.Date(2025, 3, 30, 0, 30, 0, 0, time.UTC) // 03:30 MSK, 01:30 CET
	for _, c := range []struct {
		zone  string
		alert bool
	}{{"Europe/Moscow", false}, {"Europe/Berlin", true}} {
		cfg := baseConfig()
		cfg.TimeZone = c.zone
		cfg.Persons[0].Permits[1].Windows = []string{"sun 03:00-04:00"}
		cfg.Rules = []Rule{rule("permits", custody.KindOutsidePermit, 0)}
		e := newEngine(t, cfg)
		s := sight("s1", "2025-03-30 00:00:00", "cam-w", "p1")
		s.Time = at
		as, err := e.Process(s)
		if err != nil {
			t.Fatal(err)
		}
		if (len(as) == 1) != c.alert {
			t.Errorf("%s: alerts %v, want alert %v", c.zone, as, c.alert)
		}
	}
}

func TestDecide(t *testing.T) {
	e := newEngine(t, baseConfig())
	as, err := e.Process(sight("s1", "2025-03-14 10:00:00", "cam-c", ""))
	if err != nil || len(as) != 1 {
		t.Fatal(as, err)
	}
	id := as[0].ID
	at := msk("2025-03-14 10:03:00")
	cases := []struct {
		name             string
		id               string
		verdict          State
		by               string
		at               time.Time
		wantIs           error
		wantMsg          string
		wantOpenAfterErr int
	}{
		{name: "bad verdict", id: id, verdict: Open, by: "guard-2", at: at, wantMsg: `verdict "open"`},
		{name: "no one", id: id, verdict: Confirmed, by: " ", at: at, wantMsg: "who decided"},
		{name: "no time", id: id, verdict: Confirmed, by: "guard-2", wantMsg: "time is missing"},
		{name: "unknown id", id: "00000000-0000-4000-8000-000000000000", verdict: Rejected, by: "guard-2", at: at, wantIs: ErrUnknownAlert},
		{name: "confirmed", id: id, verdict: Confirmed, by: "guard-2", at: at},
		{name: "already decided", id: id, verdict: Rejected, by: "guard-3", at: at, wantIs: ErrAlreadyDecided, wantMsg: "confirmed by guard-2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := e.Decide(c.id, c.verdict, c.by, "cleaner from the day shift", c.at)
			if c.wantIs == nil && c.wantMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if a.State != Confirmed || a.Decision == nil || a.Decision.By != "guard-2" || !a.Decision.At.Equal(at) || a.Decision.Note == "" {
					t.Fatalf("decided alert %+v", a)
				}
				if len(e.Open()) != 0 {
					t.Fatalf("still open: %v", e.Open())
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if c.wantIs != nil && !errors.Is(err, c.wantIs) {
				t.Errorf("error %v is not %v", err, c.wantIs)
			}
			if !strings.Contains(err.Error(), c.wantMsg) {
				t.Errorf("error %v does not say %q", err, c.wantMsg)
			}
		})
	}
}

func TestDecidedMemoryIsBounded(t *testing.T) {
	r, err := Compile(baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := New(r, Options{Rand: &counter{}, DecidedMemory: 2})
	var ids []string
	for i := range 3 {
		as, err := e.Process(sight(fmt.Sprint("s", i), fmt.Sprintf("2025-03-14 10:%02d:00", 10*i), "cam-c", ""))
		if err != nil || len(as) != 1 {
			t.Fatal(as, err)
		}
		ids = append(ids, as[0].ID)
		if _, err := e.Decide(as[0].ID, Rejected, "guard", "", msk("2025-03-14 11:00:00")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Decide(ids[0], Rejected, "guard", "", msk("2025-03-14 11:00:00")); !errors.Is(err, ErrUnknownAlert) {
		t.Errorf("oldest decided alert: %v, want it forgotten", err)
	}
	if _, err := e.Decide(ids[2], Rejected, "guard", "", msk("2025-03-14 11:00:00")); !errors.Is(err, ErrAlreadyDecided) {
		t.Errorf("newest decided alert: %v, want it remembered", err)
	}
}

func TestRestore(t *testing.T) {
	cfg := baseConfig()
	before := newEngine(t, cfg)
	a1, _ := before.Process(sight("s1", "2025-03-14 10:00:00", "cam-c", ""))
	a2, _ := before.Process(sight("s2", "2025-03-14 10:00:00", "cam-a1", "p1"))
	d, err := before.Decide(a2[0].ID, Confirmed, "guard-1", "", msk("2025-03-14 10:01:00"))
	if err != nil {
		t.Fatal(err)
	}
	stored := []Alert{a1[0], d}

	after := newEngine(t, cfg)
	if err := after.Restore(stored); err != nil {
		t.Fatal(err)
	}
	if open := after.Open(); len(open) != 1 || open[0].ID != a1[0].ID {
		t.Fatalf("open after restore: %v", open)
	}
	if _, err := after.Decide(d.ID, Rejected, "guard-2", "", msk("2025-03-14 10:02:00")); !errors.Is(err, ErrAlreadyDecided) {
		t.Errorf("deciding a restored decided alert: %v", err)
	}
	// Cooldowns survive: neither sighting repeats its alert a minute on.
	for _, s := range []Sighting{sight("s3", "2025-03-14 10:01:00", "cam-c", ""), sight("s4", "2025-03-14 10:01:00", "cam-a2", "p1")} {
		if as, err := after.Process(s); err != nil || len(as) != 0 {
			t.Errorf("%s after restore: %v %v", s.ID, as, err)
		}
	}
	bad := []struct {
		name string
		a    Alert
	}{
		{"twice", a1[0]},
		{"no id", Alert{Rule: "r", Time: msk("2025-03-14 10:00:00"), State: Open}},
		{"decided without decision", Alert{ID: "x", Rule: "r", Time: msk("2025-03-14 10:00:00"), State: Rejected}},
		{"open with decision", Alert{ID: "y", Rule: "r", Time: msk("2025-03-14 10:00:00"), State: Open, Decision: &Decision{State: Confirmed}}},
	}
	for _, c := range bad {
		if err := after.Restore([]Alert{c.a}); err == nil {
			t.Errorf("%s: restored", c.name)
		}
	}
}

func TestProcessRejectsBadSightings(t *testing.T) {
	e := newEngine(t, baseConfig())
	good := sight("s1", "2025-03-14 10:00:00", "cam-c", "")
	cases := []struct {
		name string
		edit func(*Sighting)
		want string
	}{
		{"no id", func(s *Sighting) { s.ID = "" }, "missing ID"},
		{"no camera or time", func(s *Sighting) { s.Camera, s.Time = "", time.Time{} }, "missing Camera, Time"},
		{"NaN score", func(s *Sighting) { s.Score = float32(math.NaN()) }, "NaN"},
	}
	for _, c := range cases {
		s := good
		c.edit(&s)
		if as, err := e.Process(s); err == nil || !strings.Contains(err.Error(), c.want) || as != nil {
			t.Errorf("%s: %v, %v; want an error saying %q", c.name, as, err, c.want)
		}
	}
	if st := e.Stats(); st.Sightings != 0 || st.Alerts != 0 {
		t.Errorf("bad sightings were counted: %+v", st)
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("entropy source gone") }

func TestRandomFailureRaisesNothing(t *testing.T) {
	r, err := Compile(baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := New(r, Options{Rand: failing{}})
	s := sight("s1", "2025-03-14 10:00:00", "cam-c", "")
	if _, err := e.Process(s); err == nil || !strings.Contains(err.Error(), "entropy source gone") {
		t.Fatalf("error %v", err)
	}
	if st := e.Stats(); st.Open != 0 || st.Alerts != 0 || st.Suppressed != 0 || st.Sightings != 0 {
		t.Fatalf("stats after failure %+v", st)
	}
	// Once the source works again, the same sighting raises its alert: the
	// failure started no cooldown.
	e.rand = rand.Reader
	if as, err := e.Process(s); err != nil || len(as) != 1 {
		t.Fatalf("retry: %v %v", as, err)
	}
}

func TestSetRulesKeepsState(t *testing.T) {
	cfg := baseConfig()
	e := newEngine(t, cfg)
	if as, _ := e.Process(sight("s1", "2025-03-14 10:00:00", "cam-a1", "p1")); len(as) != 1 {
		t.Fatalf("alerts %v", as)
	}
	cfg.Rules[0].Severity = custody.Info // same rule id, new snapshot
	cfg.Persons[1].WatchLists = []string{"escape-risk"}
	r, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.SetRules(r)
	as, _ := e.Process(sight("s2", "2025-03-14 10:01:00", "cam-a1", "p1"))
	if len(as) != 0 {
		t.Errorf("cooldown lost with the new snapshot: %v", as)
	}
	as, _ = e.Process(sight("s3", "2025-03-14 10:01:00", "cam-a1", "p2"))
	if len(as) != 1 || as[0].Severity != custody.Info {
		t.Errorf("new snapshot not applied: %v", as)
	}
	if len(e.Open()) != 2 {
		t.Errorf("open %v", e.Open())
	}
}

func TestUUID(t *testing.T) {
	seen := map[string]bool{}
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for range 1000 {
		id, err := newUUID(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	all := strings.NewReader(strings.Repeat("\xff", 16))
	if id, _ := newUUID(all); id != "ffffffff-ffff-4fff-bfff-ffffffffffff" {
		t.Errorf("version and variant bits: %s", id)
	}
	if _, err := newUUID(strings.NewReader("short")); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short read: %v", err)
	}
}

func BenchmarkProcess(b *testing.B) {
	r, err := Compile(baseConfig())
	if err != nil {
		b.Fatal(err)
	}
	e := New(r, Options{})
	cams := []string{"cam-a1", "cam-a2", "cam-w", "cam-y1", "cam-y2", "cam-v", "cam-c"}
	persons := []string{"p1", "p2", "p3", "p4", "", "p5"}
	t0 := msk("2025-03-14 10:00:00")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s := Sighting{ID: "s", Time: t0.Add(time.Duration(i) * time.Second), Camera: cams[i%len(cams)], PersonID: persons[i%len(persons)], Score: 0.6}
		if _, err := e.Process(s); err != nil {
			b.Fatal(err)
		}
	}
}
