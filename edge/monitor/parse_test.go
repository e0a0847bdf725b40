package monitor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webui"
)

// The tables below are the parsers' test cases and their fuzz targets'
// seeds.

// jsonBodies are request bodies for the strict JSON decoder, by the
// status they are answered with (0: accepted) and the field named.
var jsonBodies = []struct {
	name, body string
	status     int
	field      string
}{
	{"object", `{"name":"Yard","kind":"yard"}`, 0, ""},
	{"nested", `{"name":"A","tags":["x"],"password":{"old":"a","new":"b"},"count":3,"on":true}`, 0, ""},
	{"truncated", `{"name":`, 400, ""},
	{"not json", `name=Yard`, 400, ""},
	{"two values", `{"name":"A","kind":"yard"} {}`, 400, ""},
	{"trailing garbage", `{"name":"A"} x`, 400, ""},
	{"empty", ``, 400, ""},
	{"wrong type", `{"name":5,"kind":"yard"}`, 400, "name"},
	{"wrong nested type", `{"password":{"old":1}}`, 400, "password.old"},
	{"unknown field", `{"name":"New","nmae":"typo"}`, 400, "nmae"},
	{"unknown nested field", `{"password":{"old":"a","neww":"b"}}`, 400, "neww"},
	{"oversized", `{"name":"` + strings.Repeat("x", maxJSONBody) + `"}`, 413, ""},
}

// jsonTarget is a request shape with every kind of field.
type jsonTarget struct {
	Name     string          `json:"name"`
	Kind     string          `json:"kind"`
	Tags     []string        `json:"tags"`
	Password *passwordChange `json:"password"`
	Count    int             `json:"count"`
	On       *bool           `json:"on"`
}

func decodeBody(body string) (jsonTarget, error) {
	var v jsonTarget
	r := httptest.NewRequest("PUT", "/api/v1/x", strings.NewReader(body))
	err := decodeJSON(httptest.NewRecorder(), r, &v)
	return v, err
}

func TestDecodeJSON(t *testing.T) {
	for _, c := range jsonBodies {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeBody(c.body)
			if c.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ae *webui.Error
			if !errors.As(err, &ae) || ae.Status != c.status || ae.Field != c.field {
				t.Fatalf("%v (%+v), want %d naming %q", err, ae, c.status, c.field)
			}
		})
	}
}

// FuzzDecodeJSON: any body is accepted whole or refused with a 400 or
// 413 whose message names its field; what is accepted survives a round
// trip.
func FuzzDecodeJSON(f *testing.F) {
	for _, c := range jsonBodies {
		f.Add(c.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v, err := decodeBody(body)
		if err != nil {
			var ae *webui.Error
			if !errors.As(err, &ae) {
				t.Fatalf("not an API error: %v", err)
			}
			switch {
			case ae.Status == http.StatusRequestEntityTooLarge && len(body) <= maxJSONBody:
				t.Fatalf("413 for %d bytes", len(body))
			case ae.Status != http.StatusBadRequest && ae.Status != http.StatusRequestEntityTooLarge:
				t.Fatalf("status %d", ae.Status)
			case !namesField(ae):
				t.Fatalf("%q does not name field %q", ae.Msg, ae.Field)
			}
			return
		}
		if len(body) > maxJSONBody || !json.Valid([]byte(body)) {
			t.Fatalf("accepted %d bytes of invalid or oversized JSON", len(body))
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeBody(string(b))
		if err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", v, b, again, err)
		}
	})
}

// namesField says an error's message names its field, as it is or
// quoted.
func namesField(ae *webui.Error) bool {
	return ae.Field == "" || strings.Contains(ae.Msg, ae.Field) || strings.Contains(ae.Msg, strconv.Quote(ae.Field))
}

// pngHeader is the start of a PNG that claims w x h pixels: enough for
// its header to be read, nothing to decode.
func pngHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32([]byte("IHDR"), w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, ihdr...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
	return append(b, make([]byte, 64)...)
}

// bmpHeader is a BMP header that claims w x h pixels.
func bmpHeader(w, h int32) []byte {
	b := []byte("BM")
	b = binary.LittleEndian.AppendUint32(b, 54)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 54)
	b = binary.LittleEndian.AppendUint32(b, 40)
	b = binary.LittleEndian.AppendUint32(b, uint32(w))
	b = binary.LittleEndian.AppendUint32(b, uint32(h))
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 24)
	return append(b, make([]byte, 24)...)
}

func smallImage(encode func(*bytes.Buffer, image.Image) error) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 6))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// images are uploads for the header check, by the status they are
// refused with (0: accepted).
var images = []struct {
	name   string
	data   []byte
	status int
}{
	{"png", smallImage(func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) }), 0},
	{"jpeg", smallImage(func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) }), 0},
	{"bmp", bmpHeader(8, 6), 0},
	{"text", []byte("just some text, not a picture"), 415},
	{"broken jpeg", []byte("\xff\xd8 broken"), 415},
	{"empty", nil, 415},
	{"png bomb", pngHeader(100000, 100000), 413},
	{"png side", pngHeader(20000, 10), 413},
	{"png megapixels", pngHeader(7000, 7000), 413},
	{"png at the limits", pngHeader(webui.MaxImageSide, webui.MaxImagePixels/webui.MaxImageSide), 0},
	{"bmp bomb", bmpHeader(60000, 60000), 413},
	{"png zero", pngHeader(0, 10), 415},
}

func TestCheckImage(t *testing.T) {
	for _, c := range images {
		t.Run(c.name, func(t *testing.T) {
			err := webui.CheckImage(c.data, "photo")
			var ae *webui.Error
			switch {
			case c.status == 0 && err != nil:
				t.Fatal(err)
			case c.status != 0 && (!errors.As(err, &ae) || ae.Status != c.status || ae.Field != "photo"):
				t.Fatalf("%v, want %d naming photo", err, c.status)
			}
		})
	}
}

// FuzzCheckImage: the header check accepts only images within the limits
// and refuses everything else with a 413 or 415 naming the field.
func FuzzCheckImage(f *testing.F) {
	for _, c := range images {
		f.Add(c.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := webui.CheckImage(data, "photo")
		cfg, _, cfgErr := image.DecodeConfig(bytes.NewReader(data))
		within := cfgErr == nil && cfg.Width > 0 && cfg.Height > 0 && cfg.Width <= webui.MaxImageSide && cfg.Height <= webui.MaxImageSide &&
			int64(cfg.Width)*int64(cfg.Height) <= webui.MaxImagePixels
		if err == nil {
			if !within {
				t.Fatalf("accepted %+v (%v)", cfg, cfgErr)
			}
			return
		}
		var ae *webui.Error
		if !errors.As(err, &ae) || ae.Field != "photo" {
			t.Fatalf("%v does not name the field", err)
		}
		if within || (ae.Status != http.StatusRequestEntityTooLarge && ae.Status != http.StatusUnsupportedMediaType) {
			t.Fatalf("refused %+v with %d: %v", cfg, ae.Status, err)
		}
	})
}

// boundary is the multipart boundary of the upload cases.
const boundary = "dozor-test-boundary"

type part struct{ field, file, data string }

func multipartOf(parts ...part) string {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary(boundary); err != nil {
		panic(err)
	}
	for _, p := range parts {
		var pw interface{ Write([]byte) (int, error) }
		var err error
		if p.file != "" {
			pw, err = w.CreateFormFile(p.field, p.file)
		} else {
			pw, err = w.CreateFormField(p.field)
		}
		if err != nil {
			panic(err)
		}
		pw.Write([]byte(p.data))
	}
	w.Close()
	return b.String()
}

// Limits of the upload cases, small enough for a fuzzer to cross.
const (
	fuzzFiles = 2
	fuzzTotal = 4 << 10
)

// uploads are multipart bodies, by the status they are refused with
// (0: accepted) and the field named.
var uploads = []struct {
	name, body string
	status     int
	field      string
}{
	{"one file", multipartOf(part{"photo", "a.png", "data"}), 0, ""},
	{"files and a value", multipartOf(part{"photo", "a.png", "1"}, part{"photo", `..\dir/b.png`, "2"}, part{"camera", "", "cam-1"}), 0, ""},
	{"no parts", multipartOf(), 0, ""},
	{"too many files", multipartOf(part{"photo", "a", "1"}, part{"photo", "b", "2"}, part{"photo", "c", "3"}), 413, "photo"},
	{"too large", multipartOf(part{"photo", "a", strings.Repeat("x", fuzzTotal)}), 413, ""},
	{"long value", multipartOf(part{"camera", "", strings.Repeat("c", webui.MaxFormValue+1)}), 400, "camera"},
	{"other file field", multipartOf(part{"image", "a.png", "1"}), 400, "image"},
	{"truncated", "--" + boundary + "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a\"\r\n\r\nabc", 400, ""},
	{"not multipart", "just text", 400, ""},
}

func readFuzzUploads(body string) (*webui.UploadForm, error) {
	r := httptest.NewRequest("POST", "/api/v1/persons/P-1/photos", strings.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	r.ContentLength = -1 // the reader's own cap must hold
	return webui.ReadUploads(httptest.NewRecorder(), r, "photo", fuzzFiles, fuzzTotal)
}

func TestReadUploads(t *testing.T) {
	for _, c := range uploads {
		t.Run(c.name, func(t *testing.T) {
			f, err := readFuzzUploads(c.body)
			if c.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range f.Files {
					if strings.ContainsAny(u.Name, `/\`) {
						t.Errorf("file name %q keeps its path", u.Name)
					}
				}
				return
			}
			var ae *webui.Error
			if !errors.As(err, &ae) || ae.Status != c.status || ae.Field != c.field {
				t.Fatalf("%v (%+v), want %d naming %q", err, ae, c.status, c.field)
			}
		})
	}
}

// FuzzReadUploads: any body is read within the limits or refused with a
// 400, 413 or 415; accepted file names are bare and printable.
func FuzzReadUploads(f *testing.F) {
	for _, c := range uploads {
		f.Add(c.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fm, err := readFuzzUploads(body)
		if err != nil {
			var ae *webui.Error
			if !errors.As(err, &ae) || !slices.Contains([]int{400, 413, 415}, ae.Status) {
				t.Fatalf("%v: not a 400, 413 or 415", err)
			}
			if !namesField(ae) {
				t.Fatalf("%q does not name field %q", ae.Msg, ae.Field)
			}
			return
		}
		if len(fm.Files) > fuzzFiles {
			t.Fatalf("%d files accepted", len(fm.Files))
		}
		n := 0
		for _, u := range fm.Files {
			n += len(u.Data)
			if u.Name == "" || len(u.Name) > 128 || strings.ContainsAny(u.Name, "/\x00\n\r") {
				t.Fatalf("file name %q", u.Name)
			}
		}
		for k, v := range fm.Values {
			n += len(v)
			if len(v) > webui.MaxFormValue {
				t.Fatalf("value %s of %d bytes", k, len(v))
			}
		}
		if n > fuzzTotal {
			t.Fatalf("%d bytes accepted", n)
		}
	})
}

// queries are query strings of the list endpoints, by the field their
// refusal names ("" : accepted).
var queries = []struct {
	name, query string
	sightings   string
	audit       string
	alerts      string
}{
	{"none", "", "", "", ""},
	{"limit", "limit=10", "", "", ""},
	{"limit zero", "limit=0", "limit", "limit", "limit"},
	{"limit over", "limit=501", "limit", "", "limit"},
	{"limit word", "limit=ten", "limit", "limit", "limit"},
	{"range", "from=2026-03-01T08:00:00Z&to=2026-03-01T09:00:00%2B01:00", "to", "to", ""},
	{"range forward", "from=2026-03-01T08:00:00Z&to=2026-03-01T09:00:00Z", "", "", ""},
	{"bad from", "from=yesterday", "from", "from", ""},
	{"bad to", "to=2026-13-01T00:00:00Z", "to", "to", ""},
	{"unknown", "unknown=true&camera=cam-1&zone=Z-YARD", "", "", ""},
	{"unknown and person", "unknown=true&person=P-1", "unknown", "", ""},
	{"unknown maybe", "unknown=maybe", "unknown", "", ""},
	{"cursor", "before=MTc3MjM1MjAwMDAwMC8wMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDE", "", "", "before"},
	{"long cursor", "before=" + strings.Repeat("A", maxCursor+1), "before", "", "before"},
	{"alerts before", "before=2026-03-01T08:00:00Z&state=all", "", "", ""},
	{"state", "state=closed", "", "", "state"},
	{"after", "after=42&actor=admin&action=alert.&object=person:", "", "", ""},
	{"after negative", "after=-1", "", "after", ""},
}

func queryField(err error) (string, error) {
	if err == nil {
		return "", nil
	}
	var ae *webui.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Field == "" || !namesField(ae) {
		return "", fmt.Errorf("%v: not a 400 naming its field", err)
	}
	return ae.Field, nil
}

func TestParseQueries(t *testing.T) {
	for _, c := range queries {
		t.Run(c.name, func(t *testing.T) {
			q, err := url.ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct {
				what, want string
				err        error
			}{
				{"sightings", c.sightings, second(parseSightingQuery(q))},
				{"audit", c.audit, second(parseAuditQuery(q))},
				{"alerts", c.alerts, second(parseAlertQuery(q))},
			} {
				got, err := queryField(p.err)
				if err != nil || got != p.want {
					t.Errorf("%s: field %q, want %q (%v)", p.what, got, p.want, err)
				}
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func timeParam(v url.Values, name string, t time.Time) {
	if !t.IsZero() {
		v.Set(name, t.Format(time.RFC3339Nano))
	}
}

func sameTime(a, b time.Time) bool { return a.Equal(b) && a.IsZero() == b.IsZero() }

// fuzzQuery runs a parser on a fuzzed query string: a refusal must be a
// 400 naming one of fields, and what is accepted must read back the same
// from its own query string.
func fuzzQuery[Q any](f *testing.F, fields []string, parse func(url.Values) (Q, error), values func(Q) url.Values, same func(a, b Q) bool) {
	for _, c := range queries {
		f.Add(c.query)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := parse(q)
		field, ferr := queryField(err)
		if ferr != nil {
			t.Fatal(ferr)
		}
		if err != nil {
			if !slices.Contains(fields, field) {
				t.Fatalf("refusal names %q, not a parameter", field)
			}
			return
		}
		again, err := parse(values(got))
		if err != nil || !same(got, again) {
			t.Fatalf("round trip: %+v -> %v -> %+v, %v", got, values(got), again, err)
		}
	})
}

func FuzzSightingQuery(f *testing.F) {
	fuzzQuery(f, []string{"limit", "from", "to", "before", "unknown"}, parseSightingQuery,
		func(s store.SightingQuery) url.Values {
			v := url.Values{"person": {s.PersonID}, "camera": {s.CameraID}, "zone": {s.ZoneID}, "before": {s.Before},
				"limit": {strconv.Itoa(s.Limit)}, "unknown": {strconv.FormatBool(s.UnknownOnly)}}
			timeParam(v, "from", s.From)
			timeParam(v, "to", s.To)
			return v
		},
		func(a, b store.SightingQuery) bool {
			if a.Limit < 1 || a.Limit > 500 || (!a.From.IsZero() && !a.To.IsZero() && !a.From.Before(a.To)) {
				return false
			}
			return sameTime(a.From, b.From) && sameTime(a.To, b.To) && a.PersonID == b.PersonID && a.CameraID == b.CameraID &&
				a.ZoneID == b.ZoneID && a.Before == b.Before && a.Limit == b.Limit && a.UnknownOnly == b.UnknownOnly
		})
}

func FuzzAuditQuery(f *testing.F) {
	fuzzQuery(f, []string{"limit", "after", "from", "to"}, parseAuditQuery,
		func(a store.AuditQuery) url.Values {
			v := url.Values{"actor": {a.Actor}, "action": {a.Action}, "object": {a.Object},
				"after": {strconv.FormatUint(a.AfterSeq, 10)}, "limit": {strconv.Itoa(a.Limit)}}
			timeParam(v, "from", a.From)
			timeParam(v, "to", a.To)
			return v
		},
		func(a, b store.AuditQuery) bool {
			if a.Limit < 1 || a.Limit > 1000 {
				return false
			}
			return sameTime(a.From, b.From) && sameTime(a.To, b.To) && a.Actor == b.Actor && a.Action == b.Action &&
				a.Object == b.Object && a.AfterSeq == b.AfterSeq && a.Limit == b.Limit
		})
}

func FuzzAlertQuery(f *testing.F) {
	fuzzQuery(f, []string{"state", "limit", "before"}, parseAlertQuery,
		func(a store.AlertQuery) url.Values {
			state := string(a.State)
			if state == "" {
				state = "all"
			}
			v := url.Values{"state": {state}, "limit": {strconv.Itoa(a.Limit)}}
			timeParam(v, "before", a.Before)
			return v
		},
		func(a, b store.AlertQuery) bool {
			return a.Limit >= 1 && a.Limit <= 500 && a.State == b.State && a.Limit == b.Limit && sameTime(a.Before, b.Before)
		})
}
