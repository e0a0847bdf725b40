package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestOutboxDrain(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	keyPath := newKeyFile(t)
	s, err := Open(filepath.Join(t.TempDir(), "f.db"), Options{KeyFile: keyPath, Now: clock.now})
	must(t, err)
	defer s.Close()
	setupSite(t, s)

	var all []uint64
	for i := range 5 {
		seqs, err := s.RecordSighting(ctx, sightingN(i, "P-1"), msgs("dozor/F-07/sightings", 2))
		must(t, err)
		all = append(all, seqs...)
	}
	retained, err := s.Enqueue(ctx, []OutboxMessage{{Topic: "dozor/F-07/status", Payload: []byte("up"), Retain: true}})
	must(t, err)
	all = append(all, retained...)
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}; !slices.Equal(all, want) {
		t.Fatalf("sequence numbers %v, want %v", all, want)
	}

	page, err := s.Pending(ctx, 0, 4)
	must(t, err)
	if len(page) != 4 || page[0].Seq != 1 || page[3].Seq != 4 || page[0].Topic != "dozor/F-07/sightings" {
		t.Fatalf("first page %+v", page)
	}
	page, err = s.Pending(ctx, 9, 10)
	must(t, err)
	if len(page) != 2 || page[1].Seq != 11 || !page[1].Retain || string(page[1].Payload) != "up" {
		t.Fatalf("last page %+v", page)
	}

	must(t, s.MarkSent(ctx, []uint64{1, 2, 3, 5}))
	must(t, s.MarkSent(ctx, []uint64{1})) // a repeated acknowledgement is harmless
	depth, err := s.OutboxDepth(ctx)
	must(t, err)
	if depth != 7 {
		t.Errorf("depth %d, want 7", depth)
	}
	page, err = s.Pending(ctx, 0, 100)
	must(t, err)
	var left []uint64
	for _, m := range page {
		left = append(left, m.Seq)
	}
	if want := []uint64{4, 6, 7, 8, 9, 10, 11}; !slices.Equal(left, want) {
		t.Errorf("pending %v, want %v", left, want)
	}
	if err := s.MarkSent(ctx, []uint64{4, 99}); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkSent of a never-assigned number: %v", err)
	}
	if d, _ := s.OutboxDepth(ctx); d != 7 {
		t.Errorf("a failed MarkSent marked something: depth %d", d)
	}

	// Retention: only sent rows older than the limit go.
	clock.t = clock.t.Add(10 * 24 * time.Hour)
	must(t, s.MarkSent(ctx, []uint64{4, 6}))
	n, err := s.PruneOutbox(ctx, 7)
	must(t, err)
	if n != 4 {
		t.Errorf("pruned %d, want the 4 sent ten days ago", n)
	}
	clock.t = clock.t.Add(8 * 24 * time.Hour)
	n, err = s.PruneOutbox(ctx, 7)
	must(t, err)
	if n != 2 {
		t.Errorf("pruned %d, want 2", n)
	}
	if got := count(t, s, `SELECT count(*) FROM outbox`); got != 5 {
		t.Errorf("%d rows left, want the 5 unsent", got)
	}
	// Numbers are never reused, even with every sent row gone.
	must(t, s.MarkSent(ctx, []uint64{7, 8, 9, 10, 11}))
	clock.t = clock.t.Add(30 * 24 * time.Hour)
	_, err = s.PruneOutbox(ctx, 0)
	must(t, err)
	seqs, err := s.Enqueue(ctx, msgs("dozor/F-07/status", 1))
	must(t, err)
	if !slices.Equal(seqs, []uint64{12}) {
		t.Errorf("after pruning everything the next number is %v, want 12", seqs)
	}
	if _, err := s.PruneOutbox(ctx, -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative retention: %v", err)
	}
	if _, err := s.Pending(ctx, 0, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero limit: %v", err)
	}
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
// contiguous run of them.
func TestOutboxGapFreeUnderConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openNew(t)
	setupSite(t, s)
	const writers, perWriter = 8, 25
	var mu sync.Mutex
	committed := map[string][]uint64{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				n := w*perWriter + i
				switch {
				case i%5 == 0 && i > 0: // repeats this writer's previous id: fails on insert, inside the transaction
					if _, err := s.RecordSighting(ctx, sightingN(n-1, "P-1"), msgs("dozor/F-07/sightings", 2)); !errors.Is(err, ErrExists) {
						t.Errorf("duplicate sighting %d: %v", n-1, err)
					}
				case i%5 == 3: // fails after the outbox rows and numbers were taken
					err := s.write(ctx, "doomed", func(tx *txType) error {
						if _, err := s.appendOutbox(ctx, tx, msgs("dozor/F-07/doomed", 3)); err != nil {
							return err
						}
						return errors.New("injected failure after the outbox insert")
					})
					if err == nil {
						t.Error("doomed write committed")
					}
				default:
					sg := sightingN(n, []string{"P-1", "", "P-2"}[n%3])
					seqs, err := s.RecordSighting(ctx, sg, msgs("dozor/F-07/sightings", 1+n%3))
					if err != nil {
						t.Errorf("sighting %d: %v", n, err)
						continue
					}
					mu.Lock()
					committed[sg.ID] = seqs
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()

	var all []uint64
	for id, seqs := range committed {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] != seqs[i-1]+1 {
				t.Errorf("sighting %s got non-contiguous numbers %v", id, seqs)
			}
		}
		all = append(all, seqs...)
	}
	slices.Sort(all)
	for i, seq := range all {
		if seq != uint64(i+1) {
			t.Fatalf("committed numbers have a gap or duplicate at %d: %d", i+1, seq)
		}
	}
	checkGapFree(t, s, len(all))
	if got := count(t, s, `SELECT count(*) FROM outbox WHERE topic = 'dozor/F-07/doomed'`); got != 0 {
		t.Errorf("%d rows of failed transactions in the outbox", got)
	}
	if got := count(t, s, `SELECT count(*) FROM sightings`); got != len(committed) {
		t.Errorf("%d sightings stored, %d committed", got, len(committed))
	}
	t.Logf("%d sightings and %d outbox messages from %d writers, numbers 1..%d without gaps",
		len(committed), len(all), writers, len(all))
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
	s, err := Open(dbPath, Options{KeyFile: keyPath})
	must(t, err)
	setupSite(t, s)
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

	s, err = Open(dbPath, Options{KeyFile: keyPath})
	must(t, err)
	defer s.Close()
	ctx := context.Background()
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
	checkGapFree(t, s, 6)
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
	if got := count(t, s, `SELECT count(*) FROM audit_log WHERE object = ?`, "sighting:"+uuidN(3)); got != 0 {
		t.Errorf("audit entry of the killed transaction survived")
	}
	seqs, err := s.RecordSighting(ctx, sightingN(3, "P-1"), msgs("dozor/F-07/sightings", 2))
	must(t, err)
	if !slices.Equal(seqs, []uint64{7, 8}) {
		t.Errorf("after the crash the next numbers are %v, want [7 8]", seqs)
	}
}

// crashingWriter runs in the child process: three committed sightings, then
// a fourth whose transaction is cut short by SIGKILL.
func crashingWriter(dir string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash helper:", err)
		os.Exit(3)
	}
	s, err := Open(filepath.Join(dir, "f.db"), Options{KeyFile: filepath.Join(dir, "store.key")})
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	crop := []byte("\xff\xd8\xff\xe0 a crop that survives")
	for i := range 3 {
		sg := sightingN(i, "P-1")
		sg.Crop = crop
		if _, err := s.RecordSighting(ctx, sg, msgs("dozor/F-07/sightings", 2)); err != nil {
			fail(err)
		}
	}
	sg := sightingN(3, "P-1")
	sg.Crop = crop
	err = s.write(ctx, "crash", func(tx *txType) error {
		if _, err := s.recordSightingTx(ctx, tx, &sg, msgs("dozor/F-07/sightings", 2)); err != nil {
			return err
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	})
	fail(fmt.Errorf("still alive: %v", err))
}
