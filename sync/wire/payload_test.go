package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// testNow is the receiver's clock in every decode test.
var testNow = time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)

// jpeg is the smallest byte string the crop check accepts as a JPEG.
var jpeg = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0, 0xFF, 0xD9}

var jpegB64 = base64.StdEncoding.EncodeToString(jpeg)

// decodeCase is one payload and the error it must produce ("" for none);
// the tables below also seed the fuzz tests.
type decodeCase struct {
	name string
	data string
	err  string
	is   error // an error the result must wrap, if any
}

// obj is a JSON object under construction.
type obj map[string]any

// with returns the JSON of base with fields set (a nil value deletes the
// field); keys with a dot address a nested object.
func with(base obj, kv ...any) string {
	var m map[string]any
	b, _ := json.Marshal(base)
	_ = json.Unmarshal(b, &m)
	for i := 0; i < len(kv); i += 2 {
		key, val := kv[i].(string), kv[i+1]
		target := m
		if outer, inner, ok := strings.Cut(key, "."); ok {
			target, _ = m[outer].(map[string]any)
			key = inner
		}
		if val == nil {
			delete(target, key)
		} else {
			target[key] = val
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(out)
}

// rawJSON is a JSON number or literal placed verbatim by with.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func bigCrop(n int) string {
	b := make([]byte, n)
	copy(b, jpeg)
	return base64.StdEncoding.EncodeToString(b)
}

var sightingBase = obj{
	"v": 1, "id": "0197a3c2-5e10-7b2a-9c1d-2f6e8a4b0c11", "seq": 1041, "site": "ik5",
	"camera": "gate-1", "track": 77, "person": "P-10452",
	"first_seen": "2025-06-01T12:00:01.120Z", "last_seen": "2025-06-01T12:00:04.880Z",
	"best_at": "2025-06-01T12:00:02.400Z", "frames": 9, "score": 0.71, "margin": 0.23,
	"model": "fused-1", "quality": 0.86, "crop": jpegB64,
}

// commonCases are the faults every payload shares, built on base.
func commonCases(name string, base obj) []decodeCase {
	good := with(base)
	limit := MaxPayloadLen
	if name == "gallery-enrol" {
		limit = MaxEnrolmentLen
	}
	return []decodeCase{
		{name: "unknown fields are ignored", data: with(base, "added_in_v1_7", obj{"x": []int{1, 2}}, "zz", "later")},
		{name: "v missing", data: with(base, "v", nil), err: name + ": v: missing"},
		{name: "v 2", data: with(base, "v", 2), err: name + ": v: major version 2; this reader knows 1", is: ErrUnsupportedVersion},
		{name: "v 0", data: with(base, "v", 0), err: "v: major version 0", is: ErrUnsupportedVersion},
		{name: "v string", data: with(base, "v", "1"), err: `v: want an integer, got "1"`},
		{name: "v fraction", data: with(base, "v", 1.5), err: "v: want an integer, got 1.5"},
		{name: "not JSON", data: "v=1;site=ik5", err: name + ": invalid JSON"},
		{name: "empty", data: "", err: name + ": invalid JSON: unexpected end of input"},
		{name: "truncated", data: good[:len(good)/2], err: name + ": invalid JSON"},
		{name: "array", data: "[" + good + "]", err: "want a JSON object, got an array"},
		{name: "null", data: "null", err: "want a JSON object, got null"},
		{name: "data after the object", data: good + " {}", err: "invalid JSON: data after the object"},
		{name: "duplicate key", data: `{"v":1,"site":"ik5","site":"ik6"}`, err: `duplicate key "site"`},
		{name: "too large", data: good[:len(good)-1] + `,"pad":"` + strings.Repeat("x", limit) + `"}`, err: fmt.Sprintf("bytes, larger than %d", limit), is: ErrTooLarge},
		{name: "site with slash", data: with(base, "site", "ik5/x"), err: "site: contains '/'"},
		{name: "site with wildcard", data: with(base, "site", "ik+"), err: "site: contains '+', an MQTT wildcard"},
		{name: "site missing", data: with(base, "site", nil), err: "site: empty"},
		{name: "site number", data: with(base, "site", 5), err: "site: want a string, got 5"},
		{name: "case matters in keys", data: with(base, "site", nil, "Site", "ik5"), err: "site: empty"},
	}
}

func sightingCases() []decodeCase {
	b := sightingBase
	return append(commonCases("sighting", b), []decodeCase{
		{name: "good", data: with(b)},
		{name: "unknown person, no crop", data: with(b, "person", nil, "crop", nil, "score", 0.31)},
		{name: "no runner-up", data: with(b, "score", 0.9, "margin", 1.9)},
		{name: "crop at the limit", data: with(b, "crop", bigCrop(MaxCropLen))},
		{name: "bad UUID", data: with(b, "id", "not-a-uuid"), err: `sighting: id: want a UUID in canonical form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, got "not-a-uuid"`},
		{name: "UUID in braces", data: with(b, "id", "{0197a3c2-5e10-7b2a-9c1d-2f6e8a4b0c11}"), err: "id: want a UUID"},
		{name: "UUID without hyphens", data: with(b, "id", "0197a3c25e107b2a9c1d2f6e8a4b0c11"), err: "id: want a UUID"},
		{name: "UUID urn", data: with(b, "id", "urn:uuid:0197a3c2-5e10-7b2a-9c1d-2f6e8a4b0c11"), err: "id: want a UUID"},
		{name: "nil UUID", data: with(b, "id", "00000000-0000-0000-0000-000000000000"), err: "id: missing"},
		{name: "id missing", data: with(b, "id", nil), err: "id: missing"},
		{name: "negative seq", data: with(b, "seq", -1), err: "sighting: seq: want a non-negative integer, got -1"},
		{name: "seq zero", data: with(b, "seq", 0), err: "seq: missing (sequence numbers start at 1)"},
		{name: "seq fraction", data: with(b, "seq", 2.5), err: "seq: want a non-negative integer, got 2.5"},
		{name: "seq beyond 2^53", data: with(b, "seq", uint64(1)<<53), err: "seq: 9007199254740992 exceeds 2^53-1"},
		{name: "seq beyond uint64", data: with(b, "seq", rawJSON("18446744073709551616")), err: "seq: want a non-negative integer"},
		{name: "seq as string", data: with(b, "seq", "1041"), err: `seq: want a non-negative integer, got "1041"`},
		{name: "camera with NUL", data: with(b, "camera", "gate\x001"), err: "camera: contains NUL"},
		{name: "camera too long", data: with(b, "camera", strings.Repeat("c", 65)), err: "camera: 65 bytes, longer than 64"},
		{name: "camera with space", data: with(b, "camera", "gate 1"), err: `camera: contains ' ' at byte 4`},
		{name: "track zero", data: with(b, "track", 0), err: "track: missing"},
		{name: "person with control char", data: with(b, "person", "P-1\u0007"), err: "person: contains the non-printable character U+0007"},
		{name: "person padded", data: with(b, "person", " P-1"), err: "person: has leading or trailing spaces"},
		{name: "first_seen missing", data: with(b, "first_seen", nil), err: "first_seen: missing"},
		{name: "first_seen null", data: with(b, "first_seen", rawJSON("null")), err: "first_seen: missing"},
		{name: "unset clock", data: with(b, "first_seen", "1970-01-01T00:00:07Z"), err: "first_seen: 1970-01-01T00:00:07Z is before 2020-01-01; is the sender's clock set?"},
		{name: "time in the future", data: with(b, "last_seen", "2025-06-01T13:00:00Z"), err: "last_seen: 2025-06-01T13:00:00Z is 30m0s ahead of the receiver's clock (at most 10m0s allowed)"},
		{name: "time slightly ahead", data: with(b, "last_seen", "2025-06-01T12:35:00Z")},
		{name: "time not RFC 3339", data: with(b, "best_at", "yesterday"), err: `best_at: want an RFC 3339 time such as "2025-06-01T12:00:00.250Z", got "yesterday"`},
		{name: "time as number", data: with(b, "best_at", 1748779200), err: "best_at: want an RFC 3339 time"},
		{name: "last before first", data: with(b, "last_seen", "2025-06-01T12:00:00Z"), err: "last_seen: last_seen is before first_seen"},
		{name: "best after last", data: with(b, "best_at", "2025-06-01T12:00:05Z"), err: "last_seen: last_seen is before best_at"},
		{name: "frames zero", data: with(b, "frames", 0), err: "frames: 0; a sighting rests on at least one frame"},
		{name: "score NaN", data: with(b, "score", "NaN"), err: `score: want a finite number, got "NaN"`},
		{name: "score overflow", data: with(b, "score", rawJSON("1e400")), err: "score: want a finite number, got 1e400"},
		{name: "score out of range", data: with(b, "score", 1.5), err: "score: 1.5 is outside [-1, 1]"},
		{name: "negative margin", data: with(b, "margin", -0.1), err: "margin: -0.1 is outside [0, 2]"},
		{name: "quality above 1", data: with(b, "quality", 1.01), err: "quality: 1.01 is outside [0, 1]"},
		{name: "model missing", data: with(b, "model", nil), err: "model: missing"},
		{name: "crop too large", data: with(b, "crop", bigCrop(MaxCropLen+1)), err: "crop: 65537 bytes, larger than 65536", is: ErrTooLarge},
		{name: "crop not a JPEG", data: with(b, "crop", base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n"))), err: "crop: not a JPEG"},
		{name: "crop bad base64", data: with(b, "crop", "/9j/4A*="), err: "crop: want standard base64: bad data at byte"},
		{name: "crop not a string", data: with(b, "crop", 12), err: "crop: want a base64 string, got 12"},
	}...)
}

var alertBase = obj{
	"v": 1, "id": "0197a3c2-6000-7c00-8a11-3b7f9c5d1e22", "seq": 1042, "site": "ik5",
	"rule": "zone-block-b", "kind": "zone", "severity": "warning",
	"sighting": "0197a3c2-5e10-7b2a-9c1d-2f6e8a4b0c11", "person": "P-10452", "camera": "gate-1",
	"zone": "block-b-yard", "at": "2025-06-01T12:00:05.010Z",
	"evidence": obj{"score": 0.71, "margin": 0.23, "frames": 9, "crop": jpegB64},
}

func manyOthers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("P-%d", i)
	}
	return out
}

func alertCases() []decodeCase {
	b := alertBase
	return append(commonCases("alert", b), []decodeCase{
		{name: "good", data: with(b)},
		{name: "watchlist without zone", data: with(b, "kind", "watchlist", "zone", nil, "severity", "critical")},
		{name: "unknown face", data: with(b, "kind", "unknown_face", "person", nil)},
		{name: "unknown evidence field", data: with(b, "evidence.heatmap", "later")},
		{name: "keep apart", data: with(b, "kind", "keep_apart", "severity", "critical", "others", []string{"P-20117"})},
		{name: "keep apart, three people", data: with(b, "kind", "keep_apart", "others", []string{"P-20117", "P-30001"})},
		{name: "others empty on zone", data: with(b, "others", []string{})},
		{name: "keep apart without others", data: with(b, "kind", "keep_apart"), err: "others: missing; kind keep_apart names at least two people"},
		{name: "keep apart with empty others", data: with(b, "kind", "keep_apart", "others", []string{}), err: "others: missing"},
		{name: "keep apart without zone", data: with(b, "kind", "keep_apart", "others", []string{"P-20117"}, "zone", nil), err: "zone: missing"},
		{name: "keep apart without person", data: with(b, "kind", "keep_apart", "others", []string{"P-20117"}, "person", nil), err: "person: missing"},
		{name: "keep apart other empty", data: with(b, "kind", "keep_apart", "others", []string{""}), err: "others[0]: missing"},
		{name: "keep apart other spaced", data: with(b, "kind", "keep_apart", "others", []string{" P-20117"}), err: "others[0]: has leading or trailing spaces"},
		{name: "keep apart other too long", data: with(b, "kind", "keep_apart", "others", []string{strings.Repeat("p", 129)}), err: "others[0]: 129 bytes, longer than 128"},
		{name: "keep apart other control", data: with(b, "kind", "keep_apart", "others", []string{"P-\u0001"}), err: "others[0]: contains the non-printable character U+0001"},
		{name: "keep apart other is person", data: with(b, "kind", "keep_apart", "others", []string{"P-10452"}), err: "others[0]: repeats person"},
		{name: "keep apart other twice", data: with(b, "kind", "keep_apart", "others", []string{"P-1", "P-1"}), err: `others[1]: "P-1" appears twice`},
		{name: "keep apart too many others", data: with(b, "kind", "keep_apart", "others", manyOthers(MaxAlertOthers+1)), err: "others: 17 entries, more than 16"},
		{name: "keep apart others not strings", data: with(b, "kind", "keep_apart", "others", []int{1}), err: "others"},
		{name: "others on zone", data: with(b, "others", []string{"P-20117"}), err: "others: must be empty for kind zone"},
		{name: "kind unknown", data: with(b, "kind", "tailgating"), err: `alert: kind: "tailgating" is not one of watchlist, zone, schedule, unknown_face, keep_apart`},
		{name: "severity missing", data: with(b, "severity", nil), err: "severity: missing; want one of info, warning, critical"},
		{name: "person on unknown face", data: with(b, "kind", "unknown_face"), err: "person: must be empty for kind unknown_face"},
		{name: "person missing", data: with(b, "person", nil), err: "person: missing"},
		{name: "zone missing", data: with(b, "zone", nil), err: "zone: missing"},
		{name: "sighting zero", data: with(b, "sighting", "00000000-0000-0000-0000-000000000000"), err: "sighting: missing"},
		{name: "sighting bad", data: with(b, "sighting", "0197a3c2-5e10-7b2a-9c1d-2f6e8a4b0c1"), err: "alert: sighting: want a UUID"},
		{name: "rule missing", data: with(b, "rule", nil), err: "rule: missing"},
		{name: "at in the future", data: with(b, "at", "2025-06-02T00:00:00Z"), err: "at: 2025-06-02T00:00:00Z is 11h30m0s ahead"},
		{name: "evidence missing", data: with(b, "evidence", nil), err: "evidence.frames: 0; an alert rests on at least one frame"},
		{name: "evidence not an object", data: with(b, "evidence", []int{1}), err: "evidence: want a JSON object, got an array"},
		{name: "evidence duplicate key", data: strings.Replace(with(b), `"frames":9`, `"frames":9,"frames":1`, 1), err: `evidence: duplicate key "frames"`},
		{name: "evidence score", data: with(b, "evidence.score", -1.2), err: "evidence.score: -1.2 is outside [-1, 1]"},
		{name: "evidence score type", data: with(b, "evidence.score", true), err: "evidence.score: want a finite number, got true"},
		{name: "evidence without crop", data: with(b, "evidence.crop", nil), err: "evidence.crop: missing; every alert shows its face crop"},
		{name: "evidence crop too large", data: with(b, "evidence.crop", bigCrop(MaxCropLen+100)), err: "evidence.crop: 65636 bytes", is: ErrTooLarge},
	}...)
}

var decisionBase = obj{
	"v": 1, "id": "0197a3c2-7a00-7d00-9b22-4c8a0d6e2f33", "seq": 1043, "site": "ik5",
	"alert": "0197a3c2-6000-7c00-8a11-3b7f9c5d1e22", "decision": "rejected", "by": "guard-petrov",
	"at": "2025-06-01T12:01:30Z", "note": "Escorted transfer.\nPaperwork at the post.",
}

func decisionCases() []decodeCase {
	b := decisionBase
	return append(commonCases("alert-decision", b), []decodeCase{
		{name: "good", data: with(b)},
		{name: "confirmed without note", data: with(b, "decision", "confirmed", "note", nil)},
		{name: "Cyrillic note", data: with(b, "note", "Конвой, документы на посту")},
		{name: "decision unknown", data: with(b, "decision", "maybe"), err: `alert-decision: decision: "maybe" is not one of confirmed, rejected`},
		{name: "by missing", data: with(b, "by", nil), err: "by: missing"},
		{name: "alert bad", data: with(b, "alert", 42), err: "alert: want a UUID"},
		{name: "note too long", data: with(b, "note", strings.Repeat("n", MaxNoteLen+1)), err: "note: 2049 bytes, longer than 2048"},
		{name: "note with escape", data: with(b, "note", "ok\u001b[31m"), err: "note: contains the control character U+001B"},
		{name: "at before epoch", data: with(b, "at", "2019-12-31T23:59:59Z"), err: "at: 2019-12-31T23:59:59Z is before 2020-01-01"},
	}...)
}

var siteStatusBase = obj{
	"v": 1, "site": "ik5", "state": "online", "version": "0.4.0", "at": "2025-06-01T12:00:00Z",
	"cameras_up": 46, "cameras_total": 48, "outbox_depth": 0,
}

func siteStatusCases() []decodeCase {
	b := siteStatusBase
	return append(commonCases("site-status", b), []decodeCase{
		{name: "good", data: with(b)},
		{name: "last will", data: with(b, "state", "offline", "reason", "connection lost", "cameras_up", 0, "cameras_total", 0)},
		{name: "backlog", data: with(b, "outbox_depth", 250_000)},
		{name: "last seq", data: with(b, "last_seq", 1041)},
		{name: "last seq zero", data: with(b, "last_seq", 0)},
		{name: "last seq largest", data: with(b, "last_seq", uint64(MaxSeq))},
		{name: "last seq too large", data: with(b, "last_seq", uint64(MaxSeq)+1), err: "site-status: last_seq: 9007199254740992 exceeds 2^53-1"},
		{name: "last seq negative", data: with(b, "last_seq", -1), err: "last_seq: want a non-negative integer, got -1"},
		{name: "last seq as string", data: with(b, "last_seq", "1041"), err: `last_seq: want a non-negative integer, got "1041"`},
		{name: "state unknown", data: with(b, "state", "busy"), err: `site-status: state: "busy" is not one of online, offline`},
		{name: "more cameras up than exist", data: with(b, "cameras_up", 49), err: "cameras_up: 49 exceeds cameras_total 48"},
		{name: "negative total", data: with(b, "cameras_total", -1), err: "cameras_total: -1 is negative"},
		{name: "negative depth", data: with(b, "outbox_depth", -5), err: "outbox_depth: -5 is negative"},
		{name: "at missing", data: with(b, "at", nil), err: "at: missing"},
	}...)
}

var cameraStatusBase = obj{
	"v": 1, "site": "ik5", "camera": "gate-1", "state": "down", "fps": 0,
	"last_frame": "2025-06-01T11:59:41.500Z", "at": "2025-06-01T12:00:00Z",
	"reason": "RTSP DESCRIBE: connection refused",
}

func cameraStatusCases() []decodeCase {
	b := cameraStatusBase
	return append(commonCases("camera-status", b), []decodeCase{
		{name: "good", data: with(b)},
		{name: "up", data: with(b, "state", "up", "fps", 12.5, "reason", nil)},
		{name: "never a frame", data: with(b, "last_frame", nil)},
		{name: "down without reason", data: with(b, "reason", nil), err: "camera-status: reason: missing; required when state is down"},
		{name: "negative fps", data: with(b, "fps", -1), err: "fps: -1 is outside [0, 1000]"},
		{name: "absurd fps", data: with(b, "fps", 1e6), err: "fps: 1e+06 is outside [0, 1000]"},
		{name: "frame after status", data: with(b, "last_frame", "2025-06-01T12:00:01Z"), err: "at: at is before last_frame"},
		{name: "state unknown", data: with(b, "state", "UP"), err: `state: "UP" is not one of up, degraded, down, disabled`},
		{name: "camera missing", data: with(b, "camera", nil), err: "camera: empty"},
	}...)
}

var auditBase = obj{
	"v": 1, "id": "0197a3c2-8b00-7e00-8c33-5d9b1e7f3a44", "seq": 1044, "site": "ik5",
	"at": "2025-06-01T12:02:10Z", "actor": "sup-ivanova", "role": "supervisor", "action": "export",
	"object": "person/P-10452", "detail": "14 rows, CSV",
	"prev": "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
	"hash": "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
}

func auditCases() []decodeCase {
	b := auditBase
	return append(commonCases("audit", b), []decodeCase{
		{name: "good", data: with(b)},
		{name: "first record", data: with(b, "prev", strings.Repeat("0", 64), "role", nil, "object", nil, "detail", nil)},
		{name: "with audit seq", data: with(b, "audit_seq", 312)},
		{name: "audit seq largest", data: with(b, "audit_seq", uint64(MaxSeq))},
		{name: "audit seq too large", data: with(b, "audit_seq", uint64(MaxSeq)+1), err: "audit_seq: 9007199254740992 exceeds 2^53-1"},
		{name: "audit seq negative", data: with(b, "audit_seq", -1), err: "audit_seq"},
		{name: "audit seq not a number", data: with(b, "audit_seq", "312"), err: "audit_seq"},
		{name: "action upper case", data: with(b, "action", "Export"), err: `audit: action: "Export": want a lower-case word`},
		{name: "action missing", data: with(b, "action", nil), err: "action: missing"},
		{name: "prev short", data: with(b, "prev", "ca97"), err: "prev: want 64 lower-case hex digits (SHA-256)"},
		{name: "hash upper case", data: with(b, "hash", strings.ToUpper(b["hash"].(string))), err: "hash: want 64 lower-case hex digits"},
		{name: "hash equals prev", data: with(b, "hash", b["prev"]), err: "hash: equals prev"},
		{name: "actor missing", data: with(b, "actor", nil), err: "actor: missing"},
		{name: "detail too long", data: with(b, "detail", strings.Repeat("d", MaxDetailLen+1)), err: "detail: 4097 bytes, longer than 4096"},
	}...)
}

var galleryAckBase = obj{
	"v": 1, "seq": 1045, "site": "ik5", "revision": 318, "in_force": 318, "status": "applied",
	"at": "2025-06-01T12:03:00Z", "templates": 4211,
}

func galleryAckCases() []decodeCase {
	b := galleryAckBase
	return append(commonCases("gallery-ack", b), []decodeCase{
		{name: "good", data: with(b)},
		{name: "applied without in_force", data: with(b, "in_force", nil)},
		{name: "applied with in_force zero", data: with(b, "in_force", 0)},
		{name: "applied in_force differs", data: with(b, "in_force", 317), err: "gallery-ack: in_force: 317 differs from revision 318; status applied means the site runs revision"},
		{name: "failed", data: with(b, "status", "failed", "in_force", 317, "templates", nil, "reason", "template 17: model mismatch")},
		{name: "failed with nothing in force", data: with(b, "status", "failed", "in_force", 0, "reason", "bad_signature")},
		{name: "failed without in_force", data: with(b, "status", "failed", "in_force", nil, "reason", "replayed")},
		{name: "failed without reason", data: with(b, "status", "failed"), err: "gallery-ack: reason: missing; required when status is failed"},
		{name: "resync", data: with(b, "status", "resync", "revision", 317, "in_force", 317, "templates", nil)},
		{name: "resync with reason", data: with(b, "status", "resync", "reason", "gap: got revision 321")},
		{name: "resync from nothing", data: with(b, "status", "resync", "revision", 0, "in_force", 0, "templates", nil)},
		{name: "resync without in_force", data: with(b, "status", "resync", "in_force", nil), err: "in_force: 0 differs from revision 318; status resync"},
		{name: "resync in_force differs", data: with(b, "status", "resync", "in_force", 12), err: "in_force: 12 differs from revision 318"},
		{name: "in_force beyond 2^53", data: with(b, "status", "failed", "reason", "x", "in_force", uint64(1)<<53), err: "in_force: 9007199254740992 exceeds 2^53-1"},
		{name: "in_force negative", data: with(b, "in_force", -1), err: "in_force: want a non-negative integer, got -1"},
		{name: "applied with reason", data: with(b, "reason", "fine"), err: "reason: set although status is applied"},
		{name: "revision zero", data: with(b, "revision", 0), err: "revision: missing (revisions start at 1)"},
		{name: "revision zero failed", data: with(b, "revision", 0, "status", "failed", "reason", "x"), err: "revision: missing (revisions start at 1)"},
		{name: "revision negative", data: with(b, "revision", -3), err: "revision: want a non-negative integer, got -3"},
		{name: "status unknown", data: with(b, "status", "ok"), err: `status: "ok" is not one of applied, failed, resync`},
		{name: "negative templates", data: with(b, "templates", -1), err: "templates: -1 is negative"},
		{name: "seq missing", data: with(b, "seq", nil), err: "seq: missing"},
	}...)
}

var (
	jpegSHA = fmt.Sprintf("%x", sha256.Sum256(jpeg))
	vec3    = []float32{0.125, -0.5, 0.0625}
)

var enrolBase = obj{
	"v": 1, "seq": 1047, "site": "ik5", "id": "0197a3c2-ae00-7f00-8e55-7fbd3a9b5c77",
	"at": "2025-06-01T12:06:00Z", "by": "sup-ivanova",
	"person": obj{"id": "P-30111", "display_name": "Sidorov A. V.", "categories": []string{"remand"}, "watch_lists": []string{"escape-risk"}},
	"photo":  obj{"sha256": jpegSHA, "jpeg": jpegB64, "source": "monitor upload"},
	"templates": []obj{
		{"model": "fused-1", "vec": vec3, "quality": 0.82},
		{"model": "dlib-1", "vec": []float32{1, 2}, "quality": 0.5},
	},
}

func enrolTemplates(kv ...any) []obj {
	t := obj{"model": "fused-1", "vec": vec3, "quality": 0.82}
	for i := 0; i < len(kv); i += 2 {
		t[kv[i].(string)] = kv[i+1]
	}
	return []obj{t}
}

func enrolCases() []decodeCase {
	b := enrolBase
	bigJPEG := make([]byte, MaxEnrolPhotoLen)
	copy(bigJPEG, jpeg)
	bigVec := make([]float32, MaxTemplateDim)
	for i := range bigVec {
		bigVec[i] = -1.1754944e-38
	}
	many := make([]obj, MaxEnrolTemplates)
	for i := range many {
		many[i] = obj{"model": fmt.Sprintf("m-%d", i), "vec": bigVec, "quality": 1}
	}
	return append(commonCases("gallery-enrol", b), []decodeCase{
		{name: "good", data: with(b)},
		{name: "no templates", data: with(b, "templates", nil)},
		{name: "empty templates", data: with(b, "templates", []obj{})},
		{name: "no labels", data: with(b, "person", obj{"id": "P-1", "display_name": "Иванов И. И."})},
		{name: "no source", data: with(b, "photo.source", nil)},
		{name: "largest", data: with(b, "photo.jpeg", base64.StdEncoding.EncodeToString(bigJPEG), "photo.sha256", fmt.Sprintf("%x", sha256.Sum256(bigJPEG)), "templates", many)},
		{name: "seq missing", data: with(b, "seq", nil), err: "gallery-enrol: seq: missing"},
		{name: "id missing", data: with(b, "id", nil), err: "gallery-enrol: id: missing"},
		{name: "id not a UUID", data: with(b, "id", "e-1"), err: "id: want a UUID"},
		{name: "at missing", data: with(b, "at", nil), err: "at: missing"},
		{name: "at in the future", data: with(b, "at", "2025-06-01T13:00:00Z"), err: "at: 2025-06-01T13:00:00Z is 30m0s ahead"},
		{name: "by missing", data: with(b, "by", nil), err: "by: missing"},
		{name: "person missing", data: with(b, "person", nil), err: "person.id: missing"},
		{name: "person not an object", data: with(b, "person", "P-1"), err: "person: want a JSON object, got a string"},
		{name: "person id too long", data: with(b, "person.id", strings.Repeat("p", 129)), err: "person.id: 129 bytes, longer than 128"},
		{name: "person id control", data: with(b, "person.id", "P-"), err: "person.id: contains the non-printable character U+0001"},
		{name: "person id padded", data: with(b, "person.id", "P-1 "), err: "person.id: has leading or trailing spaces"},
		{name: "display name missing", data: with(b, "person.display_name", nil), err: "person.display_name: missing"},
		{name: "person duplicate key", data: strings.Replace(with(b), `"id":"P-30111"`, `"id":"P-30111","id":"P-2"`, 1), err: `person: duplicate key "id"`},
		{name: "category twice", data: with(b, "person.categories", []string{"a", "a"}), err: `person.categories[1]: "a" appears twice`},
		{name: "watch list empty", data: with(b, "person.watch_lists", []string{""}), err: "person.watch_lists[0]: missing"},
		{name: "watch lists not strings", data: with(b, "person.watch_lists", []int{1}), err: "person.watch_lists: want an array of strings, got [1]"},
		{name: "photo missing", data: with(b, "photo", nil), err: "photo.jpeg: missing"},
		{name: "photo not a JPEG", data: with(b, "photo.jpeg", base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n"))), err: "photo.jpeg: not a JPEG"},
		{name: "photo too large", data: with(b, "photo.jpeg", bigCrop(MaxEnrolPhotoLen+1)), err: "photo.jpeg: 524289 bytes, larger than 524288", is: ErrTooLarge},
		{name: "photo bad base64", data: with(b, "photo.jpeg", "/9j/4A*="), err: "photo.jpeg: want standard base64"},
		{name: "sha mismatch", data: with(b, "photo.sha256", strings.Repeat("0", 64)), err: "photo.sha256: does not match the JPEG bytes (their SHA-256 is " + jpegSHA + ")"},
		{name: "sha upper case", data: with(b, "photo.sha256", strings.ToUpper(jpegSHA)), err: "photo.sha256: want 64 lower-case hex digits"},
		{name: "sha missing", data: with(b, "photo.sha256", nil), err: "photo.sha256: missing"},
		{name: "templates not an array", data: with(b, "templates", obj{"model": "m"}), err: "templates: want an array of objects"},
		{name: "template not an object", data: with(b, "templates", []int{1}), err: "templates[0]: want a JSON object, got a number"},
		{name: "template duplicate key", data: strings.Replace(with(b), `"model":"fused-1"`, `"model":"fused-1","model":"x"`, 1), err: `templates[0]: duplicate key "model"`},
		{name: "template model missing", data: with(b, "templates", enrolTemplates("model", "")), err: "templates[0].model: missing"},
		{name: "template model twice", data: with(b, "templates", append(enrolTemplates(), enrolTemplates()...)), err: `templates[1].model: "fused-1" repeats templates[0]`},
		{name: "template vec missing", data: with(b, "templates", enrolTemplates("vec", []float32{})), err: "templates[0].vec: missing"},
		{name: "template vec too long", data: with(b, "templates", enrolTemplates("vec", make([]float32, MaxTemplateDim+1))), err: "templates[0].vec: 4097 numbers, more than 4096"},
		{name: "template vec overflow", data: with(b, "templates", enrolTemplates("vec", []rawJSON{"1e39"})), err: "templates[0].vec: want an array of finite numbers, got [1e39]"},
		{name: "template vec strings", data: with(b, "templates", enrolTemplates("vec", []string{"NaN"})), err: "templates[0].vec: want an array of finite numbers"},
		{name: "template vec base64", data: with(b, "templates", enrolTemplates("vec", "AAAA")), err: "templates[0].vec: want an array of finite numbers"},
		{name: "template quality above 1", data: with(b, "templates", enrolTemplates("quality", 1.5)), err: "templates[0].quality: 1.5 is outside [0, 1]"},
		{name: "template quality string", data: with(b, "templates", enrolTemplates("quality", "high")), err: `templates[0].quality: want a finite number, got "high"`},
		{name: "too many templates", data: with(b, "templates", append(many, obj{"model": "m-x", "vec": vec3, "quality": 1})), err: "templates: 5 entries, more than 4"},
	}...)
}

var hwtestBase = obj{
	"v": 1, "site": "ik5", "nonce": "0197a3c2-9c00-7f00-8d44-6eac2f8a4b55", "n": 1,
	"at": "2025-06-01T12:04:00.125Z",
}

func hwtestCases() []decodeCase {
	b := hwtestBase
	return append(commonCases("hwtest", b), []decodeCase{
		{name: "good", data: with(b)},
		{name: "last of many", data: with(b, "n", MaxHWTestPings)},
		{name: "nonce missing", data: with(b, "nonce", nil), err: "hwtest: nonce: missing"},
		{name: "nonce nil UUID", data: with(b, "nonce", "00000000-0000-0000-0000-000000000000"), err: "nonce: missing"},
		{name: "nonce not a UUID", data: with(b, "nonce", "abc123"), err: `hwtest: nonce: want a UUID in canonical form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, got "abc123"`},
		{name: "n missing", data: with(b, "n", nil), err: "n: 0; pings are numbered from 1"},
		{name: "n negative", data: with(b, "n", -1), err: "n: -1; pings are numbered from 1"},
		{name: "n too large", data: with(b, "n", MaxHWTestPings+1), err: "n: 100001 exceeds 100000"},
		{name: "n fraction", data: with(b, "n", 1.5), err: "n: want an integer, got 1.5"},
		{name: "n as string", data: with(b, "n", "1"), err: `n: want an integer, got "1"`},
		{name: "at missing", data: with(b, "at", nil), err: "at: missing"},
		{name: "unset clock", data: with(b, "at", "1970-01-01T00:00:01Z"), err: "at: 1970-01-01T00:00:01Z is before 2020-01-01"},
		{name: "at in the future", data: with(b, "at", "2025-06-01T13:00:00Z"), err: "at: 2025-06-01T13:00:00Z is 30m0s ahead"},
	}...)
}

var resendBase = obj{
	"v": 1, "id": "0197a3c2-ad00-7f00-8e55-7fbd3a9b5c66", "site": "ik5", "from": 1040, "to": 1046,
	"at": "2025-06-01T12:05:00Z",
}

func resendCases() []decodeCase {
	b := resendBase
	return append(commonCases("resend", b), []decodeCase{
		{name: "good", data: with(b)},
		{name: "one message", data: with(b, "from", 7, "to", 7)},
		{name: "from the first", data: with(b, "from", 1, "to", 1)},
		{name: "largest range", data: with(b, "from", 1, "to", MaxResendRange)},
		{name: "largest seqs", data: with(b, "from", uint64(MaxSeq)-1, "to", uint64(MaxSeq))},
		{name: "range too large", data: with(b, "from", 1, "to", MaxResendRange+1), err: "resend: to: the range 1..100001 holds 100001 messages, more than 100000 in one request"},
		{name: "to below from", data: with(b, "from", 10, "to", 9), err: "resend: to: 9 is below from 10"},
		{name: "from zero", data: with(b, "from", 0), err: "resend: from: missing (sequence numbers start at 1)"},
		{name: "from missing", data: with(b, "from", nil), err: "from: missing"},
		{name: "to missing", data: with(b, "to", nil), err: "resend: to: missing"},
		{name: "to beyond 2^53", data: with(b, "to", uint64(1)<<53), err: "to: 9007199254740992 exceeds 2^53-1"},
		{name: "from negative", data: with(b, "from", -1), err: "from: want a non-negative integer, got -1"},
		{name: "to as string", data: with(b, "to", "1046"), err: `to: want a non-negative integer, got "1046"`},
		{name: "id missing", data: with(b, "id", nil), err: "resend: id: missing"},
		{name: "id not a UUID", data: with(b, "id", "r-1"), err: "id: want a UUID"},
		{name: "at missing", data: with(b, "at", nil), err: "resend: at: missing"},
		{name: "unset clock", data: with(b, "at", "1970-01-01T00:00:00Z"), err: "at: 1970-01-01T00:00:00Z is before 2020-01-01"},
		{name: "at in the future", data: with(b, "at", "2025-06-01T13:00:00Z"), err: "at: 2025-06-01T13:00:00Z is 30m0s ahead"},
	}...)
}

// decoders gives every payload kind its decoder and table, so that the
// same tables drive the table tests, the round trips and the fuzz seeds.
var decoders = []struct {
	kind   Kind
	decode func([]byte, time.Time) (Payload, error)
	cases  func() []decodeCase
}{
	{KindSighting, func(b []byte, n time.Time) (Payload, error) { return DecodeSighting(b, n) }, sightingCases},
	{KindAlert, func(b []byte, n time.Time) (Payload, error) { return DecodeAlert(b, n) }, alertCases},
	{KindAlertDecision, func(b []byte, n time.Time) (Payload, error) { return DecodeAlertDecision(b, n) }, decisionCases},
	{KindSiteStatus, func(b []byte, n time.Time) (Payload, error) { return DecodeSiteStatus(b, n) }, siteStatusCases},
	{KindCameraStatus, func(b []byte, n time.Time) (Payload, error) { return DecodeCameraStatus(b, n) }, cameraStatusCases},
	{KindAudit, func(b []byte, n time.Time) (Payload, error) { return DecodeAuditRecord(b, n) }, auditCases},
	{KindGalleryAck, func(b []byte, n time.Time) (Payload, error) { return DecodeGalleryAck(b, n) }, galleryAckCases},
	{KindHWTest, func(b []byte, n time.Time) (Payload, error) { return DecodeHWTestPing(b, n) }, hwtestCases},
	{KindResend, func(b []byte, n time.Time) (Payload, error) { return DecodeResendRequest(b, n) }, resendCases},
	{KindGalleryEnrol, func(b []byte, n time.Time) (Payload, error) { return DecodeGalleryEnrolment(b, n) }, enrolCases},
}

func TestDecode(t *testing.T) {
	for _, d := range decoders {
		t.Run(d.kind.String(), func(t *testing.T) {
			seen := map[string]bool{}
			for _, tc := range d.cases() {
				if seen[tc.name] {
					t.Fatalf("duplicate case name %q", tc.name)
				}
				seen[tc.name] = true
				t.Run(tc.name, func(t *testing.T) {
					p, err := d.decode([]byte(tc.data), testNow)
					if tc.err == "" {
						if err != nil {
							t.Fatalf("unexpected error: %v\npayload: %.300s", err, tc.data)
						}
						if p.TopicKind() != d.kind {
							t.Fatalf("decoded a %v, want %v", p.TopicKind(), d.kind)
						}
						checkRoundTrip(t, d.decode, p)
						return
					}
					if err == nil {
						t.Fatalf("no error, want %q\npayload: %.300s", tc.err, tc.data)
					}
					if !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("error\n  %v\nwant it to contain\n  %s", err, tc.err)
					}
					var fe *FieldError
					if !errors.As(err, &fe) {
						t.Fatalf("error %T is not a *FieldError", err)
					}
					if tc.is != nil && !errors.Is(err, tc.is) {
						t.Fatalf("error %v does not wrap %v", err, tc.is)
					}
				})
			}
		})
	}
}

// checkRoundTrip encodes a decoded payload and decodes it again: the
// second encoding must be byte for byte the first.
func checkRoundTrip(t *testing.T, decode func([]byte, time.Time) (Payload, error), p Payload) {
	t.Helper()
	b1, err := Encode(p)
	if err != nil {
		t.Fatalf("encode of a decoded payload: %v", err)
	}
	if !bytes.HasPrefix(b1, []byte(`{"v":1,`)) {
		t.Fatalf("encoding does not start with the version: %.60s", b1)
	}
	p2, err := decode(b1, testNow)
	if err != nil {
		t.Fatalf("decode of an encoded payload: %v\n%s", err, b1)
	}
	b2, err := Encode(p2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("round trip changed the payload:\n%s\n%s", b1, b2)
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	cases := []struct {
		name string
		p    Payload
		err  string
	}{
		{"empty sighting", Sighting{}, "sighting: id: missing"},
		{"NaN score", Sighting{ID: MustNewID(), Seq: 1, Site: "s", Camera: "c", Track: 1, FirstSeen: testNow, LastSeen: testNow, BestAt: testNow, Frames: 1, Model: "m", Score: nan()}, "sighting: score: not a finite number"},
		{"alert without crop", Alert{ID: MustNewID(), Seq: 1, Site: "s", Rule: "r", Kind: AlertWatchlist, Severity: SeverityInfo, Sighting: MustNewID(), Person: "p", Camera: "c", At: testNow, Evidence: Evidence{Frames: 2}}, "evidence.crop: missing"},
		{"status with NUL site", SiteStatus{Site: "a\x00", State: SiteOnline, At: testNow}, "site-status: site: contains NUL"},
		{"resend backwards", ResendRequest{ID: MustNewID(), Site: "ik5", From: 5, To: 4, At: testNow}, "resend: to: 4 is below from 5"},
		{"resend without id", ResendRequest{Site: "ik5", From: 1, To: 4, At: testNow}, "resend: id: missing"},
		{"resync behind", GalleryAck{Seq: 1, Site: "ik5", Revision: 4, InForce: 3, Status: GalleryResync, At: testNow}, "gallery-ack: in_force: 3 differs from revision 4"},
		{"enrolment with a NaN", GalleryEnrolment{Seq: 1, Site: "ik5", ID: MustNewID(), At: testNow, By: "u", Person: EnrolledPerson{ID: "p", DisplayName: "P"},
			Photo: EnrolledPhoto{SHA256: jpegSHA, JPEG: jpeg}, Templates: []EnrolledTemplate{{Model: "m", Vec: []float32{float32(nan())}}}}, "gallery-enrol: templates[0].vec: element 0 is not a finite number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode(tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
		})
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func TestEncodeGood(t *testing.T) {
	s := Sighting{
		ID: MustNewID(), Seq: 7, Site: "ik5", Camera: "gate-1", Track: 3,
		FirstSeen: testNow.Add(-3 * time.Second), BestAt: testNow.Add(-2 * time.Second), LastSeen: testNow,
		Frames: 4, Score: 0.4, Margin: 0.1, Model: "m-1", Quality: 0.5, Crop: jpeg,
	}
	b, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSighting(b, testNow)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if got.ID != s.ID || got.Seq != 7 || !got.BestAt.Equal(s.BestAt) || !bytes.Equal(got.Crop, jpeg) || got.Person != "" {
		t.Fatalf("round trip: got %+v", got)
	}
	if bytes.Contains(b, []byte(`"person"`)) {
		t.Fatalf("an unknown person must be left out: %s", b)
	}
	st := CameraStatus{Site: "ik5", Camera: "c1", State: CameraUp, FPS: 10, At: testNow}
	b, err = Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("last_frame")) {
		t.Fatalf("a zero last_frame must be left out: %s", b)
	}
}

func TestIDs(t *testing.T) {
	a, b := MustNewID(), MustNewID()
	if a == b || a.IsZero() {
		t.Fatal("NewID repeated itself or returned zero")
	}
	if a.String() >= b.String() {
		t.Errorf("version 7 IDs must sort by creation: %v then %v", a, b)
	}
	up := strings.ToUpper(a.String())
	if got, err := ParseID(up); err != nil || got != a {
		t.Errorf("ParseID(%s) = %v, %v", up, got, err)
	}
	for _, bad := range []string{"", "x", a.String() + "0", "{" + a.String() + "}", strings.ReplaceAll(a.String(), "-", "")} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}

func TestDecodeMessage(t *testing.T) {
	cases := []struct {
		name, topic, data, err string
	}{
		{"sighting", "dozor/v1/north/ik5/sighting", with(sightingBase), ""},
		{"camera status", "dozor/v1/north/ik5/camera/gate-1/status", with(cameraStatusBase), ""},
		{"payload for another site", "dozor/v1/north/ik6/sighting", with(sightingBase), `sighting: site: "ik5" does not match the topic's site "ik6"`},
		{"payload for another camera", "dozor/v1/north/ik5/camera/gate-2/status", with(cameraStatusBase), `camera-status: camera: "gate-1" does not match the topic's camera "gate-2"`},
		{"wrong payload for the topic", "dozor/v1/north/ik5/alert", with(sightingBase), "alert: rule: missing"},
		{"bad topic", "dozor/v1/north/ik5/sightings", with(sightingBase), `unknown kind "sightings"`},
		{"gallery revision", "dozor/v1/north/ik5/gallery/revision", "{}", "read by the gallery sync"},
		{"hwtest", "dozor/v1/north/ik5/hwtest", with(hwtestBase), "hwtest payloads are a site's hardware test talking to itself"},
		{"resend", "dozor/v1/north/ik5/resend", with(resendBase), ""},
		{"resend for another site", "dozor/v1/north/ik6/resend", with(resendBase), `resend: site: "ik5" does not match the topic's site "ik6"`},
		{"resend on a sighting topic", "dozor/v1/north/ik5/sighting", with(resendBase), "sighting: seq: missing"},
		{"enrolment", "dozor/v1/north/ik5/gallery/enrol", with(enrolBase), ""},
		{"enrolment for another site", "dozor/v1/north/ik6/gallery/enrol", with(enrolBase), `gallery-enrol: site: "ik5" does not match the topic's site "ik6"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.topic, []byte(tc.data), testNow)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if m.Topic.String() != tc.topic {
					t.Fatalf("topic %v", m.Topic)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
			notForRegion := tc.name == "gallery revision" || tc.name == "hwtest"
			if errors.Is(err, ErrNotForRegion) != notForRegion {
				t.Fatalf("errors.Is(%v, ErrNotForRegion) = %v", err, !notForRegion)
			}
		})
	}
	m, err := Decode("dozor/v1/north/ik5/audit", []byte(with(auditBase)), testNow)
	if err != nil || m.Seq() != 1044 {
		t.Fatalf("Seq() = %d, %v", m.Seq(), err)
	}
	m, err = Decode("dozor/v1/north/ik5/resend", []byte(with(resendBase)), testNow)
	r, ok := m.Payload.(ResendRequest)
	if err != nil || !ok || r.From != 1040 || r.To != 1046 || m.Seq() != 0 || m.Topic.Kind.FromSite() {
		t.Fatalf("resend request: %+v, %v; want from 1040 to 1046, no seq of its own, not from the site", m, err)
	}
}

func TestFieldErrorFormat(t *testing.T) {
	e := &FieldError{Payload: "alert", Field: "evidence.crop", Reason: "missing"}
	if got := e.Error(); got != "alert: evidence.crop: missing" {
		t.Fatal(got)
	}
	e = &FieldError{Payload: "alert", Reason: "invalid JSON", Err: ErrTooLarge}
	if got := fmt.Sprint(e); got != "alert: invalid JSON" || !errors.Is(e, ErrTooLarge) {
		t.Fatal(got)
	}
}

// TestGalleryAckInForce: an applied ack without in_force (as written
// before the field existed) means in_force = revision, on decode and on
// encode, and a decoded ack carries it from then on.
func TestGalleryAckInForce(t *testing.T) {
	g, err := DecodeGalleryAck([]byte(with(galleryAckBase, "in_force", nil)), testNow)
	if err != nil || g.InForce != 318 {
		t.Fatalf("decoded %+v, %v; want in_force 318", g, err)
	}
	b, err := Encode(GalleryAck{Seq: 3, Site: "ik5", Revision: 7, Status: GalleryApplied, At: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"in_force":7`)) {
		t.Fatalf("an applied ack without InForce must be written with in_force = revision: %s", b)
	}
	b, err = Encode(GalleryAck{Seq: 4, Site: "ik5", Revision: 9, InForce: 7, Status: GalleryFailed, Reason: "replayed", At: testNow})
	if err != nil || !bytes.Contains(b, []byte(`"in_force":7`)) {
		t.Fatalf("failed ack: %s, %v", b, err)
	}
	b, err = Encode(GalleryAck{Seq: 5, Site: "ik5", Status: GalleryResync, At: testNow})
	if err != nil || !bytes.Contains(b, []byte(`"revision":0,"in_force":0`)) {
		t.Fatalf("resync from nothing: %s, %v", b, err)
	}
	m, err := Decode("dozor/v1/north/ik5/gallery/enrol", []byte(with(enrolBase)), testNow)
	if err != nil || m.Seq() != 1047 || !m.Topic.Kind.FromSite() || m.Topic.Kind.Retained() {
		t.Fatalf("enrolment: %+v, %v", m, err)
	}
	e := m.Payload.(GalleryEnrolment)
	if len(e.Templates) != 2 || e.Templates[0].Vec[1] != -0.5 || !bytes.Equal(e.Photo.JPEG, jpeg) || e.Person.WatchLists[0] != "escape-risk" {
		t.Fatalf("enrolment decoded as %+v", e)
	}
}
