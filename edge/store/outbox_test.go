package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestOutboxDrain(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	keyPath := newKeyFile(t)
	s, err := Open(filepath.Join(t.TempDir(), "f.db"), Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath, Now: clock.now})
	must(t, err)
	defer s.Close()
	setupSite(t, s)
	// The audit records of the site's setup are the first messages; they
	// are sent at once here.
	base, err := s.LastSeq(ctx)
	must(t, err)
	if base == 0 || auditRows(t, s) != int(base) {
		t.Fatalf("%d messages, %d of them audit records, after the site's setup", base, auditRows(t, s))
	}
	must(t, s.MarkSent(ctx, seqsFrom(1, int(base))))

	var all []uint64
	for i := range 5 {
		seq, err := s.RecordSighting(ctx, sightingN(i, "P-1"), msg("dozor/F-07/sightings"))
		must(t, err)
		all = append(all, seq)
	}
	retained, err := s.Enqueue(ctx, func(uint64) (OutboxMessage, error) {
		return OutboxMessage{Topic: "dozor/F-07/status", Payload: []byte("up"), Retain: true}, nil
	})
	must(t, err)
	all = append(all, retained)
	if want := seqsFrom(base+1, 6); !slices.Equal(all, want) {
		t.Fatalf("sequence numbers %v, want %v", all, want)
	}

	page, err := s.Pending(ctx, 0, 4)
	must(t, err)
	if len(page) != 4 || page[0].Seq != base+1 || page[3].Seq != base+4 || page[0].Topic != "dozor/F-07/sightings" ||
		string(page[0].Payload) != fmt.Sprintf(`{"seq":%d}`, base+1) {
		t.Fatalf("first page %+v", page)
	}
	page, err = s.Pending(ctx, base+4, 10)
	must(t, err)
	if len(page) != 2 || page[1].Seq != base+6 || !page[1].Retain || string(page[1].Payload) != "up" {
		t.Fatalf("last page %+v", page)
	}

	must(t, s.MarkSent(ctx, []uint64{base + 1, base + 2, base + 3, base + 5}))
	must(t, s.MarkSent(ctx, []uint64{base + 1})) // a repeated acknowledgement is harmless
	depth, err := s.OutboxDepth(ctx)
	must(t, err)
	if depth != 2 {
		t.Errorf("depth %d, want 2", depth)
	}
	page, err = s.Pending(ctx, 0, 100)
	must(t, err)
	var left []uint64
	for _, m := range page {
		left = append(left, m.Seq)
	}
	if want := []uint64{base + 4, base + 6}; !slices.Equal(left, want) {
		t.Errorf("pending %v, want %v", left, want)
	}
	if err := s.MarkSent(ctx, []uint64{base + 4, base + 99}); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkSent of a never-assigned number: %v", err)
	}
	if d, _ := s.OutboxDepth(ctx); d != 2 {
		t.Errorf("a failed MarkSent marked something: depth %d", d)
	}

	// Retention: only sent rows older than the limit go.
	clock.t = clock.t.Add(10 * 24 * time.Hour)
	must(t, s.MarkSent(ctx, []uint64{base + 4}))
	n, err := s.PruneOutbox(ctx, 7)
	must(t, err)
	if n != int64(base)+4 {
		t.Errorf("pruned %d, want the %d sent ten days ago", n, base+4)
	}
	clock.t = clock.t.Add(8 * 24 * time.Hour)
	n, err = s.PruneOutbox(ctx, 7)
	must(t, err)
	if n != 1 {
		t.Errorf("pruned %d, want 1", n)
	}
	if got := count(t, s, `SELECT count(*) FROM outbox`); got != 1 {
		t.Errorf("%d rows left, want the unsent one", got)
	}
	// Numbers are never reused, even with every sent row gone.
	must(t, s.MarkSent(ctx, []uint64{base + 6}))
	clock.t = clock.t.Add(30 * 24 * time.Hour)
	_, err = s.PruneOutbox(ctx, 0)
	must(t, err)
	seq, err := s.Enqueue(ctx, msg("dozor/F-07/status"))
	must(t, err)
	if seq != base+7 {
		t.Errorf("after pruning everything the next number is %d, want %d", seq, base+7)
	}
	if _, err := s.PruneOutbox(ctx, -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative retention: %v", err)
	}
	if _, err := s.Pending(ctx, 0, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero limit: %v", err)
	}
	if _, err := s.Enqueue(ctx, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nothing to enqueue: %v", err)
	}
}

// seqsFrom is first, first+1, ... n numbers.
func seqsFrom(first uint64, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = first + uint64(i)
	}
	return out
}

// checkGapFree asserts that the outbox holds exactly 1..n and that the
// counter agrees.
func checkGapFree(t *testing.T, s *Store, n int) {
	t.Helper()
	last, err := s.LastSeq(context.Background())
	must(t, err)
	if int(last) != n {
		t.Errorf("last sequence number %d, want %d", last, n)
	}
	var got struct{ count, min, max int }
	must(t, s.r.QueryRow(`SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM outbox`).Scan(&got.count, &got.min, &got.max))
	if got.count != n || (n > 0 && (got.min != 1 || got.max != n)) {
		t.Errorf("outbox holds %d rows from %d to %d, want 1..%d", got.count, got.min, got.max, n)
	}
}

// TestOutboxGapFreeUnderConcurrentWriters runs writers in parallel, some of
// whose transactions fail after they already took sequence numbers, and
// checks that the committed numbers are exactly 1..N, each event owning a
// contiguous run of them: a sighting with a crop released to the region
// owns the audit record of the crop's storage, its message and the audit
// record of the release.
func TestOutboxGapFreeUnderConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	base, err := s.LastSeq(ctx)
	must(t, err)
	const writers, perWriter = 8, 25
	var mu sync.Mutex
	committed := map[string]uint64{} // sighting id -> its message's seq
	withCrop := map[string]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				n := w*perWriter + i
				switch {
				case i%5 == 0 && i > 0: // repeats this writer's previous id: fails on insert, inside the transaction
					if _, err := s.RecordSighting(ctx, sightingN(n-1, "P-1"), msg("dozor/F-07/sightings")); !errors.Is(err, ErrExists) {
						t.Errorf("duplicate sighting %d: %v", n-1, err)
					}
				case i%5 == 3: // fails after the outbox rows and numbers were taken
					err := s.write(ctx, "doomed", func(tx *txType) error {
						for range 3 {
							if _, err := s.appendOutbox(ctx, tx, msg("dozor/F-07/doomed")); err != nil {
								return err
							}
						}
						return errors.New("injected failure after the outbox insert")
					})
					if err == nil {
						t.Error("doomed write committed")
					}
				default:
					sg := sightingN(n, []string{"P-1", "", "P-2"}[n%3])
					compose := msg("dozor/F-07/sightings")
					if n%2 == 0 {
						sg.Crop = testJPEG(t, uint64(n), 0)
						compose = func(seq uint64) (OutboxMessage, error) {
							return OutboxMessage{Topic: "dozor/F-07/sightings", Payload: fmt.Appendf(nil, `{"seq":%d}`, seq),
								CropOf: sg.ID}, nil
						}
					}
					seq, err := s.RecordSighting(ctx, sg, compose)
					if err != nil {
						t.Errorf("sighting %d: %v", n, err)
						continue
					}
					mu.Lock()
					committed[sg.ID], withCrop[sg.ID] = seq, sg.Crop != nil
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()

	last, err := s.LastSeq(ctx)
	must(t, err)
	checkGapFree(t, s, int(last))
	rows := int(base)
	object := func(seq uint64) string {
		var r struct{ Object string }
		var b []byte
		must(t, s.r.QueryRow(`SELECT payload FROM outbox WHERE seq = ?`, seq).Scan(&b))
		must(t, json.Unmarshal(b, &r))
		return r.Object
	}
	for id, seq := range committed {
		rows++
		if !withCrop[id] {
			continue
		}
		rows += 2
		if before, after := object(seq-1), object(seq+1); before != "sighting:"+id || after != "sighting:"+id {
			t.Errorf("sighting %s (seq %d) is not between the audit records of its crop: %q and %q", id, seq, before, after)
		}
	}
	if int(last) != rows {
		t.Errorf("%d numbers assigned for %d committed messages", last, rows)
	}
	if got := count(t, s, `SELECT count(*) FROM outbox WHERE topic = 'dozor/F-07/doomed'`); got != 0 {
		t.Errorf("%d rows of failed transactions in the outbox", got)
	}
	if got := count(t, s, `SELECT count(*) FROM sightings`); got != len(committed) {
		t.Errorf("%d sightings stored, %d committed", got, len(committed))
	}
	t.Logf("%d sightings and %d outbox messages from %d writers, numbers 1..%d without gaps",
		len(committed), rows, writers, last)
}

const crashEnv = "DOZOR_STORE_CRASH_DIR"

// testExecEnv names the program that runs this test binary when it is not
// native (scripts/arm64/qemu under the arm64 run), for re-executing it.
const testExecEnv = "DOZOR_TEST_EXEC"

// TestCrashMidTransaction kills a process (SIGKILL, no cleanup at all) in
// the middle of a sighting's transaction, after its sighting, audit and
// outbox rows were written but before the commit, and checks what the next
// Open finds: every earlier commit, nothing of the killed one, and the
// sequence numbers carrying on without a gap.
func TestCrashMidTransaction(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashingWriter(dir)
		return
	}
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "store.key")
	_, err := GenerateKeyFile(keyPath)
	must(t, err)
	dbPath := filepath.Join(dir, "f.db")
	s, err := Open(dbPath, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath})
	must(t, err)
	setupSite(t, s)
	base, err := s.LastSeq(context.Background())
	must(t, err)
	must(t, s.Close())

	args := []string{os.Args[0], "-test.run=^TestCrashMidTransaction$", "-test.count=1"}
	if w := os.Getenv(testExecEnv); w != "" {
		// An emulated test binary cannot start itself without the
		// kernel's help; the wrapper go test -exec used starts it instead.
		args = append([]string{w}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("writer process was not killed: %v\n%s", err, out)
	}
	if _, err := os.Stat(dbPath + "-wal"); err != nil {
		t.Fatalf("no WAL left by the killed process: %v", err)
	}

	s, err = Open(dbPath, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath})
	must(t, err)
	defer s.Close()
	ctx := context.Background()
	// Each committed sighting owns three numbers: the audit record of its
	// crop's storage, its message (holding the crop) and the audit record
	// of the crop's release.
	checkGapFree(t, s, int(base)+9)
	pending, err := s.Pending(ctx, base, 100)
	must(t, err)
	if len(pending) != 9 || pending[1].CropOf != uuidN(0) || string(pending[1].Payload) != cropPayload(base+2) {
		t.Errorf("pending after the crash: %+v", pending)
	}
	for i := range 3 {
		sg, err := s.Sighting(ctx, uuidN(i))
		must(t, err)
		if !sg.HasCrop {
			t.Errorf("sighting %d lost its crop", i)
		}
		if _, err := s.Crop(ctx, "guard", sg.ID); err != nil {
			t.Error(err)
		}
	}
	if _, err := s.Sighting(ctx, uuidN(3)); !errors.Is(err, ErrNotFound) {
		t.Errorf("sighting of the killed transaction: %v", err)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
	if got := count(t, s, `SELECT count(*) FROM audit_log WHERE object = ?`, "sighting:"+uuidN(3)); got != 0 {
		t.Errorf("audit entry of the killed transaction survived")
	}
	seq, err := s.RecordSighting(ctx, sightingN(3, "P-1"), msg("dozor/F-07/sightings"))
	must(t, err)
	// The three crops read above took base+10..base+12 for their audit
	// records.
	if seq != base+13 {
		t.Errorf("after the crash the next number is %d, want %d", seq, base+13)
	}
}

// crashingWriter runs in the child process: three committed sightings, then
// a fourth whose transaction is cut short by SIGKILL.
func crashingWriter(dir string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash helper:", err)
		os.Exit(3)
	}
	s, err := Open(filepath.Join(dir, "f.db"), Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: filepath.Join(dir, "store.key")})
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	crop := []byte("\xff\xd8\xff\xe0 a crop that survives")
	for i := range 3 {
		sg := sightingN(i, "P-1")
		sg.Crop = crop
		if _, err := s.RecordSighting(ctx, sg, cropMsg(sg.ID)); err != nil {
			fail(err)
		}
	}
	sg := sightingN(3, "P-1")
	sg.Crop = crop
	err = s.write(ctx, "crash", func(tx *txType) error {
		if _, err := s.recordSightingTx(ctx, tx, &sg, cropMsg(sg.ID)); err != nil {
			return err
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	})
	fail(fmt.Errorf("still alive: %v", err))
}

// cropMsg composes a sighting's message that holds its crop.
func cropMsg(sighting string) Compose {
	return func(seq uint64) (OutboxMessage, error) {
		return OutboxMessage{Topic: "dozor/F-07/sightings", Payload: []byte(cropPayload(seq)), CropOf: sighting}, nil
	}
}

func cropPayload(seq uint64) string { return fmt.Sprintf(`{"seq":%d,"crop":"/9j/4A=="}`, seq) }

// TestOutboxRange reads ranges of the outbox, sent and unsent messages
// alike, as the uplink does when the region asks for a range again: in
// sequence order, crops opened, bounded by the limit, shorter where rows
// were pruned, and without writing anything (no audit record either).
func TestOutboxRange(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s, err := Open(filepath.Join(t.TempDir(), "f.db"), Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: newKeyFile(t), Now: clock.now})
	must(t, err)
	defer s.Close()
	setupSite(t, s)
	base, err := s.LastSeq(ctx)
	must(t, err)
	must(t, s.MarkSent(ctx, seqsFrom(1, int(base))))

	// Two sightings with their crops (each takes three numbers: the crop's
	// storage audited, the message, the crop's release audited), then
	// three plain messages.
	var cropSeqs []uint64
	for i := range 2 {
		sg := sightingN(i, "P-1")
		sg.Crop = []byte("\xff\xd8\xff\xe0 a crop")
		seq, err := s.RecordSighting(ctx, sg, cropMsg(sg.ID))
		must(t, err)
		cropSeqs = append(cropSeqs, seq)
	}
	for range 3 {
		_, err := s.Enqueue(ctx, msg("dozor/v1/north/ik5/gallery/ack"))
		must(t, err)
	}
	last, err := s.LastSeq(ctx)
	must(t, err)
	if last != base+9 {
		t.Fatalf("last seq %d, want %d", last, base+9)
	}
	// Everything but the last two is sent.
	must(t, s.MarkSent(ctx, seqsFrom(base+1, 7)))
	audits := count(t, s, `SELECT count(*) FROM audit_log`)

	seqsOf := func(ms []OutboxMessage) []uint64 {
		var out []uint64
		for _, m := range ms {
			out = append(out, m.Seq)
		}
		return out
	}
	got, err := s.OutboxRange(ctx, base+1, last, 100)
	must(t, err)
	if want := seqsFrom(base+1, 9); !slices.Equal(seqsOf(got), want) {
		t.Fatalf("range %d..%d: seqs %v, want %v", base+1, last, seqsOf(got), want)
	}
	for _, m := range got {
		sent := m.Seq <= base+7
		if m.SentAt.IsZero() == sent {
			t.Errorf("seq %d: sent at %v, want sent %v", m.Seq, m.SentAt, sent)
		}
		if m.CreatedAt.IsZero() {
			t.Errorf("seq %d: no creation time", m.Seq)
		}
		if slices.Contains(cropSeqs, m.Seq) {
			if m.CropOf == "" || string(m.Payload) != cropPayload(m.Seq) {
				t.Errorf("seq %d: crop of %q, payload %q; want the sealed payload opened", m.Seq, m.CropOf, m.Payload)
			}
		} else if m.CropOf != "" {
			t.Errorf("seq %d: crop of %q", m.Seq, m.CropOf)
		}
	}
	if got[len(got)-1].Topic != "dozor/v1/north/ik5/gallery/ack" || string(got[len(got)-1].Payload) != fmt.Sprintf(`{"seq":%d}`, last) {
		t.Errorf("last message %+v", got[len(got)-1])
	}

	for _, tc := range []struct {
		name     string
		from, to uint64
		limit    int
		want     []uint64
	}{
		{"one message", base + 2, base + 2, 10, []uint64{base + 2}},
		{"limit cuts the range", base + 1, last, 3, seqsFrom(base+1, 3)},
		{"from the start", 1, 3, 10, seqsFrom(1, 3)},
		{"past the end", last, last + 50, 10, []uint64{last}},
		{"wholly past the end", last + 1, last + 50, 10, nil},
		{"beyond int64", 1 << 63, 1<<63 + 5, 10, nil},
	} {
		got, err := s.OutboxRange(ctx, tc.from, tc.to, tc.limit)
		must(t, err)
		if !slices.Equal(seqsOf(got), tc.want) {
			t.Errorf("%s: %d..%d limit %d gave %v, want %v", tc.name, tc.from, tc.to, tc.limit, seqsOf(got), tc.want)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM audit_log`); n != audits {
		t.Errorf("reading ranges wrote %d audit records", n-audits)
	}
	if l, _ := s.LastSeq(ctx); l != last {
		t.Errorf("reading ranges added messages: last seq %d, want %d", l, last)
	}

	// Rows pruned after retention are gone from the range; the unsent
	// ones are kept however old.
	clock.t = clock.t.Add(10 * 24 * time.Hour)
	_, err = s.PruneOutbox(ctx, 7)
	must(t, err)
	got, err = s.OutboxRange(ctx, 1, last, 100)
	must(t, err)
	if want := []uint64{base + 8, base + 9}; !slices.Equal(seqsOf(got), want) {
		t.Errorf("after pruning: %v, want the unsent %v", seqsOf(got), want)
	}

	for _, bad := range []struct {
		from, to uint64
		limit    int
		field    string
	}{{1, 5, 0, "limit"}, {1, 5, MaxBatch + 1, "limit"}, {0, 5, 10, "from"}, {6, 5, 10, "to"}} {
		_, err := s.OutboxRange(ctx, bad.from, bad.to, bad.limit)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.field) {
			t.Errorf("OutboxRange(%d, %d, %d): %v; want ErrInvalid naming %s", bad.from, bad.to, bad.limit, err, bad.field)
		}
	}
}
