package custody

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// paramsCases are the table of TestParseParams and the seeds of
// FuzzParseParams. field and msg describe the error expected, none for
// parameters that parse to want.
var paramsCases = []struct {
	name       string
	kind       Kind
	raw        string
	want       Params
	field, msg string
}{
	{name: "one watch list", kind: KindWatchList, raw: `{"watch_list": "escape-risk"}`, want: Params{WatchList: "escape-risk"}},
	{name: "any watch list", kind: KindWatchList, raw: ` {} `},
	{name: "keep apart", kind: KindKeepApart, raw: "\n{\"within\":\"90s\"}\t", want: Params{Within: Duration(90 * time.Second)}},
	{name: "no parameters", kind: KindOutsidePermit, raw: `{}`},
	{name: "staff zone without parameters", kind: KindUnknownInStaffZone, raw: `{}`},
	{name: "unknown kind", kind: "watchlist", raw: `{}`, field: "kind", msg: `unknown kind "watchlist"`},
	{name: "watch list with spaces", kind: KindWatchList, raw: `{"watch_list": " escape-risk"}`, field: "watch_list", msg: "leading or trailing spaces"},
	{name: "time limit on a watch list rule", kind: KindWatchList, raw: `{"within": "1m"}`, field: "within", msg: "only rules of kind keep_apart"},
	{name: "watch list on a staff zone rule", kind: KindUnknownInStaffZone, raw: `{"watch_list": "violent"}`, field: "watch_list", msg: "only rules of kind watch_list"},
	{name: "watch list on a keep-apart rule", kind: KindKeepApart, raw: `{"watch_list": "a", "within": "1m"}`, field: "watch_list", msg: "only rules of kind watch_list"},
	{name: "keep apart without time", kind: KindKeepApart, raw: `{}`, field: "within", msg: "missing or not positive"},
	{name: "keep apart backwards in time", kind: KindKeepApart, raw: `{"within": "-1m"}`, field: "within", msg: "missing or not positive"},
	{name: "time as a number", kind: KindKeepApart, raw: `{"within": 60}`, field: "params", msg: "cannot unmarshal number"},
	{name: "time in words", kind: KindKeepApart, raw: `{"within": "a minute"}`, field: "params", msg: `duration "a minute"`},
	{name: "unknown key", kind: KindOutsidePermit, raw: `{"grace": "5m"}`, field: "params", msg: `unknown field "grace"`},
	{name: "second object", kind: KindKeepApart, raw: `{"within": "1m"} {}`, field: "params", msg: "data after the JSON object"},
	{name: "trailing garbage", kind: KindKeepApart, raw: `{"within": "1m"}x`, field: "params", msg: "data after the JSON object"},
	{name: "truncated", kind: KindKeepApart, raw: `{"within": "1m"`, field: "params", msg: "unexpected EOF"},
	{name: "null", kind: KindOutsidePermit, raw: `null`, field: "params", msg: "want a JSON object"},
	{name: "array", kind: KindOutsidePermit, raw: `[{}]`, field: "params", msg: "want a JSON object"},
	{name: "nothing", kind: KindOutsidePermit, raw: ``, field: "params", msg: "want a JSON object"},
}

func TestParseParams(t *testing.T) {
	for _, c := range paramsCases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParseParams(c.kind, []byte(c.raw))
			if c.field == "" {
				if err != nil || p != c.want {
					t.Fatalf("got %+v, %v; want %+v", p, err, c.want)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
				t.Fatalf("error %v, want field %s saying %q", err, c.field, c.msg)
			}
		})
	}
}

func TestKindsAndSeverities(t *testing.T) {
	for _, k := range Kinds() {
		if !k.Valid() {
			t.Errorf("kind %q not valid", k)
		}
	}
	for _, s := range Severities() {
		if !s.Valid() {
			t.Errorf("severity %q not valid", s)
		}
	}
	if Kind("watchlist").Valid() || Severity("high").Valid() || Kind("").Valid() {
		t.Error("an unknown name is valid")
	}
	Kinds()[0] = "changed"
	if !KindWatchList.Valid() {
		t.Error("Kinds returned the package's own list")
	}
}

func TestDurationText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1h30m")); err != nil || time.Duration(d) != 90*time.Minute {
		t.Fatalf("1h30m: %v, %v", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "1h30m0s" {
		t.Fatalf("marshal: %s", b)
	}
	if err := d.UnmarshalText([]byte("90")); err == nil {
		t.Fatal("a number without a unit was accepted")
	}
}
