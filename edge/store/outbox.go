package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// OutboxMessage is one message waiting for (or done with) the uplink.
type OutboxMessage struct {
	// Seq is the site sequence number, assigned by the store in the
	// transaction that stores the event and handed to the Compose that
	// makes the message, so the payload carries it: strictly increasing,
	// without gaps, never reused. Ignored on input.
	Seq     uint64
	Topic   string // MQTT topic name (no wildcards)
	Payload []byte // the final wire payload, published as it is
	Retain  bool
	// CropOf names the sighting whose face crop the payload holds, "" for
	// none. Such a payload is biometric: the store keeps it sealed and
	// audits the crop's release to the region ("crop.release" by
	// SystemActor) in the transaction that stores it. Pending returns it
	// opened.
	CropOf string
	// CreatedAt and SentAt are set by the store; SentAt is zero while the
	// message is unsent.
	CreatedAt, SentAt time.Time
}

// Compose makes the outbox message that announces an event, given the
// sequence number the store assigns to it. The store calls it once,
// inside the event's transaction, and stores what it returns as the final
// payload; an error rolls the whole write back and is reported wrapping
// ErrInvalid, since retrying cannot help.
type Compose func(seq uint64) (OutboxMessage, error)

func validateMessage(m OutboxMessage) error {
	const what = "outbox message"
	switch {
	case m.Topic == "":
		return invalid(what, "topic", "is empty")
	case len(m.Topic) > MaxTopicBytes:
		return invalid(what, "topic", "is %d bytes, at most %d are allowed", len(m.Topic), MaxTopicBytes)
	case !utf8.ValidString(m.Topic):
		return invalid(what, "topic", "is not valid UTF-8")
	case strings.ContainsAny(m.Topic, "+#\x00"):
		return invalid(what, "topic", "%q contains a wildcard or NUL; messages are published to one topic", m.Topic)
	case strings.HasPrefix(m.Topic, "$"):
		return invalid(what, "topic", "%q starts with '$', which brokers reserve", m.Topic)
	case len(m.Payload) > MaxPayloadBytes:
		return invalid(what, "payload", "is %d bytes, at most %d are allowed", len(m.Payload), MaxPayloadBytes)
	case m.CropOf != "":
		return checkUUID(what, "crop of", m.CropOf)
	}
	return nil
}

func outboxAD(seq uint64) []byte {
	return boundTo("outbox", "payload", strconv.FormatUint(seq, 10))
}

// appendOutbox stores the message compose makes (none when compose is
// nil) inside tx with the next sequence number, and returns the number.
// The counter lives in its own row and is advanced in the same
// transaction, so a rollback gives the number back and a committed event
// always owns a contiguous run of numbers. A payload holding a crop is
// sealed, and the crop's release audited, here.
func (s *Store) appendOutbox(ctx context.Context, tx *sql.Tx, compose Compose) (uint64, error) {
	if compose == nil {
		return 0, nil
	}
	var n int64
	err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'outbox_seq' RETURNING value`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("outbox sequence: %w", err)
	}
	seq := uint64(n)
	m, err := compose(seq)
	if err != nil {
		return 0, invalid("outbox message", "payload", "could not be composed: %v", err)
	}
	if err := validateMessage(m); err != nil {
		return 0, err
	}
	payload, cropOf := m.Payload, any(nil)
	if payload == nil {
		payload = []byte{}
	}
	if m.CropOf != "" {
		if err := s.needKey("outbox message with a crop"); err != nil {
			return 0, err
		}
		if err := mustExist(ctx, tx, "sightings", "sighting", m.CropOf); err != nil {
			return 0, fmt.Errorf("the crop of outbox message %d: %w", seq, err)
		}
		payload, cropOf = s.seal.seal(payload, outboxAD(seq)), m.CropOf
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (seq, topic, payload, retain, created_at_ms, crop_of)
		VALUES (?, ?, ?, ?, ?, ?)`, n, m.Topic, payload, boolInt(m.Retain), s.nowMs(), cropOf); err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	if m.CropOf != "" {
		if err := s.appendAudit(ctx, tx, SystemActor, "crop.release", "sighting:"+m.CropOf, map[string]any{
			"seq": seq, "topic": m.Topic}); err != nil {
			return 0, err
		}
	}
	return seq, nil
}

// Enqueue stores a message that belongs to no event (a health report,
// say) and returns its sequence number.
func (s *Store) Enqueue(ctx context.Context, compose Compose) (uint64, error) {
	if compose == nil {
		return 0, invalid("outbox message", "compose", "is nil")
	}
	return s.writeWithOutbox(ctx, "enqueue", compose, nil)
}

// writeWithOutbox runs fn (if any) and then appends the message compose
// makes, in one write transaction: the event and its message are stored
// together or not at all. It returns the message's sequence number (0 for
// no message).
func (s *Store) writeWithOutbox(ctx context.Context, op string, compose Compose, fn func(*sql.Tx) error) (uint64, error) {
	var seq uint64
	err := s.write(ctx, op, func(tx *sql.Tx) (err error) {
		if fn != nil {
			if err := fn(tx); err != nil {
				return err
			}
		}
		seq, err = s.appendOutbox(ctx, tx, compose)
		return err
	})
	if err != nil {
		return 0, err
	}
	return seq, nil
}

// Pending returns up to limit unsent messages with Seq > afterSeq, in
// sequence order, as they are published: it only reads. Sealed payloads
// are opened (in no-key mode they cannot be: ErrNoKey).
func (s *Store) Pending(ctx context.Context, afterSeq uint64, limit int) ([]OutboxMessage, error) {
	if limit <= 0 || limit > MaxBatch {
		return nil, invalid("outbox query", "limit", "must be in 1..%d, got %d", MaxBatch, limit)
	}
	if afterSeq > math.MaxInt64 {
		return nil, nil
	}
	return readRows(ctx, s, "pending", nil, s.outboxRow("pending"),
		`SELECT seq, topic, payload, retain, created_at_ms, sent_at_ms, crop_of FROM outbox
		WHERE sent_at_ms IS NULL AND seq > ? ORDER BY seq LIMIT ?`, int64(afterSeq), limit)
}

// OutboxRange returns up to limit messages with from <= Seq <= to, sent
// or not (SentAt tells), in sequence order, opened as Pending opens them:
// what the uplink publishes again when the region asks for a range it
// missed. Like Pending it only reads; the crops it opens were released
// and audited when their messages were stored. Rows already pruned are
// simply not returned, so a range may come back shorter or empty.
func (s *Store) OutboxRange(ctx context.Context, from, to uint64, limit int) ([]OutboxMessage, error) {
	switch {
	case limit <= 0 || limit > MaxBatch:
		return nil, invalid("outbox range", "limit", "must be in 1..%d, got %d", MaxBatch, limit)
	case from == 0:
		return nil, invalid("outbox range", "from", "must be at least 1 (sequence numbers start at 1)")
	case to < from:
		return nil, invalid("outbox range", "to", "%d is below from %d", to, from)
	case from > math.MaxInt64:
		return nil, nil
	}
	to = min(to, math.MaxInt64)
	return readRows(ctx, s, "outbox range", nil, s.outboxRow("outbox range"),
		`SELECT seq, topic, payload, retain, created_at_ms, sent_at_ms, crop_of FROM outbox
		WHERE seq BETWEEN ? AND ? ORDER BY seq LIMIT ?`, int64(from), int64(to), limit)
}

// outboxRow scans an outbox row selected as Pending and OutboxRange do,
// opening a sealed payload.
func (s *Store) outboxRow(op string) func(scanner) (OutboxMessage, error) {
	return func(r scanner) (OutboxMessage, error) {
		var m OutboxMessage
		var created int64
		var sent sql.NullInt64
		var cropOf sql.NullString
		if err := r.Scan(&m.Seq, &m.Topic, &m.Payload, &m.Retain, &created, &sent, &cropOf); err != nil {
			return m, err
		}
		m.CreatedAt = fromMs(created)
		if sent.Valid {
			m.SentAt = fromMs(sent.Int64)
		}
		if cropOf.Valid {
			if err := s.needKey(op); err != nil {
				return m, err
			}
			var err error
			if m.Payload, err = s.seal.open(m.Payload, outboxAD(m.Seq)); err != nil {
				return m, fmt.Errorf("outbox message %d: %w", m.Seq, err)
			}
			m.CropOf = cropOf.String
		}
		return m, nil
	}
}

// MarkSent records that the broker acknowledged these messages. Marking a
// message twice keeps the first time; a message already pruned is fine; a
// sequence number never assigned is an error and nothing is marked.
func (s *Store) MarkSent(ctx context.Context, seqs []uint64) error {
	if len(seqs) > MaxBatch {
		return invalid("mark sent", "seqs", "has %d entries, at most %d per call", len(seqs), MaxBatch)
	}
	if len(seqs) == 0 {
		return nil
	}
	return s.write(ctx, "mark sent", func(tx *sql.Tx) error {
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = 'outbox_seq'`).Scan(&last); err != nil {
			return err
		}
		now := s.nowMs()
		for _, seq := range seqs {
			if seq == 0 || seq > uint64(last) {
				return fmt.Errorf("%w: outbox sequence number %d was never assigned (last is %d)", ErrNotFound, seq, last)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET sent_at_ms = ? WHERE seq = ? AND sent_at_ms IS NULL`,
				now, int64(seq)); err != nil {
				return err
			}
		}
		return nil
	})
}

// OutboxDepth is the number of unsent messages.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE sent_at_ms IS NULL`).Scan(&n)
	return n, dbErr(s.sqlite, "store: outbox depth", err)
}

// LastSeq is the last sequence number assigned (0 before the first).
func (s *Store) LastSeq(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.r.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = 'outbox_seq'`).Scan(&n)
	return n, dbErr(s.sqlite, "store: last sequence number", err)
}

// PruneOutbox deletes messages that were sent more than keepDays days ago
// and returns how many. Unsent messages are never deleted, however old;
// sequence numbers are not reused after pruning.
func (s *Store) PruneOutbox(ctx context.Context, keepDays int) (int64, error) {
	if keepDays < 0 || keepDays > 3650 {
		return 0, invalid("outbox retention", "keepDays", "must be in 0..3650, got %d", keepDays)
	}
	cutoff := s.now().Add(-time.Duration(keepDays) * 24 * time.Hour).UnixMilli()
	var n int64
	err := s.write(ctx, "prune outbox", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE sent_at_ms IS NOT NULL AND sent_at_ms < ?`, cutoff)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
