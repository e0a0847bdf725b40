package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Version is the payload major version this package writes and reads.
const Version = 1

// Limits every decoder enforces.
const (
	// MaxPayloadLen bounds a whole message; a sighting or alert with the
	// largest crop (base64 makes 64 KiB into about 87 KiB) fits with room.
	MaxPayloadLen = 128 << 10
	// MaxCropLen bounds a face crop, counted in JPEG bytes.
	MaxCropLen = 64 << 10
	// MaxClockSkew is how far ahead of the receiver's clock a timestamp
	// may be. Sites keep time by NTP; more than this means a wrong clock.
	MaxClockSkew = 10 * time.Minute
	// MaxSeq keeps sequence numbers exact in JavaScript (the regional
	// dashboard) and in any reader that holds JSON numbers as float64.
	MaxSeq = 1<<53 - 1
	// MaxCount bounds camera counts and similar small numbers.
	MaxCount = 100_000
)

// Epoch is the earliest timestamp accepted: a box whose clock was never set
// reports 1970, and its events must not be filed as ancient.
var Epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// ErrUnsupportedVersion is wrapped by decode errors for a "v" this reader
// does not know. ErrTooLarge is wrapped when a payload or crop exceeds its
// limit.
var (
	ErrUnsupportedVersion = errors.New("unsupported payload version")
	ErrTooLarge           = errors.New("too large")
)

// FieldError is every validation and decode error of this package. Field
// is the JSON name ("evidence.score"); it is empty for faults of the whole
// payload (size, JSON syntax).
type FieldError struct {
	Payload string // "sighting", "alert", ...
	Field   string
	Reason  string
	Err     error // ErrUnsupportedVersion, ErrTooLarge or nil
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Payload + ": " + e.Reason
	}
	return e.Payload + ": " + e.Field + ": " + e.Reason
}

func (e *FieldError) Unwrap() error { return e.Err }

// Payload is implemented by every payload type.
type Payload interface {
	// TopicKind is the kind of topic the payload is published on.
	TopicKind() Kind
	// Validate checks every field; it cannot know the receiver's clock, so
	// the check against future timestamps is left to the decoders.
	Validate() error
}

// Encode validates p and marshals it with its "v" field.
func Encode(p Payload) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%v: encode: %w", p.TopicKind(), err)
	}
	if max := MaxPayloadLenOf(p.TopicKind()); len(b) > max {
		return nil, &FieldError{Payload: p.TopicKind().String(), Reason: fmt.Sprintf("encoded to %d bytes, larger than %d", len(b), max), Err: ErrTooLarge}
	}
	return b, nil
}

// withVersion marshals a payload's plain struct with "v" as its first key.
// plain must be a struct value whose type has no MarshalJSON of its own.
func withVersion(plain any) ([]byte, error) {
	body, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("payload did not marshal to an object")
	}
	out := make([]byte, 0, len(body)+8)
	out = append(out, `{"v":`...)
	out = append(out, fmt.Sprint(Version)...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// decode is the strict reader shared by every Decode function: size limit,
// one JSON object, no duplicate keys (two parsers could disagree on which
// one counts), known major version, and each known field decoded on its
// own so that an error names the field. Keys match exactly; unknown keys
// are ignored, which is what lets a v1 reader accept a newer v1 writer.
func decode(name string, data []byte, dst any) error {
	return decodeLimit(name, data, dst, MaxPayloadLen)
}

// decodeLimit is decode with the size limit of a kind that has its own.
func decodeLimit(name string, data []byte, dst any, max int) error {
	if len(data) > max {
		return &FieldError{Payload: name, Reason: fmt.Sprintf("%d bytes, larger than %d", len(data), max), Err: ErrTooLarge}
	}
	raw, err := objectFields(data)
	if err != nil {
		return &FieldError{Payload: name, Reason: err.Error()}
	}
	v, ok := raw["v"]
	if !ok {
		return &FieldError{Payload: name, Field: "v", Reason: "missing; every payload carries its major version"}
	}
	var ver int64
	if err := json.Unmarshal(v, &ver); err != nil {
		return &FieldError{Payload: name, Field: "v", Reason: fmt.Sprintf("want an integer, got %s", clip(string(v)))}
	}
	if ver != Version {
		return &FieldError{Payload: name, Field: "v", Reason: fmt.Sprintf("major version %d; this reader knows %d", ver, Version), Err: ErrUnsupportedVersion}
	}
	return decodeStruct(name, "", raw, reflect.ValueOf(dst).Elem())
}

// objectFields splits one JSON object into its members, refusing
// duplicates and anything after the closing brace.
func objectFields(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", jsonReason(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want a JSON object, got %s", describeToken(tok))
	}
	fields := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", jsonReason(err))
		}
		key, _ := tok.(string) // the decoder only yields strings as keys
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", jsonReason(err))
		}
		if _, dup := fields[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", clip(key))
		}
		fields[key] = val
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("invalid JSON: %v", jsonReason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON: data after the object")
	}
	return fields, nil
}

var (
	timeType = reflect.TypeFor[time.Time]()
	idType   = reflect.TypeFor[ID]()
	byteType = reflect.TypeFor[[]byte]()
)

func decodeStruct(name, prefix string, raw map[string]json.RawMessage, v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if key == "" || key == "-" || !sf.IsExported() {
			continue
		}
		val, ok := raw[key]
		if !ok {
			continue
		}
		field := prefix + key
		fv := v.Field(i)
		if sf.Type.Kind() == reflect.Struct && sf.Type != timeType && sf.Type != idType {
			if string(val) == "null" {
				continue
			}
			sub, err := objectFields(val)
			if err != nil {
				return &FieldError{Payload: name, Field: field, Reason: err.Error()}
			}
			if err := decodeStruct(name, field+".", sub, fv); err != nil {
				return err
			}
			continue
		}
		if isStructSlice(sf.Type) {
			if err := decodeStructSlice(name, field, val, fv); err != nil {
				return err
			}
			continue
		}
		if err := json.Unmarshal(val, fv.Addr().Interface()); err != nil {
			return &FieldError{Payload: name, Field: field, Reason: fieldReason(sf.Type, val, err)}
		}
	}
	return nil
}

func isStructSlice(t reflect.Type) bool {
	if t.Kind() != reflect.Slice {
		return false
	}
	e := t.Elem()
	return e.Kind() == reflect.Struct && e != timeType && e != idType
}

// decodeStructSlice reads an array of objects with the same strictness
// as the payload itself; an error names the element ("templates[2].vec").
func decodeStructSlice(name, field string, val json.RawMessage, fv reflect.Value) error {
	if string(val) == "null" {
		return nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(val, &elems); err != nil {
		return &FieldError{Payload: name, Field: field, Reason: fmt.Sprintf("want an array of objects, got %s", clip(string(val)))}
	}
	out := reflect.MakeSlice(fv.Type(), len(elems), len(elems))
	for i, e := range elems {
		ef := fmt.Sprintf("%s[%d]", field, i)
		sub, err := objectFields(e)
		if err != nil {
			return &FieldError{Payload: name, Field: ef, Reason: err.Error()}
		}
		if err := decodeStruct(name, ef+".", sub, out.Index(i)); err != nil {
			return err
		}
	}
	fv.Set(out)
	return nil
}

// fieldReason turns a decode error into words a site engineer can act on.
func fieldReason(t reflect.Type, val json.RawMessage, err error) string {
	got := clip(string(val))
	switch {
	case t == timeType:
		return fmt.Sprintf("want an RFC 3339 time such as \"2025-06-01T12:00:00.250Z\", got %s", got)
	case t == idType:
		return fmt.Sprintf("%v, got %s", errIDForm, got)
	case t == byteType:
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return fmt.Sprintf("want standard base64: bad data at byte %d", int64(ce))
		}
		return fmt.Sprintf("want a base64 string, got %s", got)
	}
	want := "a " + t.Kind().String()
	switch t.Kind() {
	case reflect.Uint64, reflect.Uint32, reflect.Uint:
		want = "a non-negative integer"
	case reflect.Int, reflect.Int64:
		want = "an integer"
	case reflect.Float64, reflect.Float32:
		want = "a finite number"
	case reflect.Slice:
		if k := t.Elem().Kind(); k == reflect.Float32 || k == reflect.Float64 {
			want = "an array of finite numbers"
		} else if k == reflect.String {
			want = "an array of strings"
		}
	case reflect.String:
		want = "a string"
	}
	return fmt.Sprintf("want %s, got %s", want, got)
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return string(v)
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// checker collects the first problem of a Validate run; the rest are not
// reported because the first one already sends the sender back to fix it.
type checker struct {
	payload string
	now     time.Time // zero: no check for future timestamps
	err     error
}

func (c *checker) fail(field, format string, a ...any) {
	if c.err == nil {
		c.err = &FieldError{Payload: c.payload, Field: field, Reason: fmt.Sprintf(format, a...)}
	}
}

func (c *checker) id(field string, id ID) {
	if id.IsZero() {
		c.fail(field, "missing")
	}
}

func (c *checker) seq(field string, s uint64) {
	switch {
	case s == 0:
		c.fail(field, "missing (sequence numbers start at 1)")
	case s > MaxSeq:
		c.fail(field, "%d exceeds 2^53-1", s)
	}
}

func (c *checker) segment(field, s string) {
	if err := ValidateSegment(s); err != nil {
		c.fail(field, "%v", err)
	}
}

// token checks an identifier that is not a topic level (person, rule,
// model, user); see ValidateToken.
func (c *checker) token(field, s string, required bool, max int) {
	if s == "" {
		if required {
			c.fail(field, "missing")
		}
		return
	}
	if err := ValidateToken(s, max); err != nil {
		c.fail(field, "%v", err)
	}
}

// ValidateToken checks a non-empty identifier or name that is not a topic
// level (a person, rule, model or user): printable UTF-8 without
// surrounding spaces, at most max bytes.
func ValidateToken(s string, max int) error {
	switch {
	case len(s) > max:
		return fmt.Errorf("%d bytes, longer than %d", len(s), max)
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case strings.TrimSpace(s) != s:
		return errors.New("has leading or trailing spaces")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("contains the non-printable character %U", r)
		}
	}
	return nil
}

// text checks free text (notes, reasons): UTF-8, line breaks and tabs
// allowed, no other control characters, at most max bytes.
func (c *checker) text(field, s string, max int) {
	switch {
	case len(s) > max:
		c.fail(field, "%d bytes, longer than %d", len(s), max)
		return
	case !utf8.ValidString(s):
		c.fail(field, "not valid UTF-8")
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			c.fail(field, "contains the control character %U", r)
			return
		}
	}
}

func (c *checker) time(field string, t time.Time, required bool) {
	switch {
	case t.IsZero():
		if required {
			c.fail(field, "missing")
		}
	case t.Before(Epoch):
		c.fail(field, "%s is before %s; is the sender's clock set?", t.UTC().Format(time.RFC3339), Epoch.Format("2006-01-02"))
	case !c.now.IsZero() && t.After(c.now.Add(MaxClockSkew)):
		c.fail(field, "%s is %v ahead of the receiver's clock (at most %v allowed)", t.UTC().Format(time.RFC3339), t.Sub(c.now).Round(time.Second), MaxClockSkew)
	}
}

func (c *checker) float(field string, v, lo, hi float64) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		c.fail(field, "not a finite number")
	case v < lo || v > hi:
		c.fail(field, "%g is outside [%g, %g]", v, lo, hi)
	}
}

func (c *checker) count(field string, n, max int) {
	switch {
	case n < 0:
		c.fail(field, "%d is negative", n)
	case n > max:
		c.fail(field, "%d exceeds %d", n, max)
	}
}

func (c *checker) oneOf(field, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	if v == "" {
		c.fail(field, "missing; want one of %s", strings.Join(allowed, ", "))
		return
	}
	c.fail(field, "%q is not one of %s", clip(v), strings.Join(allowed, ", "))
}

// crop checks an optional or required JPEG face crop.
func (c *checker) crop(field string, b []byte, required bool) {
	switch {
	case len(b) == 0:
		if required {
			c.fail(field, "missing; every alert shows its face crop")
		}
	case len(b) > MaxCropLen:
		if c.err == nil {
			c.err = &FieldError{Payload: c.payload, Field: field, Reason: fmt.Sprintf("%d bytes, larger than %d", len(b), MaxCropLen), Err: ErrTooLarge}
		}
	case len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 || b[2] != 0xFF:
		c.fail(field, "not a JPEG (no FF D8 FF start-of-image marker)")
	}
}

func (c *checker) order(earlyField string, early time.Time, lateField string, late time.Time) {
	if !early.IsZero() && !late.IsZero() && late.Before(early) {
		c.fail(lateField, "%s is before %s", lateField, earlyField)
	}
}
