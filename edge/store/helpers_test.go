package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/recognizer"
)

// lib is the SQLite binding every test store runs on.
var lib sqlite.Binding

const testModel recognizer.ModelID = "test-model-v1"

// The site every writable test store names in its audit records.
const (
	testRegion     = "north"
	testSite       = "ik5"
	testAuditTopic = "dozor/v1/north/ik5/audit"
)

// newKeyFile makes a fresh key file in its own directory, apart from the
// database as the store requires in production.
func newKeyFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "store.key")
	if _, err := GenerateKeyFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// testClock is a settable clock for Options.Now.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

// openNew creates a store in a temporary directory and closes it when the
// test ends.
func openNew(t testing.TB) (s *Store, dbPath, keyPath string) {
	t.Helper()
	keyPath = newKeyFile(t)
	dbPath = filepath.Join(t.TempDir(), "facility.db")
	s, err := Open(dbPath, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dbPath, keyPath
}

// openSite is openNew with setupSite's site added.
func openSite(t testing.TB) (s *Store, dbPath, keyPath string) {
	t.Helper()
	s, dbPath, keyPath = openNew(t)
	setupSite(t, s)
	return s, dbPath, keyPath
}

// setupSite adds a zone, two cameras, three persons and a rule.
func setupSite(t testing.TB, s *Store) {
	t.Helper()
	ctx := context.Background()
	must(t, s.PutZone(ctx, "admin", Zone{ID: "Z-YARD", Name: "Yard", Kind: ZoneYard}))
	must(t, s.PutZone(ctx, "admin", Zone{ID: "Z-STAFF", Name: "Staff room", Kind: ZoneStaffOnly}))
	must(t, s.PutCamera(ctx, "admin", Camera{ID: "cam-1", Name: "Yard north", ZoneID: "Z-YARD"}))
	must(t, s.PutCamera(ctx, "admin", Camera{ID: "cam-2", Name: "Staff door", ZoneID: "Z-STAFF"}))
	for i, id := range []string{"P-1", "P-2", "P-3"} {
		must(t, s.PutPerson(ctx, "supervisor", Person{ID: id, DisplayName: fmt.Sprintf("Person %d", i+1),
			Facility: "F-07", Status: StatusActive, WatchLists: []string{"escape-risk"}}))
	}
	must(t, s.PutRule(ctx, "supervisor", Rule{ID: "R-WATCH", Kind: custody.KindWatchList, Name: "Escape risk",
		Params: []byte(`{ "watch_list" : "escape-risk" }`), Severity: custody.Critical, Cooldown: time.Minute, Enabled: true}))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// uuidN is a valid, deterministic UUID for test row n.
func uuidN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", n) }

// testJPEG encodes a small real JPEG whose pixels depend on seed, padded
// with a comment-free tail of random bytes up to size when size is larger
// (crops of a given size for the storage tests).
func testJPEG(t testing.TB, seed uint64, size int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	r := rand.New(rand.NewPCG(seed, 1))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			img.Set(x, y, color.RGBA{uint8(r.Uint32()), uint8(x * 8), uint8(y * 8), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for len(b) < size {
		b = append(b, byte(r.Uint32()))
	}
	return b
}

// sightingN is a valid sighting of person (or an unknown face when empty).
func sightingN(n int, person string) Sighting {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
	return Sighting{ID: uuidN(n), CameraID: "cam-1", TrackID: uint64(n), PersonID: person, Model: testModel,
		Score: 0.71, Margin: 0.2, Quality: 0.9, Frames: 5, FirstSeen: t0, LastSeen: t0.Add(3 * time.Second)}
}

// msg composes a message on topic whose payload names its seq.
func msg(topic string) Compose {
	return func(seq uint64) (OutboxMessage, error) {
		return OutboxMessage{Topic: topic, Payload: fmt.Appendf(nil, `{"seq":%d}`, seq)}, nil
	}
}

// auditRows is the number of audit records in the outbox.
func auditRows(t testing.TB, s *Store) int {
	t.Helper()
	return count(t, s, `SELECT count(*) FROM outbox WHERE topic = ?`, testAuditTopic)
}

// unitVec is a deterministic unit vector of dimension dim.
func unitVec(seed uint64, dim int) []float32 {
	return recognizer.RandomUnit(rand.New(rand.NewPCG(seed, 7)), dim)
}

func fileSum(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// count runs a count(*)-style query on the reader pool.
func count(t testing.TB, s *Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// txType keeps the tests' transaction callbacks short.
type txType = sql.Tx
