package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestStorageFull caps the database with PRAGMA max_page_count so that it
// cannot grow, as on a full disk: writes then fail with ErrStorageFull and
// leave nothing behind (no sighting, no audit entry, no outbox row, no
// used sequence number); once the cap is raised the same writes succeed
// and everything stored before is intact.
func TestStorageFull(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)

	stored := map[string][]byte{}
	var seqs []uint64
	record := func(n int) (uint64, error) {
		sg := sightingN(n, "P-1")
		sg.Crop = testJPEG(t, uint64(n), 60<<10)
		got, err := s.RecordSighting(ctx, sg, msg("dozor/F-07/sightings"))
		if err == nil {
			stored[sg.ID] = sg.Crop
			seqs = append(seqs, got)
		}
		return got, err
	}
	for n := range 3 {
		_, err := record(n)
		must(t, err)
	}

	var pages int
	must(t, s.w.QueryRow(`PRAGMA page_count`).Scan(&pages))
	_, err := s.w.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+40)) // room for about two more crops
	must(t, err)

	var fullAt int
	for n := 3; ; n++ {
		if n > 50 {
			t.Fatal("the capped database never filled up")
		}
		_, err := record(n)
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrStorageFull) {
			t.Fatalf("sighting %d: %v, want ErrStorageFull", n, err)
		}
		t.Logf("sighting %d refused: %v", n, err)
		fullAt = n
		break
	}
	auditBefore := count(t, s, `SELECT count(*) FROM audit_log`)
	// Other writes are refused the same way while the disk stays full.
	big := func(uint64) (OutboxMessage, error) {
		return OutboxMessage{Topic: "dozor/F-07/status", Payload: bytes.Repeat([]byte("x"), 500<<10)}, nil
	}
	if _, err := s.Enqueue(ctx, big); !errors.Is(err, ErrStorageFull) {
		t.Errorf("large enqueue on a full disk: %v", err)
	}
	if _, err := s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-2", Model: testModel,
		Vec: unitVec(1, MaxDim), Quality: 0.9, Source: "camera"}); !errors.Is(err, ErrStorageFull) {
		t.Errorf("enrolment on a full disk: %v", err)
	}

	// Nothing of the failed writes was stored.
	if _, err := s.Sighting(ctx, uuidN(fullAt)); !errors.Is(err, ErrNotFound) {
		t.Errorf("refused sighting: %v", err)
	}
	// Each sighting's message is the last row of its transaction.
	checkGapFree(t, s, int(seqs[len(seqs)-1]))
	if got := count(t, s, `SELECT count(*) FROM audit_log`); got != auditBefore {
		t.Errorf("refused writes left %d audit entries", got-auditBefore)
	}
	if got := count(t, s, `SELECT count(*) FROM audit_log WHERE object = ?`, "sighting:"+uuidN(fullAt)); got != 0 {
		t.Error("audit entry of the refused sighting was stored")
	}

	// Space returns: the refused sighting and new ones are stored.
	_, err = s.w.Exec(`PRAGMA max_page_count = 1073741823`)
	must(t, err)
	last := seqs[len(seqs)-1]
	got, err := record(fullAt)
	must(t, err)
	// last+1 is the audit record of the crop stored with it.
	if got != last+2 {
		t.Errorf("after space returned the sighting's number is %d, want %d", got, last+2)
	}
	_, err = record(fullAt + 1)
	must(t, err)
	checkGapFree(t, s, int(seqs[len(seqs)-1]))
	for id, crop := range stored {
		b, err := s.Crop(ctx, "guard", id)
		must(t, err)
		if !bytes.Equal(b, crop) {
			t.Errorf("crop of %s changed", id)
		}
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
	if len(stored) != fullAt+2 {
		t.Errorf("%d sightings stored, want %d", len(stored), fullAt+2)
	}
}
