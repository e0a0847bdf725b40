package dashboard

import (
	"errors"
	"github.com/dozor-edge/dozor/internal/webui"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// readAll reads raw as the API's handlers read their parameters, every
// reader once, and returns the first error.
func readAll(raw string) error {
	r := httptest.NewRequest(http.MethodGet, "/api/v1/x", nil)
	r.URL.RawQuery = raw
	q := query{r: r}
	q.str("person", 128)
	q.str("cursor", 256)
	q.int("limit", 100, 1, 1000)
	q.int("hours", 24, 1, 24*90)
	q.time("from")
	q.time("to")
	q.bool("undecided")
	return q.err
}

var queryCases = []struct {
	name, raw string
	field     string // the parameter the error names; "" when valid
}{
	{"empty", "", ""},
	{"all valid", "person=P-1&cursor=abc&limit=5&hours=48&from=2026-01-02T03:04:05Z&to=2026-01-02T03:04:05.5%2B03:00&undecided=true", ""},
	{"undecided 0", "undecided=0", ""},
	{"person too long", "person=" + strings.Repeat("x", 129), "person"},
	{"cursor too long", "cursor=" + strings.Repeat("c", 257), "cursor"},
	{"limit not a number", "limit=ten", "limit"},
	{"limit zero", "limit=0", "limit"},
	{"limit too big", "limit=1001", "limit"},
	{"limit overflow", "limit=99999999999999999999", "limit"},
	{"hours negative", "hours=-1", "hours"},
	{"from not RFC 3339", "from=yesterday", "from"},
	{"to date only", "to=2026-01-02", "to"},
	{"undecided yes", "undecided=yes", "undecided"},
	{"first bad wins", "limit=x&from=y", "limit"},
	{"bad escape", "person=%zz", ""},
}

// TestQueryParams checks the query readers against the table: a bad
// value is a 400 that names its parameter.
func TestQueryParams(t *testing.T) {
	for _, tc := range queryCases {
		t.Run(tc.name, func(t *testing.T) {
			err := readAll(tc.raw)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			var ae *webui.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Field != tc.field {
				t.Fatalf("error %#v, want a 400 naming %s", err, tc.field)
			}
		})
	}
}

// FuzzDashboardQuery feeds any query string to the readers: they never
// panic, and an error is a 400 that names, in its field and its message,
// a parameter the query holds.
func FuzzDashboardQuery(f *testing.F) {
	for _, tc := range queryCases {
		f.Add(tc.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := readAll(raw)
		if err == nil {
			return
		}
		var ae *webui.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Field == "" {
			t.Fatalf("query %q: error %#v, want a 400 naming the parameter", raw, err)
		}
		if !strings.Contains(ae.Msg, ae.Field) {
			t.Fatalf("query %q: message %q does not name %s", raw, ae.Msg, ae.Field)
		}
		v, _ := url.ParseQuery(raw)
		if !v.Has(ae.Field) {
			t.Fatalf("query %q: error names %s, which it does not hold", raw, ae.Field)
		}
	})
}
