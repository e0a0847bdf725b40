package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
)

// TestVerifyAuditFindsFirstBrokenLink tampers with a real audit log the way
// someone with the file could (dropping the append-only triggers first) and
// checks that VerifyAudit names the first broken entry.
func TestVerifyAuditFindsFirstBrokenLink(t *testing.T) {
	ctx := context.Background()
	// rehash recomputes entry 4's hash after an edit, as a careful forger
	// would; the next entry's link then breaks instead.
	rehash := func(t *testing.T, s *Store) {
		rows, err := s.w.Query(`SELECT seq, at_ms, actor, action, object, detail, prev_hash, hash FROM audit_log WHERE seq = 4`)
		must(t, err)
		rows.Next()
		e, err := scanAudit(rows)
		must(t, err)
		rows.Close()
		h := e.computeHash()
		_, err = s.w.Exec(`UPDATE audit_log SET hash = ? WHERE seq = 4`, h[:])
		must(t, err)
	}
	cases := []struct {
		name    string
		tamper  []string
		after   func(t *testing.T, s *Store)
		brokeAt uint64 // 0: intact
	}{
		{"intact", nil, nil, 0},
		{"detail edited", []string{`UPDATE audit_log SET detail = '{"decision":"rejected"}' WHERE seq = 4`}, nil, 4},
		{"actor edited", []string{`UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2`}, nil, 2},
		{"time edited", []string{`UPDATE audit_log SET at_ms = at_ms - 3600000 WHERE seq = 6`}, nil, 6},
		{"edited and re-hashed", []string{`UPDATE audit_log SET object = 'alert:other' WHERE seq = 4`}, rehash, 5},
		{"entry deleted", []string{`DELETE FROM audit_log WHERE seq = 3`}, nil, 4},
		{"first entry deleted", []string{`DELETE FROM audit_log WHERE seq = 1`}, nil, 2},
		{"entry inserted", []string{`UPDATE audit_log SET seq = seq + 100 WHERE seq >= 5`,
			`INSERT INTO audit_log SELECT 5, at_ms, actor, action, object, detail, prev_hash, hash FROM audit_log WHERE seq = 4`}, nil, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := openSite(t) // 8 audited changes
			for i := range 3 {
				must(t, s.Audit(ctx, "auditor", "search", fmt.Sprintf("query:%d", i), `{"text":"P-1"}`))
			}
			n := uint64(count(t, s, `SELECT count(*) FROM audit_log`))
			head, err := s.VerifyAudit(ctx)
			must(t, err)
			if head.Seq != n {
				t.Fatalf("head %d, want %d", head.Seq, n)
			}
			if len(tc.tamper) > 0 {
				_, err := s.w.Exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete`)
				must(t, err)
			}
			for _, q := range tc.tamper {
				_, err := s.w.Exec(q)
				must(t, err)
			}
			if tc.after != nil {
				tc.after(t, s)
			}
			_, err = s.VerifyAudit(ctx)
			if tc.brokeAt == 0 {
				must(t, err)
				return
			}
			var ce *AuditChainError
			if !errors.As(err, &ce) || !errors.Is(err, ErrAuditBroken) {
				t.Fatalf("VerifyAudit: %v, want *AuditChainError", err)
			}
			if ce.Seq != tc.brokeAt {
				t.Errorf("broken at %d, want %d (%v)", ce.Seq, tc.brokeAt, err)
			}
			t.Logf("found: %v", err)
		})
	}
}

func TestAuditLogAppendOnly(t *testing.T) {
	s, _, _ := openSite(t)
	for _, q := range []string{`UPDATE audit_log SET actor = 'x' WHERE seq = 1`, `DELETE FROM audit_log WHERE seq = 1`} {
		if _, err := s.w.Exec(q); err == nil {
			t.Errorf("%s succeeded", q)
		}
	}
}

func TestAuditChainShape(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	entries, err := s.AuditEntries(ctx, 0, 100)
	must(t, err)
	var prev [32]byte
	for i, e := range entries {
		if e.Seq != uint64(i+1) || e.PrevHash != prev {
			t.Fatalf("entry %d: seq %d, linked to %x", i, e.Seq, e.PrevHash[:4])
		}
		want := sha256.Sum256(append(prev[:], e.canonical()...))
		if e.Hash != want {
			t.Fatalf("entry %d: hash is not sha256(prev || canonical)", e.Seq)
		}
		prev = e.Hash
	}
	later, err := s.AuditEntries(ctx, 5, 2)
	must(t, err)
	if len(later) != 2 || later[0].Seq != 6 {
		t.Errorf("AuditEntries(5, 2) = %d entries from %d", len(later), later[0].Seq)
	}
	// Canonical forms of different entries never collide, even when the
	// fields' concatenations do.
	a := AuditEntry{Seq: 1, Actor: "ab", Action: "c"}
	b := AuditEntry{Seq: 1, Actor: "a", Action: "bc"}
	if string(a.canonical()) == string(b.canonical()) {
		t.Error("canonical forms collide")
	}
}
