package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
)

// dataVersion reads PRAGMA data_version on conn, which changes when any
// other connection commits a change to the database.
func dataVersion(t *testing.T, conn *sql.Conn) int64 {
	t.Helper()
	var v int64
	must(t, conn.QueryRowContext(context.Background(), `PRAGMA data_version`).Scan(&v))
	return v
}

// TestCropMessageIsSealedAndReleasedOnce stores a sighting whose message
// holds its crop: the payload is sealed at rest and bound to its row, the
// release is audited once in the sighting's transaction (with its own
// audit record right after the message), and reading the outbox, however
// often, writes nothing.
func TestCropMessageIsSealedAndReleasedOnce(t *testing.T) {
	ctx := context.Background()
	s, path, _ := openSite(t)
	sg := sightingN(1, "P-1")
	sg.Crop = testJPEG(t, 1, 2000)
	payload := func(seq uint64) []byte {
		return fmt.Appendf(nil, `{"seq":%d,"note":"a payload that is never on disk in the clear","crop":"/9j/4A=="}`, seq)
	}
	seq, err := s.RecordSighting(ctx, sg, func(seq uint64) (OutboxMessage, error) {
		return OutboxMessage{Topic: "dozor/v1/north/ik5/sighting", Payload: payload(seq), CropOf: sg.ID}, nil
	})
	must(t, err)
	want := payload(seq)

	var raw []byte
	var cropOf string
	must(t, s.r.QueryRow(`SELECT payload, crop_of FROM outbox WHERE seq = ?`, seq).Scan(&raw, &cropOf))
	if bytes.Contains(raw, []byte("never on disk")) || cropOf != sg.ID {
		t.Fatalf("stored row: crop_of %q, payload %q", cropOf, raw)
	}
	releases := func() []AuditEntry {
		entries, err := s.AuditEntries(ctx, 0, MaxBatch)
		must(t, err)
		var out []AuditEntry
		for _, e := range entries {
			if e.Action == "crop.release" {
				out = append(out, e)
			}
		}
		return out
	}
	rel := releases()
	var detail struct {
		Seq   uint64
		Topic string
	}
	if len(rel) != 1 || rel[0].Actor != SystemActor || rel[0].Object != "sighting:"+sg.ID ||
		json.Unmarshal([]byte(rel[0].Detail), &detail) != nil || detail.Seq != seq || detail.Topic != "dozor/v1/north/ik5/sighting" {
		t.Fatalf("crop releases %+v", rel)
	}

	// Reading the outbox is a pure read: nothing is committed, however
	// often it is read.
	db := openDB(lib.Driver(nil), dsn(path, "mode=ro"))
	defer db.Close()
	conn, err := db.Conn(ctx)
	must(t, err)
	defer conn.Close()
	before, last, audit := dataVersion(t, conn), seq+1, count(t, s, `SELECT count(*) FROM audit_log`)
	for range 3 {
		got, err := s.Pending(ctx, seq-1, 10)
		must(t, err)
		if len(got) != 2 || got[0].Seq != seq || got[0].CropOf != sg.ID || !bytes.Equal(got[0].Payload, want) {
			t.Fatalf("pending %+v", got)
		}
		rec, err := wire.Decode(got[1].Topic, got[1].Payload, time.Now())
		if err != nil || rec.Seq() != seq+1 || rec.Payload.(wire.AuditRecord).Action != "crop.release" {
			t.Fatalf("the release's audit record: %+v, %v", rec, err)
		}
	}
	if v := dataVersion(t, conn); v != before {
		t.Errorf("data_version moved from %d to %d while the outbox was read", before, v)
	}
	if n, _ := s.LastSeq(ctx); n != last || len(releases()) != 1 || count(t, s, `SELECT count(*) FROM audit_log`) != audit {
		t.Errorf("reading the outbox wrote: last seq %d (want %d), %d releases, audit entries %d -> %d",
			n, last, len(releases()), audit, count(t, s, `SELECT count(*) FROM audit_log`))
	}
	// The check above can fail: a commit moves data_version.
	must(t, s.Audit(ctx, "guard-7", "search", "q", ""))
	if v := dataVersion(t, conn); v == before {
		t.Error("data_version did not move on a commit")
	}

	// Without the key the sealed payload cannot be read; moved to another
	// row it does not open.
	ro, err := Open(path, Options{SQLite: lib, NoKey: true})
	must(t, err)
	if _, err := ro.Pending(ctx, seq-1, 1); !errors.Is(err, ErrNoKey) {
		t.Errorf("no-key Pending of a sealed payload: %v", err)
	}
	must(t, ro.Close())
	_, err = s.w.Exec(`UPDATE outbox SET payload = (SELECT payload FROM outbox WHERE seq = ?), crop_of = ? WHERE seq = ?`,
		seq, sg.ID, seq+1)
	must(t, err)
	if _, err := s.Pending(ctx, seq, 1); !errors.Is(err, ErrDecrypt) {
		t.Errorf("a sealed payload moved to another row: %v", err)
	}

	must(t, s.Close())
	file, err := os.ReadFile(path)
	must(t, err)
	if bytes.Contains(file, []byte("never on disk")) {
		t.Error("the crop's message is in the clear in the database file")
	}
}

// TestAuditEntriesAreEnqueued checks that every audit entry reaches the
// outbox in its own transaction as the audit record the region reads,
// numbered in audit order, and that an entry the wire refuses is enqueued
// all the same and logged.
func TestAuditEntriesAreEnqueued(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	s, err := Open(filepath.Join(t.TempDir(), "f.db"), Options{SQLite: lib, Region: testRegion, Site: testSite,
		KeyFile: newKeyFile(t), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	must(t, err)
	defer s.Close()
	setupSite(t, s)
	must(t, s.Audit(ctx, "guard-7", "search", "person:P-1", "query \"P-1\""))
	must(t, s.Audit(ctx, "guard-7", "Export_All", "persons", "")) // not a wire verb

	entries, err := s.AuditEntries(ctx, 0, MaxBatch)
	must(t, err)
	msgs, err := s.Pending(ctx, 0, MaxBatch)
	must(t, err)
	if len(msgs) != len(entries) {
		t.Fatalf("%d messages for %d audit entries", len(msgs), len(entries))
	}
	for i, m := range msgs {
		e := entries[i]
		if m.Topic != testAuditTopic || m.Seq != uint64(i+1) {
			t.Fatalf("message %d on %s", m.Seq, m.Topic)
		}
		var r wire.AuditRecord
		if i < len(msgs)-1 {
			dec, err := wire.Decode(m.Topic, m.Payload, time.Now())
			if err != nil {
				t.Fatalf("audit record %d: %v\n%s", e.Seq, err, m.Payload)
			}
			r = dec.Payload.(wire.AuditRecord)
		} else {
			// The region quarantines it; it arrives whole all the same.
			if _, err := wire.Decode(m.Topic, m.Payload, time.Now()); err == nil || !strings.Contains(err.Error(), "action") {
				t.Errorf("the record of a non-verb action decoded: %v", err)
			}
			must(t, json.Unmarshal(m.Payload, &r))
		}
		if r.Seq != m.Seq || r.Site != testSite || r.AuditSeq != e.Seq || !r.At.Equal(e.At) || r.Actor != e.Actor ||
			r.Action != e.Action || r.Object != e.Object || r.Detail != e.Detail ||
			r.Prev != hex.EncodeToString(e.PrevHash[:]) || r.Hash != hex.EncodeToString(e.Hash[:]) {
			t.Errorf("audit record %+v does not carry entry %+v", r, e)
		}
	}
	if !strings.Contains(logs.String(), "does not fit the wire") || !strings.Contains(logs.String(), "audit_seq=") {
		t.Errorf("the refused entry was not logged:\n%s", logs.String())
	}
}

func TestOpenNeedsSite(t *testing.T) {
	keyPath := newKeyFile(t)
	dir := t.TempDir()
	for _, opt := range []Options{
		{SQLite: lib, KeyFile: keyPath},
		{SQLite: lib, KeyFile: keyPath, Region: testRegion},
		{SQLite: lib, KeyFile: keyPath, Region: testRegion, Site: "ik/5"},
	} {
		path := filepath.Join(dir, "f.db")
		s, err := Open(path, opt)
		if err == nil {
			s.Close()
			t.Fatalf("Open with region %q, site %q succeeded", opt.Region, opt.Site)
		}
		if !strings.Contains(err.Error(), "site") {
			t.Errorf("error %q does not name the site", err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Error("a database was created")
		}
	}
}
