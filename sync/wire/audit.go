package wire

import (
	"strings"
	"time"
)

// AuditRecord is one entry of a site's tamper-evident audit log: who did
// what to which object. Each record names the hash of the one before it,
// so the region can tell when a record was removed or changed; the audit
// log computes the hashes, this package checks their form.
type AuditRecord struct {
	ID   ID     `json:"id"`
	Seq  uint64 `json:"seq"`
	Site string `json:"site"`
	// AuditSeq is the record's own number in the site's audit log (1, 2,
	// 3... without gaps), which the hash covers; seq is the outbox's.
	// Optional within v1: a reader that does not know it can still check
	// the order of the chain by prev and hash.
	AuditSeq uint64    `json:"audit_seq,omitempty"`
	At       time.Time `json:"at"`
	// Actor is the user ID, or "system" for the daemon itself.
	Actor string `json:"actor"`
	// Role is the actor's role when acting (guard, supervisor, ...).
	Role string `json:"role,omitempty"`
	// Action is a lower-case verb: search, view, enrol, export, change,
	// delete, decide, login, ...
	Action string `json:"action"`
	// Object is what was acted on, e.g. "person/P-1042".
	Object string `json:"object,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Prev is the hex SHA-256 of the previous record (64 zeros for the
	// first); Hash is this record's.
	Prev string `json:"prev"`
	Hash string `json:"hash"`
}

// MaxDetailLen bounds AuditRecord.Detail.
const MaxDetailLen = 4096

// TopicKind implements Payload.
func (AuditRecord) TopicKind() Kind { return KindAudit }

// MarshalJSON writes the payload with its "v" field.
func (r AuditRecord) MarshalJSON() ([]byte, error) {
	type plain AuditRecord
	return withVersion(plain(r))
}

// Validate implements Payload.
func (r AuditRecord) Validate() error { return r.check(time.Time{}) }

func (r AuditRecord) check(now time.Time) error {
	c := checker{payload: "audit", now: now}
	c.id("id", r.ID)
	c.seq("seq", r.Seq)
	c.segment("site", r.Site)
	if r.AuditSeq != 0 {
		c.seq("audit_seq", r.AuditSeq)
	}
	c.time("at", r.At, true)
	c.token("actor", r.Actor, true, 128)
	c.token("role", r.Role, false, 64)
	c.verb("action", r.Action)
	c.token("object", r.Object, false, 256)
	c.text("detail", r.Detail, MaxDetailLen)
	c.sha256("prev", r.Prev)
	c.sha256("hash", r.Hash)
	if r.Hash != "" && r.Hash == r.Prev {
		c.fail("hash", "equals prev")
	}
	return c.err
}

func (c *checker) verb(field, s string) {
	if s == "" {
		c.fail(field, "missing")
		return
	}
	if len(s) > 32 {
		c.fail(field, "%d bytes, longer than 32", len(s))
		return
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || i > 0 && (ch >= '0' && ch <= '9' || ch == '_' || ch == '.' || ch == '-')) {
			c.fail(field, "%q: want a lower-case word (a-z, then a-z 0-9 . _ -)", clip(s))
			return
		}
	}
}

func (c *checker) sha256(field, s string) {
	if s == "" {
		c.fail(field, "missing")
		return
	}
	if len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "" {
		c.fail(field, "want 64 lower-case hex digits (SHA-256)")
	}
}

// DecodeAuditRecord reads an audit record; see DecodeSighting for now.
func DecodeAuditRecord(data []byte, now time.Time) (AuditRecord, error) {
	var r AuditRecord
	if err := decode("audit", data, &r); err != nil {
		return AuditRecord{}, err
	}
	if err := r.check(now); err != nil {
		return AuditRecord{}, err
	}
	return r, nil
}
