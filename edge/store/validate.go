package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"
)

// Input limits. Values beyond them are rejected with ErrInvalid before
// anything is written.
const (
	MaxIDBytes       = 128       // ids, actors, tokens such as categories
	MaxNameBytes     = 256       // display names, sources
	MaxNoteBytes     = 4 << 10   // decision notes, audit details given by callers
	MaxCropBytes     = 256 << 10 // best face crop of a sighting (JPEG or PNG)
	MaxPhotoBytes    = 8 << 20   // enrolment photo (JPEG or PNG)
	MaxPayloadBytes  = 1 << 20   // one outbox payload
	MaxTopicBytes    = 1024      // one outbox topic
	MaxEvidenceBytes = 64 << 10  // alert evidence JSON
	MaxParamsBytes   = 16 << 10  // rule params JSON
	MaxDim           = 1 << 16   // embedding dimension
	MaxBatch         = 10000     // seqs per MarkSent, rows per page
)

// InvalidError says which input was rejected and why. It wraps ErrInvalid.
type InvalidError struct {
	What   string // the kind of value: "sighting", "person", ...
	Field  string // the offending field
	Reason string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("invalid %s: %s %s", e.What, e.Field, e.Reason)
}

func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(what, field, format string, args ...any) error {
	return &InvalidError{What: what, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// checkID accepts the identifiers used across the store: 1 to MaxIDBytes
// bytes of printable UTF-8 without white space. Ids come from other systems
// (the region's profile ids, camera names), so no narrower alphabet is
// imposed, but a space or control character is always a mistake there.
func checkID(what, field, v string) error {
	if v == "" {
		return invalid(what, field, "is empty")
	}
	if len(v) > MaxIDBytes {
		return invalid(what, field, "is %d bytes long, at most %d are allowed", len(v), MaxIDBytes)
	}
	if !utf8.ValidString(v) {
		return invalid(what, field, "is not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return invalid(what, field, "%q contains %q: only printable characters without spaces are allowed", v, r)
		}
	}
	return nil
}

// checkText accepts human-written text: valid UTF-8 without control
// characters (newlines and tabs only where multiline is set), at most max
// bytes, and not empty when required.
func checkText(what, field, v string, max int, required, multiline bool) error {
	if v == "" {
		if required {
			return invalid(what, field, "is empty")
		}
		return nil
	}
	if len(v) > max {
		return invalid(what, field, "is %d bytes long, at most %d are allowed", len(v), max)
	}
	if !utf8.ValidString(v) {
		return invalid(what, field, "is not valid UTF-8")
	}
	for _, r := range v {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || (!unicode.IsPrint(r) && r != ' ') {
			return invalid(what, field, "contains the control character %q", r)
		}
	}
	if required && len(bytes.TrimSpace([]byte(v))) == 0 {
		return invalid(what, field, "is blank")
	}
	return nil
}

func checkFinite(what, field string, v float32) error {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return invalid(what, field, "must be a finite number, got %v", v)
	}
	return nil
}

// checkUnit accepts a finite value in [0,1] (quality scores).
func checkUnit(what, field string, v float32) error {
	if err := checkFinite(what, field, v); err != nil {
		return err
	}
	if v < 0 || v > 1 {
		return invalid(what, field, "must be in [0,1], got %v", v)
	}
	return nil
}

// checkUUID accepts the canonical lower-case 8-4-4-4-12 hex form only, so
// one event can never be stored twice under two spellings of its id.
func checkUUID(what, field, v string) error {
	if len(v) != 36 {
		return invalid(what, field, "%q is not a UUID (want 36 characters like 0b4e7a52-3c7d-4f3e-9a51-2f0c1d9e8b7a)", v)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return invalid(what, field, "%q is not a UUID: want '-' at position %d", v, i)
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return invalid(what, field, "%q is not a UUID: want lower-case hex digits", v)
			}
		}
	}
	return nil
}

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
)

// checkImage accepts a JPEG or PNG of 1..max bytes. Only the signature is
// checked: images are decoded by the code that shows them, never here.
func checkImage(what, field string, b []byte, max int) error {
	if len(b) == 0 {
		return invalid(what, field, "is empty")
	}
	if len(b) > max {
		return invalid(what, field, "is %d bytes, at most %d are allowed", len(b), max)
	}
	if !bytes.HasPrefix(b, jpegMagic) && !bytes.HasPrefix(b, pngMagic) {
		return invalid(what, field, "is neither a JPEG nor a PNG image")
	}
	return nil
}

var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkTime rejects the zero time and values no clock on a facility box can
// produce; both mean a field was left unset or garbled.
func checkTime(what, field string, t time.Time) error {
	if t.IsZero() {
		return invalid(what, field, "is not set")
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return invalid(what, field, "%s is out of range", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkJSONObject accepts one JSON object of at most max bytes and returns
// it compacted, which is how it is stored.
func checkJSONObject(what, field string, raw []byte, max int) ([]byte, error) {
	if len(raw) > max {
		return nil, invalid(what, field, "is %d bytes, at most %d are allowed", len(raw), max)
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, invalid(what, field, "must be a JSON object")
	}
	if !json.Valid(trimmed) {
		return nil, invalid(what, field, "is not valid JSON")
	}
	var out bytes.Buffer
	if err := json.Compact(&out, trimmed); err != nil {
		return nil, invalid(what, field, "is not valid JSON: %v", err)
	}
	return out.Bytes(), nil
}

// checkTokens validates a set of ids (categories, watch lists)
// and returns it sorted without duplicates.
func checkTokens(what, field string, v []string, max int) ([]string, error) {
	if len(v) > max {
		return nil, invalid(what, field, "has %d entries, at most %d are allowed", len(v), max)
	}
	seen := make(map[string]bool, len(v))
	out := make([]string, 0, len(v))
	for i, s := range v {
		if err := checkID(what, fmt.Sprintf("%s[%d]", field, i), s); err != nil {
			return nil, err
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}
