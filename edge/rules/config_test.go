package rules

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
)

// baseConfig is a small facility in Moscow: a cell block, a workshop, a
// yard with two cameras, a visits room and a staff-only control room.
func baseConfig() Config {
	return Config{
		Facility: "ik-7",
		TimeZone: "Europe/Moscow",
		Zones: []Zone{
			{ID: "block-a", Name: "Block A"},
			{ID: "workshop"},
			{ID: "yard"},
			{ID: "visits"},
			{ID: "control-room", StaffOnly: true},
		},
		Cameras: []Camera{
			{ID: "cam-a1", Zone: "block-a"},
			{ID: "cam-a2", Zone: "block-a"},
			{ID: "cam-w", Zone: "workshop"},
			{ID: "cam-y1", Zone: "yard"},
			{ID: "cam-y2", Zone: "yard"},
			{ID: "cam-v", Zone: "visits"},
			{ID: "cam-c", Zone: "control-room"},
		},
		Persons: []Person{
			{ID: "p1", WatchLists: []string{"escape-risk"}, Permits: []Permit{
				{Zones: []string{"block-a", "yard"}},
				{Zones: []string{"workshop"}, Windows: []string{"mon-fri 08:00-12:00", "mon-fri 13:00-17:00"}},
			}},
			{ID: "p2", WatchLists: []string{"violent"}},
			{ID: "p3", Permits: []Permit{{Zones: []string{"block-a", "yard", "workshop"}}}},
			{ID: "p4"},
		},
		KeepApart: []Order{{ID: "ka-1", Persons: []string{"p1", "p3"}, Note: "court order 12/2024"}},
		Rules: []Rule{
			{ID: "watch", Kind: custody.KindWatchList, WatchList: "escape-risk", Severity: custody.Critical, Cooldown: custody.Duration(10 * time.Minute)},
			{ID: "permits", Kind: custody.KindOutsidePermit, Severity: custody.Warning, Cooldown: custody.Duration(15 * time.Minute)},
			{ID: "apart", Kind: custody.KindKeepApart, Within: custody.Duration(time.Minute), Severity: custody.Critical, Cooldown: custody.Duration(5 * time.Minute)},
			{ID: "staff", Kind: custody.KindUnknownInStaffZone, Severity: custody.Warning, Cooldown: custody.Duration(2 * time.Minute)},
		},
	}
}

func mustJSON(t testing.TB, c Config) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// configCases are the table of TestParse and the seeds of FuzzParse. Each
// either edits the base config or gives raw JSON; field and msg describe
// the error expected, none for a valid config.
type configCase struct {
	name       string
	edit       func(c *Config)
	raw        string
	field, msg string
}

var configCases = []configCase{
	{name: "base"},
	{name: "empty lists", edit: func(c *Config) {
		c.Cameras, c.Persons, c.KeepApart, c.Rules = nil, nil, nil, nil
	}},
	{name: "missing facility", edit: func(c *Config) { c.Facility = "" }, field: "facility", msg: "missing"},
	{name: "missing time zone", edit: func(c *Config) { c.TimeZone = "" }, field: "time_zone", msg: "missing"},
	{name: "unknown time zone", edit: func(c *Config) { c.TimeZone = "Mars/Olympus_Mons" }, field: "time_zone", msg: "unknown time zone"},
	{name: "machine time zone", edit: func(c *Config) { c.TimeZone = "Local" }, field: "time_zone", msg: "depends on the machine"},
	{name: "bad kind", edit: func(c *Config) { c.Rules[1].Kind = "watchlist" }, field: "rules[1].kind", msg: `unknown kind "watchlist"`},
	{name: "bad severity", edit: func(c *Config) { c.Rules[0].Severity = "urgent" }, field: "rules[0].severity", msg: `unknown severity "urgent"`},
	{name: "negative cooldown", edit: func(c *Config) { c.Rules[2].Cooldown = custody.Duration(-time.Minute) }, field: "rules[2].cooldown", msg: "negative duration -1m0s"},
	{name: "unknown zone of camera", edit: func(c *Config) { c.Cameras[3].Zone = "yrad" }, field: "cameras[3].zone", msg: `unknown zone "yrad"`},
	{name: "camera without zone", edit: func(c *Config) { c.Cameras[0].Zone = "" }, field: "cameras[0].zone", msg: "missing"},
	{name: "unknown zone in scope", edit: func(c *Config) { c.Rules[0].Scope.Zone = "roof" }, field: "rules[0].scope.zone", msg: `unknown zone "roof"`},
	{name: "unknown camera in scope", edit: func(c *Config) { c.Rules[0].Scope.Camera = "cam-9" }, field: "rules[0].scope.camera", msg: `unknown camera "cam-9"`},
	{name: "scope of camera and zone", edit: func(c *Config) { c.Rules[0].Scope = Scope{Camera: "cam-y1", Zone: "yard"} }, field: "rules[0].scope", msg: "names both"},
	{name: "unknown zone in permit", edit: func(c *Config) { c.Persons[0].Permits[0].Zones[1] = "garden" }, field: "persons[0].permits[0].zones[1]", msg: `unknown zone "garden"`},
	{name: "permit without zones", edit: func(c *Config) { c.Persons[2].Permits[0].Zones = nil }, field: "persons[2].permits[0].zones", msg: "empty"},
	{name: "bad hour in window", edit: func(c *Config) { c.Persons[0].Permits[1].Windows[1] = "25:00-26:00" }, field: "persons[0].permits[1].windows[1]", msg: "hour 25 is out of range"},
	{name: "bad day in window", edit: func(c *Config) { c.Persons[0].Permits[1].Windows[0] = "mon-fry 08:00-12:00" }, field: "persons[0].permits[1].windows[0]", msg: `unknown day "fry"`},
	{name: "overlapping windows in a permit", edit: func(c *Config) { c.Persons[0].Permits[1].Windows[1] = "fri 11:00-17:00" }, field: "persons[0].permits[1].windows[1]", msg: "overlaps persons[0].permits[1].windows[0]"},
	{name: "overlapping permits of one zone", edit: func(c *Config) {
		c.Persons[0].Permits = append(c.Persons[0].Permits, Permit{Zones: []string{"workshop"}, Windows: []string{"wed 16:00-18:00"}})
	}, field: "persons[0].permits[2].windows[0]", msg: `overlaps persons[0].permits[1].windows[1] for zone "workshop"`},
	{name: "zone permitted always and in a window", edit: func(c *Config) {
		c.Persons[0].Permits = append(c.Persons[0].Permits, Permit{Zones: []string{"visits", "yard"}, Windows: []string{"sat 10:00-12:00"}})
	}, field: "persons[0].permits[2].windows[0]", msg: `overlaps persons[0].permits[0] for zone "yard"`},
	{name: "disjoint permits of one zone", edit: func(c *Config) {
		c.Persons[0].Permits = append(c.Persons[0].Permits, Permit{Zones: []string{"workshop"}, Windows: []string{"sat 10:00-12:00"}})
	}},
	{name: "zone twice in a permit", edit: func(c *Config) { c.Persons[2].Permits[0].Zones[2] = "yard" }, field: "persons[2].permits[0].zones[2]", msg: "listed twice"},
	{name: "duplicate zone", edit: func(c *Config) { c.Zones = append(c.Zones, Zone{ID: "yard"}) }, field: "zones[5].id", msg: `"yard" is defined twice (first at zones[2].id)`},
	{name: "duplicate camera", edit: func(c *Config) { c.Cameras[1].ID = "cam-a1" }, field: "cameras[1].id", msg: "defined twice"},
	{name: "duplicate person", edit: func(c *Config) { c.Persons[3].ID = "p2" }, field: "persons[3].id", msg: "defined twice"},
	{name: "duplicate rule id", edit: func(c *Config) { c.Rules[3].ID = "watch" }, field: "rules[3].id", msg: "defined twice"},
	{name: "rule repeated", edit: func(c *Config) {
		r := c.Rules[0]
		r.ID, r.Severity = "watch-2", custody.Info
		c.Rules = append(c.Rules, r)
	}, field: "rules[4]", msg: "same kind, scope and parameters as rules[0]"},
	{name: "same kind in another scope", edit: func(c *Config) {
		r := c.Rules[0]
		r.ID, r.Scope = "watch-yard", Scope{Zone: "yard"}
		c.Rules = append(c.Rules, r)
	}},
	{name: "identifier with spaces", edit: func(c *Config) { c.Zones[0].ID = "block-a " }, field: "zones[0].id", msg: "leading or trailing spaces"},
	{name: "empty watch list name", edit: func(c *Config) { c.Persons[1].WatchLists = []string{""} }, field: "persons[1].watch_lists[0]", msg: "missing"},
	{name: "keep-apart of unknown person", edit: func(c *Config) { c.KeepApart[0].Persons[1] = "p9" }, field: "keep_apart[0].persons[1]", msg: `unknown person "p9"`},
	{name: "keep-apart of one person", edit: func(c *Config) { c.KeepApart[0].Persons[1] = "p1" }, field: "keep_apart[0].persons", msg: "twice"},
	{name: "keep-apart of three", edit: func(c *Config) { c.KeepApart[0].Persons = []string{"p1", "p2", "p3"} }, field: "keep_apart[0].persons", msg: "has 3 persons"},
	{name: "keep-apart given twice", edit: func(c *Config) {
		c.KeepApart = append(c.KeepApart, Order{ID: "ka-2", Persons: []string{"p3", "p1"}})
	}, field: "keep_apart[1].persons", msg: "already kept apart by keep_apart[0]"},
	{name: "keep-apart without time", edit: func(c *Config) { c.Rules[2].Within = 0 }, field: "rules[2].within", msg: "missing or not positive"},
	{name: "time limit on another kind", edit: func(c *Config) { c.Rules[0].Within = custody.Duration(time.Minute) }, field: "rules[0].within", msg: "only rules of kind keep_apart"},
	{name: "watch list on another kind", edit: func(c *Config) { c.Rules[1].WatchList = "escape-risk" }, field: "rules[1].watch_list", msg: "only rules of kind watch_list"},
	{name: "watch list with spaces", edit: func(c *Config) { c.Rules[0].WatchList = "escape-risk " }, field: "rules[0].watch_list", msg: "leading or trailing spaces"},
	{name: "staff rule on an open zone", edit: func(c *Config) { c.Rules[3].Scope.Zone = "yard" }, field: "rules[3].scope", msg: `zone "yard" is not staff-only`},
	{name: "staff rule on an open camera", edit: func(c *Config) { c.Rules[3].Scope.Camera = "cam-y1" }, field: "rules[3].scope", msg: `zone "yard" is not staff-only`},
	{name: "staff rule without staff zones", edit: func(c *Config) { c.Zones[4].StaffOnly = false }, field: "rules[3].scope", msg: "no zone is staff_only"},
	{name: "unknown key", raw: `{"facility": "ik-7", "time_zone": "UTC", "zones": [], "rules": [{"id": "r", "kind": "watch_list", "severity": "info", "cooldwn": "1m"}]}`, msg: `unknown field "cooldwn"`},
	{name: "second document", raw: `{"facility": "ik-7", "time_zone": "UTC"} {}`, msg: "data after the JSON object"},
	{name: "cooldown as a number", raw: `{"facility": "ik-7", "time_zone": "UTC", "rules": [{"id": "r", "kind": "watch_list", "severity": "info", "cooldown": 60}]}`, msg: "cannot unmarshal number"},
	{name: "cooldown in words", raw: `{"facility": "ik-7", "time_zone": "UTC", "rules": [{"id": "r", "kind": "watch_list", "severity": "info", "cooldown": "ten minutes"}]}`, msg: `duration "ten minutes"`},
	{name: "not an object", raw: `[1, 2]`, msg: "cannot unmarshal array"},
	{name: "truncated", raw: `{"facility": "ik-7", "zones": [{"id": "a"}`, msg: "unexpected EOF"},
	{name: "minimal", raw: `{"facility": "f", "time_zone": "UTC"}`},
}

func (c configCase) input(t testing.TB) []byte {
	if c.raw != "" {
		return []byte(c.raw)
	}
	cfg := baseConfig()
	if c.edit != nil {
		c.edit(&cfg)
	}
	return mustJSON(t, cfg)
}

func TestParse(t *testing.T) {
	for _, c := range configCases {
		t.Run(c.name, func(t *testing.T) {
			data := c.input(t)
			cfg, err := Parse(data)
			if c.msg == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if _, err := Compile(cfg); err != nil {
					t.Fatalf("parsed but does not compile: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error with %q", c.msg)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %q does not say %q", err, c.msg)
			}
			if c.field == "" {
				return
			}
			// The field must be named by one of the joined errors.
			var found bool
			for _, e := range unjoin(err) {
				var fe *custody.FieldError
				if errors.As(e, &fe) && fe.Field == c.field && strings.Contains(fe.Msg, c.msg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no error names field %s with %q; got:\n%v", c.field, c.msg, err)
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := baseConfig()
	c.TimeZone = "Nowhere/City"
	c.Rules[0].Kind = "bogus"
	c.Rules[1].Cooldown = custody.Duration(-time.Second)
	c.Cameras[0].Zone = "attic"
	errs := unjoin(c.Validate())
	var fields []string
	for _, e := range errs {
		var fe *custody.FieldError
		if errors.As(e, &fe) {
			fields = append(fields, fe.Field)
		}
	}
	want := []string{"time_zone", "cameras[0].zone", "rules[0].kind", "rules[1].cooldown"}
	if !reflect.DeepEqual(fields, want) {
		t.Fatalf("fields %v, want %v", fields, want)
	}
}

// TestDocExample keeps the example in the package documentation valid.
func TestDocExample(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var js strings.Builder
	for line := range strings.SplitSeq(string(src), "\n") {
		if rest, ok := strings.CutPrefix(line, "//\t"); ok {
			js.WriteString(rest + "\n")
		}
	}
	cfg, err := Parse([]byte(js.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	if len(cfg.Rules) != 4 || cfg.Persons[0].Permits[1].Windows[0] != "mon-fri 08:00-17:00" {
		t.Fatalf("example parsed as %+v", cfg)
	}
}
