package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
)

// SystemActor is the actor of writes and reads the daemon makes on its own
// (gallery loads, crops stored with sightings).
const SystemActor = "system"

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	Seq    uint64 // 1, 2, 3... without gaps
	At     time.Time
	Actor  string // user name or SystemActor
	Action string // e.g. "template.read", "alert.decide"
	Object string // e.g. "person:P-1", "model:fused-v1"
	Detail string // JSON object or free text
	// PrevHash is the previous entry's Hash (zero for the first entry);
	// Hash is sha256(PrevHash || canonical form of this entry).
	PrevHash, Hash [32]byte
}

// canonical is the byte string an entry's hash covers: a domain tag, the
// sequence number and time as fixed-width integers, then each text field
// length-prefixed, so that no two different entries share an encoding.
func (e *AuditEntry) canonical() []byte {
	b := make([]byte, 0, 64+len(e.Actor)+len(e.Action)+len(e.Object)+len(e.Detail))
	b = append(b, "dozor/audit/v1\x00"...)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixMilli()))
	for _, f := range []string{e.Actor, e.Action, e.Object, e.Detail} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

func (e *AuditEntry) computeHash() [32]byte {
	h := sha256.New()
	h.Write(e.PrevHash[:])
	h.Write(e.canonical())
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// appendAudit adds an entry to the chain inside tx, the same transaction as
// the action it records, and enqueues its audit record for the region:
// the action, its entry and the entry's message are stored together or
// not at all. detail is encoded as JSON unless it is a string.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, actor, action, object string, detail any) error {
	var d string
	switch v := detail.(type) {
	case string:
		d = v
	case nil:
		d = "{}"
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
		d = string(b)
	}
	e := AuditEntry{At: fromMs(s.nowMs()), Actor: actor, Action: action, Object: object, Detail: d}
	var last uint64
	var prev []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("audit: %w", err)
	case len(prev) != 32:
		return fmt.Errorf("audit: %w: entry %d has a %d-byte hash", ErrAuditBroken, last, len(prev))
	default:
		copy(e.PrevHash[:], prev)
	}
	e.Seq = last + 1
	e.Hash = e.computeHash()
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at_ms, actor, action, object, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At.UnixMilli(), e.Actor, e.Action, e.Object, e.Detail, e.PrevHash[:], e.Hash[:])
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return s.enqueueAudit(ctx, tx, e)
}

// enqueueAudit adds the audit record of e to the outbox inside tx, on the
// site's audit topic. An entry the wire would refuse (a detail too long,
// say) is enqueued as it is and logged, for the region to quarantine with
// its reason, rather than leave a hole in the chain.
func (s *Store) enqueueAudit(ctx context.Context, tx *sql.Tx, e AuditEntry) error {
	id, err := wire.NewID()
	if err != nil {
		return fmt.Errorf("audit record id: %w", err)
	}
	_, err = s.appendOutbox(ctx, tx, func(seq uint64) (OutboxMessage, error) {
		r := wire.AuditRecord{ID: id, Seq: seq, Site: s.site, AuditSeq: e.Seq, At: e.At.UTC(), Actor: e.Actor,
			Action: e.Action, Object: e.Object, Detail: e.Detail, Prev: hex.EncodeToString(e.PrevHash[:]),
			Hash: hex.EncodeToString(e.Hash[:])}
		if err := r.Validate(); err != nil {
			s.log.Warn("store: audit entry does not fit the wire; enqueued for the region to quarantine",
				"audit_seq", e.Seq, "err", err)
		}
		b, err := r.MarshalJSON()
		if err != nil {
			return OutboxMessage{}, fmt.Errorf("audit record %d: %w", e.Seq, err)
		}
		return OutboxMessage{Topic: s.auditTopic, Payload: b}, nil
	})
	return err
}

// Audit records an action that happened outside the store, such as a
// search in the web UI or an export, with a free-text or JSON detail.
func (s *Store) Audit(ctx context.Context, actor, action, object, detail string) error {
	const what = "audit entry"
	if err := checkID(what, "actor", actor); err != nil {
		return err
	}
	if err := checkID(what, "action", action); err != nil {
		return err
	}
	if err := checkText(what, "object", object, MaxNameBytes, true, false); err != nil {
		return err
	}
	if err := checkText(what, "detail", detail, MaxNoteBytes, false, true); err != nil {
		return err
	}
	return s.write(ctx, "audit", func(tx *sql.Tx) error {
		return s.appendAudit(ctx, tx, actor, action, object, detail)
	})
}

// AuditEntries returns up to limit entries with Seq > afterSeq in order.
func (s *Store) AuditEntries(ctx context.Context, afterSeq uint64, limit int) ([]AuditEntry, error) {
	if limit <= 0 || limit > MaxBatch {
		return nil, invalid("audit query", "limit", "must be in 1..%d, got %d", MaxBatch, limit)
	}
	var out []AuditEntry
	err := s.read(ctx, "audit entries", func(tx *sql.Tx) (err error) {
		out, err = auditAfter(ctx, tx, afterSeq, limit)
		return err
	})
	return out, err
}

// auditAfter reads up to limit entries with Seq > after inside tx.
func auditAfter(ctx context.Context, tx *sql.Tx, after uint64, limit int) ([]AuditEntry, error) {
	return appendRows(ctx, tx, nil, scanAudit, `SELECT seq, at_ms, actor, action, object, detail, prev_hash, hash
		FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, int64(min(after, 1<<63-1)), limit)
}

func scanAudit(rows scanner) (AuditEntry, error) {
	var e AuditEntry
	var at int64
	var prev, hash []byte
	if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Object, &e.Detail, &prev, &hash); err != nil {
		return e, err
	}
	e.At = fromMs(at)
	copy(e.PrevHash[:], prev)
	copy(e.Hash[:], hash)
	return e, nil
}

// AuditHead is the end of a verified chain. Publishing it elsewhere (the
// region keeps the entries it received) is what makes truncation of the
// newest entries detectable: the chain alone cannot tell that its tail
// was cut off.
type AuditHead struct {
	Seq  uint64   // number of entries; 0 for an empty log
	Hash [32]byte // hash of the last entry
}

// AuditChainError names the first entry at which the chain fails.
type AuditChainError struct {
	Seq    uint64
	Reason string
}

func (e *AuditChainError) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", e.Seq, e.Reason)
}

func (e *AuditChainError) Unwrap() error { return ErrAuditBroken }

// VerifyAudit walks the whole audit log in order and checks every link:
// sequence numbers run 1, 2, 3... (a deleted entry leaves a gap), each
// entry's PrevHash equals the previous entry's Hash (an entry removed or
// re-hashed breaks the next link) and each Hash matches the entry's
// content (an edited field breaks its own link). It returns the head of an
// intact chain, or an *AuditChainError (wrapping ErrAuditBroken) for the
// first broken link. It works in no-key mode.
func (s *Store) VerifyAudit(ctx context.Context) (AuditHead, error) {
	var head AuditHead
	err := s.read(ctx, "verify audit", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT seq, at_ms, actor, action, object, detail, prev_hash, hash
			FROM audit_log ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				return err
			}
			switch {
			case e.Seq != head.Seq+1:
				return &AuditChainError{Seq: e.Seq, Reason: fmt.Sprintf("follows entry %d: entries are missing", head.Seq)}
			case e.PrevHash != head.Hash:
				return &AuditChainError{Seq: e.Seq, Reason: "its previous-hash does not match the entry before it"}
			case e.computeHash() != e.Hash:
				return &AuditChainError{Seq: e.Seq, Reason: "its content does not match its hash (the entry was altered)"}
			}
			head = AuditHead{Seq: e.Seq, Hash: e.Hash}
		}
		return rows.Err()
	})
	if err != nil {
		return AuditHead{}, err
	}
	return head, nil
}
