package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// OutboxMessage is one message waiting for (or done with) the uplink.
type OutboxMessage struct {
	// Seq is the site sequence number, assigned by the store in the
	// transaction that stores the event: strictly increasing, without gaps,
	// never reused. Ignored on input.
	Seq     uint64
	Topic   string // MQTT topic name (no wildcards)
	Payload []byte // stored as given, NOT encrypted: never put templates or face crops here
	Retain  bool
	// CreatedAt and SentAt are set by the store; SentAt is zero while the
	// message is unsent.
	CreatedAt, SentAt time.Time
}

func validateOutbox(msgs []OutboxMessage) error {
	if len(msgs) > MaxBatch {
		return invalid("outbox message", "count", "is %d, at most %d per write", len(msgs), MaxBatch)
	}
	for i, m := range msgs {
		what := fmt.Sprintf("outbox message %d", i)
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
		}
	}
	return nil
}

// appendOutbox stores msgs inside tx with the next sequence numbers. The
// counter lives in its own row and is advanced in the same transaction, so
// a rollback gives the numbers back and a committed event always owns a
// contiguous run of them.
func (s *Store) appendOutbox(ctx context.Context, tx *sql.Tx, msgs []OutboxMessage) ([]uint64, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	var last int64
	err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + ? WHERE name = 'outbox_seq' RETURNING value`,
		len(msgs)).Scan(&last)
	if err != nil {
		return nil, fmt.Errorf("outbox sequence: %w", err)
	}
	now := s.nowMs()
	seqs := make([]uint64, len(msgs))
	first := last - int64(len(msgs)) + 1
	for i, m := range msgs {
		seq := first + int64(i)
		payload := m.Payload
		if payload == nil {
			payload = []byte{}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (seq, topic, payload, retain, created_at_ms) VALUES (?, ?, ?, ?, ?)`,
			seq, m.Topic, payload, boolInt(m.Retain), now); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		seqs[i] = uint64(seq)
	}
	return seqs, nil
}

// Enqueue stores messages that belong to no event (health reports, say)
// and returns their sequence numbers.
func (s *Store) Enqueue(ctx context.Context, msgs []OutboxMessage) ([]uint64, error) {
	if len(msgs) == 0 {
		return nil, invalid("outbox message", "count", "is zero")
	}
	if err := validateOutbox(msgs); err != nil {
		return nil, err
	}
	var seqs []uint64
	err := s.write(ctx, "enqueue", func(tx *sql.Tx) (err error) {
		seqs, err = s.appendOutbox(ctx, tx, msgs)
		return err
	})
	return seqs, err
}

// Pending returns up to limit unsent messages with Seq > afterSeq, in
// sequence order.
func (s *Store) Pending(ctx context.Context, afterSeq uint64, limit int) ([]OutboxMessage, error) {
	if limit <= 0 || limit > MaxBatch {
		return nil, invalid("outbox query", "limit", "must be in 1..%d, got %d", MaxBatch, limit)
	}
	if afterSeq > math.MaxInt64 {
		return nil, nil
	}
	var out []OutboxMessage
	err := s.read(ctx, "pending", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT seq, topic, payload, retain, created_at_ms FROM outbox
			WHERE sent_at_ms IS NULL AND seq > ? ORDER BY seq LIMIT ?`, int64(afterSeq), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m OutboxMessage
			var created int64
			if err := rows.Scan(&m.Seq, &m.Topic, &m.Payload, &m.Retain, &created); err != nil {
				return err
			}
			m.CreatedAt = fromMs(created)
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, err
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
	return n, dbErr("store: outbox depth", err)
}

// LastSeq is the last sequence number assigned (0 before the first).
func (s *Store) LastSeq(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.r.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = 'outbox_seq'`).Scan(&n)
	return n, dbErr("store: last sequence number", err)
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
