package edge

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/sync/wire"
)

// auditStore is what the audit shipper needs of the store.
type auditStore interface {
	AuditEntries(ctx context.Context, afterSeq uint64, limit int) ([]store.AuditEntry, error)
	Enqueue(ctx context.Context, msgs []store.OutboxMessage) ([]uint64, error)
}

// auditShipper copies the store's audit log into the outbox as
// wire.AuditRecord messages, in audit order and in batches, and tells the
// uplink.
//
// The last shipped audit seq is kept in a small file beside the database
// (markerPath: the store's path + ".audit-shipped"), replaced atomically
// after each batch is committed to the outbox. The store has no API for a
// marker that would not itself be audited (which would feed the log it
// ships), and sent outbox rows cannot be read back (they are pruned), so
// the file is the durable record. A crash between a batch's commit and the
// marker's write ships that batch again on the next start: delivery is at
// least once, and the region drops repeats by audit_seq (each record's
// hash chain makes a repeat identical). A marker that cannot be written is
// logged and kept in memory.
//
// Shipping creates no audit entries: Enqueue is not audited and the
// uplink reads no crop for an audit record. The crop reads the uplink
// makes for sightings and alerts are entries like any other, shipped once.
type auditShipper struct {
	st         auditStore
	notify     func()
	log        *slog.Logger
	site       string
	topic      string
	markerPath string // "" keeps the marker in memory only
	every      time.Duration
	last       uint64 // last audit seq in the outbox
	failed     *every
}

func newAuditShipper(st auditStore, notify func(), log *slog.Logger, region, site, markerPath string,
	every time.Duration) (*auditShipper, error) {
	topic, err := wire.AuditTopic(region, site)
	if err != nil {
		return nil, err
	}
	if every <= 0 {
		every = time.Second
	}
	log = log.With("component", "audit-shipper")
	s := &auditShipper{st: st, notify: notify, log: log, site: site, topic: topic, markerPath: markerPath, every: every,
		failed: newEvery(log, slog.LevelError, "audit records not shipped: store error; retrying", time.Minute)}
	if markerPath != "" {
		b, err := os.ReadFile(markerPath)
		switch {
		case os.IsNotExist(err):
		case err != nil:
			return nil, fmt.Errorf("audit shipping marker: %w", err)
		default:
			n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("audit shipping marker %s: %w", markerPath, err)
			}
			s.last = n
		}
	}
	return s, nil
}

// auditMarkerPath is where the shipper of a store at dbPath keeps its
// marker.
func auditMarkerPath(dbPath string) string { return dbPath + ".audit-shipped" }

// run ships until ctx ends, then makes a last pass with a short deadline.
func (s *auditShipper) run(ctx context.Context) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.ship(ctx)
		select {
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			s.ship(lctx)
			cancel()
			s.failed.Flush()
			return
		case <-t.C:
			s.failed.Tick()
		}
	}
}

// ship enqueues every audit entry after the last shipped one, a batch per
// transaction.
func (s *auditShipper) ship(ctx context.Context) {
	for ctx.Err() == nil {
		entries, err := s.st.AuditEntries(ctx, s.last, auditBatch)
		if err != nil {
			s.failed.Note(err.Error())
			return
		}
		if len(entries) == 0 {
			return
		}
		msgs := make([]store.OutboxMessage, 0, len(entries))
		for _, e := range entries {
			m, err := s.message(e)
			if err != nil {
				s.failed.Note(err.Error(), "audit_seq", e.Seq)
				return
			}
			msgs = append(msgs, m)
		}
		if _, err := s.st.Enqueue(ctx, msgs); err != nil {
			s.failed.Note(err.Error())
			return
		}
		s.last = entries[len(entries)-1].Seq
		s.saveMarker()
		s.notify()
		if len(entries) < auditBatch {
			return
		}
	}
}

// message composes the outbox row of one entry (seq 0: the outbox adapter
// writes the row's number when it publishes). An entry the wire would
// refuse (a detail too long, say) is shipped as it is, for the region to
// quarantine with its reason, rather than leave a hole in the chain.
func (s *auditShipper) message(e store.AuditEntry) (store.OutboxMessage, error) {
	id, err := wire.NewID()
	if err != nil {
		return store.OutboxMessage{}, fmt.Errorf("audit record id: %w", err)
	}
	r := wire.AuditRecord{
		ID: id, Site: s.site, AuditSeq: e.Seq, At: e.At.UTC(), Actor: e.Actor, Action: e.Action, Object: e.Object,
		Detail: e.Detail, Prev: hex.EncodeToString(e.PrevHash[:]), Hash: hex.EncodeToString(e.Hash[:]),
	}
	probe := r
	probe.Seq = 1
	if err := probe.Validate(); err != nil {
		s.log.Warn("audit entry does not fit the wire; shipped for the region to quarantine", "audit_seq", e.Seq,
			"err", err)
	}
	b, err := r.MarshalJSON()
	if err != nil {
		return store.OutboxMessage{}, fmt.Errorf("audit record: %w", err)
	}
	return store.OutboxMessage{Topic: s.topic, Payload: b}, nil
}

// saveMarker replaces the marker file with the last shipped seq.
func (s *auditShipper) saveMarker() {
	if s.markerPath == "" {
		return
	}
	err := writeFileAtomic(s.markerPath, []byte(strconv.FormatUint(s.last, 10)+"\n"))
	if err != nil {
		s.log.Error("audit shipping marker not saved; a restart ships some records again", "err", err)
	}
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// auditBatch is the number of audit entries enqueued per transaction.
const auditBatch = 500
