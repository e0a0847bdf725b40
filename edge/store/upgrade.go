package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/dozor-edge/dozor/sync/wire"
)

// upgrades are the Go steps of the migrations, by version.
func (s *Store) upgrades() map[int]upgrade {
	return map[int]upgrade{2: s.finishV1Outbox}
}

// shipMarker is the file in which schema 1's audit shipper, which ran in
// the daemon, kept the last audit seq it had put into the outbox.
func (s *Store) shipMarker() string { return s.path + ".audit-shipped" }

// finishV1Outbox brings the outbox of a schema-1 database into the form
// of schema 2, in migration 2's transaction.
//
// Schema 1 stored payloads with seq 0 and no crop, and the publisher
// finished each message as it left. The unsent ones are finished here,
// once: the row's seq is written into the payload, which is otherwise
// kept. No crop is attached: whether crops leave the box is the uplink's
// setting, which the store does not know. A sighting is complete without
// its crop; an alert goes out without it, for the region to file with
// that reason, as when crops are turned off. A payload that cannot be
// read is kept as it is, for the region to quarantine.
//
// Schema 1 copied audit entries into the outbox from outside the store,
// with its progress in a marker file beside the database. The entries
// after the marker (every entry when there is none, or it cannot be read)
// are enqueued here as audit records, after the rows above; the region
// drops repeats by audit_seq.
func (s *Store) finishV1Outbox(ctx context.Context, tx *sql.Tx) error {
	type row struct {
		seq     uint64
		topic   string
		payload []byte
	}
	pending, err := appendRows(ctx, tx, nil, func(sc scanner) (row, error) {
		var r row
		err := sc.Scan(&r.seq, &r.topic, &r.payload)
		return r, err
	}, `SELECT seq, topic, payload FROM outbox WHERE sent_at_ms IS NULL ORDER BY seq`)
	if err != nil {
		return err
	}
	for _, r := range pending {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET payload = ? WHERE seq = ?`,
			v1Payload(r.topic, r.payload, r.seq), int64(r.seq)); err != nil {
			return fmt.Errorf("finishing outbox message %d: %w", r.seq, err)
		}
	}

	after := s.readShipMarker()
	shipped := 0
	for {
		entries, err := auditAfter(ctx, tx, after, 1000)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := s.enqueueAudit(ctx, tx, e); err != nil {
				return err
			}
			after = e.Seq
		}
		shipped += len(entries)
		if len(entries) < 1000 {
			break
		}
	}
	s.log.Info("store: outbox upgraded to composed messages", "finished", len(pending), "audit_records", shipped)
	return nil
}

// v1Payload is a schema-1 payload with its seq written in.
func v1Payload(topic string, payload []byte, seq uint64) []byte {
	t, err := wire.ParseTopic(topic)
	if err != nil {
		return payload
	}
	switch t.Kind {
	case wire.KindSighting:
		return withSeq(payload, seq, func(p *wire.Sighting) *uint64 { return &p.Seq })
	case wire.KindAlert:
		return withSeq(payload, seq, func(p *wire.Alert) *uint64 { return &p.Seq })
	case wire.KindAlertDecision:
		return withSeq(payload, seq, func(p *wire.AlertDecision) *uint64 { return &p.Seq })
	case wire.KindAudit:
		return withSeq(payload, seq, func(p *wire.AuditRecord) *uint64 { return &p.Seq })
	}
	return payload
}

func withSeq[P wire.Payload](payload []byte, seq uint64, field func(*P) *uint64) []byte {
	var p P
	if err := json.Unmarshal(payload, &p); err != nil {
		return payload
	}
	*field(&p) = seq
	b, err := json.Marshal(p)
	if err != nil {
		return payload
	}
	return b
}

// readShipMarker returns the last audit seq schema 1's shipper enqueued,
// 0 when it cannot tell.
func (s *Store) readShipMarker() uint64 {
	b, err := os.ReadFile(s.shipMarker())
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("store: the audit shipping marker cannot be read; the whole audit log is enqueued again",
				"path", s.shipMarker(), "err", err)
		}
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		s.log.Warn("store: the audit shipping marker is not a number; the whole audit log is enqueued again",
			"path", s.shipMarker(), "err", err)
		return 0
	}
	return n
}

// removeShipMarker removes schema 1's marker once the schema no longer
// needs it.
func (s *Store) removeShipMarker() {
	if err := os.Remove(s.shipMarker()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("store: the obsolete audit shipping marker could not be removed", "path", s.shipMarker(), "err", err)
	}
}
