package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
)

// v1Store builds a database at schema version 1 holding what that version
// left behind: unsent messages composed with seq 0 and no crop (a
// sighting, an alert on it, an audit record of the daemon's shipper, one
// on a topic outside the wire's tree and one unreadable), a message
// already sent, and three audit entries.
func v1Store(t *testing.T, at time.Time) (path, keyPath string, payloads map[uint64][]byte) {
	t.Helper()
	ctx := context.Background()
	keyPath = newKeyFile(t)
	key, err := LoadKeyFile(keyPath)
	must(t, err)
	migs, err := loadMigrations(migrationFS)
	must(t, err)
	path = filepath.Join(t.TempDir(), "facility.db")
	opt := Options{SQLite: lib, KeyFile: keyPath, Now: func() time.Time { return at }}.withDefaults()
	must(t, create(ctx, path, key, migs[:1], opt))

	sid, aid := wire.MustNewID(), wire.MustNewID()
	ms := at.UnixMilli()
	sighting, err := json.Marshal(wire.Sighting{ID: sid, Site: testSite, Camera: "cam-1", Track: 4, Person: "P-1",
		FirstSeen: at, LastSeen: at, BestAt: at, Frames: 3, Score: 0.8, Margin: 0.3, Model: "m-1", Quality: 0.7})
	must(t, err)
	alert, err := json.Marshal(wire.Alert{ID: aid, Site: testSite, Rule: "R-WATCH", Kind: wire.AlertWatchlist,
		Severity: wire.SeverityCritical, Sighting: sid, Person: "P-1", Camera: "cam-1", At: at,
		Evidence: wire.Evidence{Score: 0.8, Margin: 0.3, Frames: 3}})
	must(t, err)
	var entries []AuditEntry
	var prev [32]byte
	for i, action := range []string{"person.put", "template.enrol", "crop.read"} {
		e := AuditEntry{Seq: uint64(i + 1), At: fromMs(ms), Actor: "supervisor", Action: action, Object: "person:P-1",
			Detail: "{}", PrevHash: prev}
		e.Hash = e.computeHash()
		prev = e.Hash
		entries = append(entries, e)
	}
	shipped, err := json.Marshal(wire.AuditRecord{ID: wire.MustNewID(), Site: testSite, AuditSeq: 1, At: entries[0].At,
		Actor: entries[0].Actor, Action: entries[0].Action, Object: entries[0].Object, Detail: entries[0].Detail,
		Prev: hex.EncodeToString(entries[0].PrevHash[:]), Hash: hex.EncodeToString(entries[0].Hash[:])})
	must(t, err)
	payloads = map[uint64][]byte{1: sighting, 2: alert, 3: shipped, 4: []byte("up"), 5: []byte("not json"), 6: sighting}

	db := openDB(lib.Driver(nil), dsn(path, "mode=rw"))
	defer db.Close()
	for _, m := range []struct {
		seq   uint64
		topic string
		sent  any
	}{
		{1, "dozor/v1/north/ik5/sighting", nil},
		{2, "dozor/v1/north/ik5/alert", nil},
		{3, "dozor/v1/north/ik5/audit", nil},
		{4, "dozor/F-07/status", nil},
		{5, "dozor/v1/north/ik5/sighting", nil},
		{6, "dozor/v1/north/ik5/sighting", ms},
	} {
		_, err := db.Exec(`INSERT INTO outbox (seq, topic, payload, retain, created_at_ms, sent_at_ms) VALUES (?, ?, ?, 0, ?, ?)`,
			m.seq, m.topic, payloads[m.seq], ms, m.sent)
		must(t, err)
	}
	_, err = db.Exec(`UPDATE counters SET value = 6 WHERE name = 'outbox_seq'`)
	must(t, err)
	for _, e := range entries {
		_, err := db.Exec(`INSERT INTO audit_log (seq, at_ms, actor, action, object, detail, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.Seq, ms, e.Actor, e.Action, e.Object, e.Detail, e.PrevHash[:], e.Hash[:])
		must(t, err)
	}
	return path, keyPath, payloads
}

// TestUpgradeFinishesV1Outbox opens a schema-1 database: its unsent
// messages leave with their seq written in and nothing else changed, and
// the audit entries its daemon had not yet shipped (those after the
// marker file, or all of them without one) are enqueued after them; the
// marker file is gone.
func TestUpgradeFinishesV1Outbox(t *testing.T) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	for _, tc := range []struct {
		name   string
		marker string // "" writes none
		first  uint64 // first audit seq enqueued by the upgrade
	}{
		{"marker", "1\n", 2},
		{"no marker", "", 1},
		{"unreadable marker", "eleven", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, keyPath, v1 := v1Store(t, at)
			if tc.marker != "" {
				must(t, os.WriteFile(path+".audit-shipped", []byte(tc.marker), 0o600))
			}
			s, err := Open(path, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath})
			must(t, err)
			defer s.Close()
			if _, err := os.Stat(path + ".audit-shipped"); !os.IsNotExist(err) {
				t.Errorf("the marker file is still there: %v", err)
			}
			msgs, err := s.Pending(ctx, 0, 100)
			must(t, err)
			bySeq := map[uint64]OutboxMessage{}
			for _, m := range msgs {
				bySeq[m.Seq] = m
			}
			now := time.Now()
			if sg, err := wire.DecodeSighting(bySeq[1].Payload, now); err != nil || sg.Seq != 1 || len(sg.Crop) != 0 {
				t.Errorf("sighting %+v, %v\n%s", sg, err, bySeq[1].Payload)
			}
			// As with crops turned off, the alert leaves without its crop,
			// for the region to file with that reason.
			var alert map[string]any
			if _, err := wire.DecodeAlert(bySeq[2].Payload, now); err == nil || !strings.Contains(err.Error(), "crop") ||
				json.Unmarshal(bySeq[2].Payload, &alert) != nil || alert["seq"] != float64(2) || alert["rule"] != "R-WATCH" {
				t.Errorf("alert %s: %v", bySeq[2].Payload, err)
			}
			if r, err := wire.DecodeAuditRecord(bySeq[3].Payload, now); err != nil || r.Seq != 3 || r.AuditSeq != 1 {
				t.Errorf("shipped audit record %+v, %v", r, err)
			}
			for _, seq := range []uint64{4, 5} {
				if string(bySeq[seq].Payload) != string(v1[seq]) {
					t.Errorf("message %d changed: %q", seq, bySeq[seq].Payload)
				}
			}
			var sent []byte
			must(t, s.r.QueryRow(`SELECT payload FROM outbox WHERE seq = 6`).Scan(&sent))
			if string(sent) != string(v1[6]) {
				t.Errorf("a sent message was rewritten: %s", sent)
			}

			entries, err := s.AuditEntries(ctx, 0, 100)
			must(t, err)
			want := entries[tc.first-1:]
			if len(msgs) != 5+len(want) {
				t.Fatalf("%d messages pending, want 5 and %d audit records", len(msgs), len(want))
			}
			for i, e := range want {
				m := msgs[5+i]
				r, err := wire.DecodeAuditRecord(m.Payload, now)
				if err != nil || m.Seq != uint64(7+i) || r.Seq != m.Seq || r.AuditSeq != e.Seq ||
					r.Hash != hex.EncodeToString(e.Hash[:]) || m.Topic != testAuditTopic {
					t.Errorf("audit record at %d: %+v, %v; want entry %d", m.Seq, r, err, e.Seq)
				}
			}
			if _, err := s.VerifyAudit(ctx); err != nil {
				t.Error(err)
			}
		})
	}
}
