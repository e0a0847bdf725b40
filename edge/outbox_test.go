//go:build cgo

package edge

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/sync/wire"
)

// TestPublishingDoesNotWrite stores a sighting and the alert it raises
// through the sightings loop into a real store, then reads the outbox
// through the uplink's adapter again and again, as the uplink does on
// every resend (after a reconnect, or for a range the region asks for
// again): what it publishes is each message as stored, final (seq, crop),
// and nothing is written to the database, neither audit entries nor
// outbox rows nor anything else a commit would show.
func TestPublishingDoesNotWrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := filepath.Join(t.TempDir(), "store.key")
	if _, err := store.GenerateKeyFile(key); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dozor.db")
	st, err := store.Open(path, store.Options{SQLite: sqlite.Binding{}, KeyFile: key, Region: "north", Site: "ik5"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, err := range []error{
		st.PutZone(ctx, "admin", store.Zone{ID: "yard", Name: "Yard", Kind: store.ZoneYard}),
		st.PutCamera(ctx, "admin", store.Camera{ID: "gate-1", Name: "Gate", ZoneID: "yard"}),
		st.PutPerson(ctx, "admin", store.Person{ID: "P-1", DisplayName: "P 1", Facility: "ik5", Status: store.StatusActive,
			WatchLists: []string{"escape-risk"}}),
		st.PutRule(ctx, "admin", store.Rule{ID: "wl", Kind: custody.KindWatchList, Name: "Escape risk",
			Params: []byte(`{"watch_list":"escape-risk"}`), Severity: custody.Critical, Enabled: true}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	l, notified := testLoop(t, st, 0, watchListSite(t))
	l.sighting(ctx, facts("P-1", 1))
	if *notified != 2 || l.m.rejected.Load() != 0 {
		t.Fatalf("%d events stored, %d refused", *notified, l.m.rejected.Load())
	}

	// PRAGMA data_version on a connection of its own moves whenever any
	// other connection commits.
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	type state struct {
		dataVersion int64
		last        uint64
		depth       int
		audit       int
	}
	read := func() state {
		t.Helper()
		var s state
		if err := conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&s.dataVersion); err != nil {
			t.Fatal(err)
		}
		var err error
		if s.last, err = st.LastSeq(ctx); err != nil {
			t.Fatal(err)
		}
		if s.depth, err = st.OutboxDepth(ctx); err != nil {
			t.Fatal(err)
		}
		entries, err := st.AuditEntries(ctx, 0, store.MaxBatch)
		if err != nil {
			t.Fatal(err)
		}
		s.audit = len(entries)
		return s
	}
	before := read()

	ob := outbox{st: st}
	var sighting wire.Sighting
	var alert wire.Alert
	for range 3 {
		msgs, err := ob.Pending(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(msgs)) != before.last {
			t.Fatalf("%d messages pending, %d assigned", len(msgs), before.last)
		}
		// A range the region asks for again reads the same messages.
		again, err := ob.Range(ctx, 1, before.last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(again) != len(msgs) {
			t.Fatalf("range 1..%d: %d messages, %d pending", before.last, len(again), len(msgs))
		}
		for i, m := range again {
			if p := msgs[i]; m.Seq != p.Seq || m.Topic != p.Topic || !bytes.Equal(m.Payload, p.Payload) || m.Sent || m.QoS != 1 {
				t.Fatalf("range message %d differs from the pending one: %+v", m.Seq, m)
			}
		}
		var releases []string
		for i, m := range msgs {
			got, err := wire.Decode(m.Topic, m.Payload, time.Now())
			if err != nil || m.Seq != uint64(i+1) || got.Seq() != m.Seq || m.QoS != 1 {
				t.Fatalf("message %d on %s: seq %d, %v\n%s", m.Seq, m.Topic, got.Seq(), err, m.Payload)
			}
			switch p := got.Payload.(type) {
			case wire.Sighting:
				sighting = p
			case wire.Alert:
				alert = p
			case wire.AuditRecord:
				if p.Action == "crop.release" {
					releases = append(releases, p.Object)
				}
			}
		}
		// One release per message that carries the crop: the sighting's
		// and the alert's.
		if len(releases) != 2 || releases[0] != "sighting:"+sighting.ID.String() || releases[1] != releases[0] {
			t.Errorf("crop releases %v", releases)
		}
	}
	if got := read(); got != before {
		t.Errorf("publishing wrote to the database: %+v before, %+v after", before, got)
	}

	// What was published is what the store holds; the guard's look at the
	// crop is a write of its own (an audit entry), which the measure sees.
	crop, err := st.Crop(ctx, "guard-7", sighting.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(sighting.Crop) == 0 || !bytes.Equal(sighting.Crop, crop) || !bytes.Equal(alert.Evidence.Crop, crop) ||
		alert.Sighting != sighting.ID {
		t.Errorf("published crops %d and %d bytes, stored %d", len(sighting.Crop), len(alert.Evidence.Crop), len(crop))
	}
	if got := read(); got.dataVersion == before.dataVersion || got.audit != before.audit+1 {
		t.Errorf("a crop view was not seen as a write: %+v before, %+v after", before, got)
	}
}
