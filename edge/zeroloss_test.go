//go:build cgo

package edge_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/sync/wire"
)

// edgedProcess is the real daemon binary running as its own process, so
// that it can be killed without a goodbye.
type edgedProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startEdged(t *testing.T, bin, cfgPath string, out *testenv.Buffer) *edgedProcess {
	t.Helper()
	p := &edgedProcess{cmd: exec.Command(bin, "-config", cfgPath), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.signal(syscall.SIGKILL); p.wait(10 * time.Second) })
	return p
}

func (p *edgedProcess) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
}

func (p *edgedProcess) wait(d time.Duration) (error, bool) {
	select {
	case <-p.done:
		return p.err, true
	case <-time.After(d):
		return nil, false
	}
}

// TestZeroLoss runs the daemon binary through a broker outage and a
// SIGKILL, restarts it on the same store, and checks that every sighting
// the store holds reached the region exactly once after dedup, numbered
// without gaps.
func TestZeroLoss(t *testing.T) {
	modelDir := testenv.ModelDir(t)
	videoDir := testenv.TestData(t, "video")
	dir := t.TempDir()
	key := keyFile(t)
	bin := filepath.Join(t.TempDir(), "edged")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/dozor-edge/dozor/cmd/edged").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	b := startBrokerWith(t, true)
	sub := subscribeWith(t, b.addr(), false, "dozor/v1/+/+/sighting")
	auditSub := subscribeWith(t, b.addr(), false, "dozor/v1/+/+/audit", "dozor/v1/+/+/gallery/enrol")
	cam := startCamera(t, hamilton(t, videoDir))
	dbPath := filepath.Join(dir, "dozor.db")
	enrol(t, dbPath, key, modelDir, []string{
		filepath.Join(videoDir, "enroll", "lin-manuel-miranda.png"),
		filepath.Join(videoDir, "enroll", "alex-lacamoire.png"),
		filepath.Join(videoDir, "enroll", "obama.jpg"),
	})
	cfgPath := filepath.Join(dir, "edged.yaml")
	cfg := fmt.Sprintf(`site: {region: north, id: ik5}
models: {dir: %q}
recognizer: {workers: 2, detect_fps: 5}
cameras:
  - {id: stage, url: %q, zone: hall}
store: {path: %q, key_file: %q}
uplink: {broker: %q}
http: {listen: "127.0.0.1:0"}
`, modelDir, cam.URL(), dbPath, key, b.url())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs testenv.Buffer
	defer func() {
		if t.Failed() || os.Getenv("DOZOR_TEST_LOG") != "" {
			t.Logf("edged output:\n%s", logs.String())
		}
	}()

	// The highest seq the region has seen so far, of a sighting or an
	// audit record (they share the outbox's numbering).
	topSeen := func() uint64 {
		var top uint64
		for seq := range dedup(t, sub.sightings(t)) {
			top = max(top, seq)
		}
		for seq := range dedupAudit(t, auditSub.audits(t)) {
			top = max(top, seq)
		}
		return top
	}

	// Run 1: streaming, the broker goes away until sightings wait in the
	// outbox and comes back, and once the region has one of those, the
	// daemon is killed without warning.
	region := []<-chan struct{}{sub.changed, auditSub.changed}
	writes := storeWrites(t, dbPath)
	p := startEdged(t, bin, cfgPath, &logs)
	waitFor(t, 90*time.Second, "a first sighting at the region", func() bool { return len(sub.sightings(t)) > 0 }, region...)
	b.stop(syscall.SIGTERM)
	var queued int
	waitFor(t, 60*time.Second, "a sighting waiting in the outbox during the outage", func() bool {
		_, queued = outboxState(t, dbPath)
		return queued > 0
	}, writes)
	lastBeforeRestart, _ := outboxState(t, dbPath)
	b.restart()
	waitFor(t, 60*time.Second, "the sightings of the outage at the region", func() bool { return topSeen() >= lastBeforeRestart }, region...)
	p.signal(syscall.SIGKILL)
	if _, ok := p.wait(10 * time.Second); !ok {
		t.Fatal("edged did not die on SIGKILL")
	}
	killedAt, _ := outboxState(t, dbPath)

	// Run 2 on the same store: it sends what run 1 left and goes on, until
	// a sighting of its own reaches the region.
	p = startEdged(t, bin, cfgPath, &logs)
	waitFor(t, 90*time.Second, "a sighting of the restarted daemon at the region", func() bool {
		for seq := range dedup(t, sub.sightings(t)) {
			if seq > killedAt {
				return true
			}
		}
		return false
	}, region...)
	p.signal(syscall.SIGTERM)
	if err, ok := p.wait(30 * time.Second); !ok || err != nil {
		t.Fatalf("edged did not stop cleanly: exited %v, %v", ok, err)
	}

	last, depth := outboxState(t, dbPath)
	want := last - uint64(depth)
	all, audits, enrols := awaitRegion(t, sub, auditSub, want, 15*time.Second)
	bySeq := dedup(t, all)
	st, err := store.Open(dbPath, store.Options{SQLite: sqlite.Binding{}, KeyFile: key, Region: "north", Site: "ik5"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	byID := map[wire.ID]uint64{}
	for seq, s := range bySeq {
		if other, dup := byID[s.ID]; dup {
			t.Errorf("sighting %s arrived as seq %d and %d", s.ID, other, seq)
		}
		byID[s.ID] = seq
		got, err := st.Sighting(ctx, s.ID.String())
		if err != nil || got.CameraID != s.Camera || got.PersonID != s.Person {
			t.Errorf("received sighting %s (seq %d) is not the stored one: %+v, %v", s.ID, seq, got, err)
		}
	}
	// Audit records share the outbox's counter with the sightings.
	union := maps.Clone(bySeq)
	for seq := range audits {
		union[seq] = wire.Sighting{}
	}
	for seq := range enrols {
		union[seq] = wire.Sighting{}
	}
	top, gaps := contiguous(union)
	if len(gaps) > 0 || top != want || uint64(len(byID)+len(audits)+len(enrols)) != want {
		t.Errorf("received %d distinct sightings, seqs up to %d with gaps %v; the store assigned %d, %d unsent",
			len(byID), top, gaps, last, depth)
	}
	if depth != 0 {
		t.Errorf("%d messages left unsent after a clean stop with the broker up", depth)
	}
	if queued == 0 {
		t.Errorf("no sighting waited in the outbox while the broker was down: the outage was not exercised")
	}
	t.Logf("zero loss: %d messages stored (%d waiting when the broker came back, %d by the kill); %d sightings received "+
		"(%d duplicates, %d distinct) and %d audit records; seq 1..%d without gaps",
		last, queued, killedAt, len(all), len(all)-len(bySeq), len(byID), len(audits), top)
}

// storeWrites is signalled each time a process writes the database's
// write-ahead log (inotify on its directory), so that the test waits for
// the daemon to store something instead of polling the file.
func storeWrites(t *testing.T, dbPath string) <-chan struct{} {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(dbPath), unix.IN_MODIFY|unix.IN_CREATE); err != nil {
		unix.Close(fd)
		t.Fatalf("inotify watch: %v", err)
	}
	// A non-blocking descriptor goes through the runtime's poller, so
	// Close ends the Read below.
	f := os.NewFile(uintptr(fd), "inotify")
	wal := filepath.Base(dbPath) + "-wal"
	ch := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				off += unix.SizeofInotifyEvent + int(ev.Len)
				if string(bytes.TrimRight(name, "\x00")) == wal {
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	t.Cleanup(func() { f.Close(); <-done })
	return ch
}
