package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/sync/wire"
)

// memStore is an outbox with crops, as the store keeps them.
type memStore struct {
	msgs    []store.OutboxMessage
	crops   map[string][]byte
	cropErr error
	reads   int
}

func (m *memStore) Pending(_ context.Context, after uint64, limit int) ([]store.OutboxMessage, error) {
	var out []store.OutboxMessage
	for _, msg := range m.msgs {
		if msg.Seq > after && len(out) < limit {
			out = append(out, msg)
		}
	}
	return out, nil
}

func (m *memStore) MarkSent(context.Context, []uint64) error { return nil }
func (m *memStore) OutboxDepth(context.Context) (int, error) { return len(m.msgs), nil }
func (m *memStore) Crop(_ context.Context, actor, id string) ([]byte, error) {
	m.reads++
	if actor != store.SystemActor {
		return nil, fmt.Errorf("crop read as %q", actor)
	}
	if m.cropErr != nil {
		return nil, m.cropErr
	}
	c, ok := m.crops[id]
	if !ok {
		return nil, fmt.Errorf("store: %w: sighting %q has no crop", store.ErrNotFound, id)
	}
	return c, nil
}

func jpegOf(n int) []byte {
	b := bytes.Repeat([]byte{0x42}, n)
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	return b
}

// stored composes outbox rows the way the sightings loop does: a sighting
// and an alert on it, as rows seq and seq+1.
func stored(t *testing.T, seq uint64) (store.OutboxMessage, store.OutboxMessage, wire.ID) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	sid := wire.MustNewID()
	s, err := outboxMessage("dozor/v1/north/ik5/sighting", wire.Sighting{ID: sid, Site: "ik5", Camera: "gate-1", Track: 3,
		Person: "P-1", FirstSeen: now.Add(-time.Second), LastSeen: now, BestAt: now, Frames: 4, Score: 0.9, Margin: 0.3,
		Model: "fused-test", Quality: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	a, err := outboxMessage("dozor/v1/north/ik5/alert", wire.Alert{ID: wire.MustNewID(), Site: "ik5", Rule: "wl",
		Kind: wire.AlertWatchlist, Severity: wire.SeverityCritical, Sighting: sid, Person: "P-1", Camera: "gate-1", At: now,
		Evidence: wire.Evidence{Score: 0.9, Margin: 0.3, Frames: 4}})
	if err != nil {
		t.Fatal(err)
	}
	s.Seq, a.Seq = seq, seq+1
	return s, a, sid
}

func TestOutboxStampsSeqAndAttachesCrop(t *testing.T) {
	s, a, sid := stored(t, 41)
	for _, m := range []store.OutboxMessage{s, a} {
		if bytes.Contains(m.Payload, []byte(`"crop":"`)) {
			t.Fatalf("a stored payload holds a crop: %s", m.Payload)
		}
	}
	crop := jpegOf(3000)
	ms := &memStore{msgs: []store.OutboxMessage{s, a}, crops: map[string][]byte{sid.String(): crop}}
	ob := &outbox{st: ms, maxCrop: 64 << 10}
	got, err := ob.Pending(context.Background(), 0, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("%d messages, %v", len(got), err)
	}
	now := time.Now()
	ws, err := wire.DecodeSighting(got[0].Payload, now)
	if err != nil {
		t.Fatal(err)
	}
	wa, err := wire.DecodeAlert(got[1].Payload, now)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Seq != 41 || wa.Seq != 42 || got[0].Seq != 41 || got[1].QoS != 1 {
		t.Errorf("seqs %d %d (rows %d %d)", ws.Seq, wa.Seq, got[0].Seq, got[1].Seq)
	}
	if !bytes.Equal(ws.Crop, crop) || !bytes.Equal(wa.Evidence.Crop, crop) {
		t.Errorf("crops not attached: %d and %d bytes", len(ws.Crop), len(wa.Evidence.Crop))
	}
}

func TestOutboxCropLimits(t *testing.T) {
	s, a, sid := stored(t, 7)
	cases := []struct {
		name    string
		maxCrop int
		crop    []byte
		reads   int
	}{
		{"crops off", 0, jpegOf(100), 0},
		{"too large", 1000, jpegOf(2000), 2},
		{"no crop stored", 64 << 10, nil, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms := &memStore{msgs: []store.OutboxMessage{s, a}, crops: map[string][]byte{}}
			if c.crop != nil {
				ms.crops[sid.String()] = c.crop
			}
			got, err := (&outbox{st: ms, maxCrop: c.maxCrop}).Pending(context.Background(), 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if ms.reads != c.reads {
				t.Errorf("%d crop reads, want %d", ms.reads, c.reads)
			}
			// The sighting is complete without its crop; the alert, whose
			// crop the wire requires, still goes out (numbered) for the
			// region to file with the reason.
			ws, err := wire.DecodeSighting(got[0].Payload, time.Now())
			if err != nil || ws.Seq != 7 || len(ws.Crop) != 0 {
				t.Errorf("sighting %+v, %v", ws, err)
			}
			_, err = wire.DecodeAlert(got[1].Payload, time.Now())
			var raw map[string]any
			if json.Unmarshal(got[1].Payload, &raw) != nil || raw["seq"] != float64(8) || err == nil || !strings.Contains(err.Error(), "crop") {
				t.Errorf("alert without crop: %s (%v)", got[1].Payload, err)
			}
		})
	}
}

func TestOutboxCropReadFailureIsRetried(t *testing.T) {
	s, _, _ := stored(t, 1)
	ms := &memStore{msgs: []store.OutboxMessage{s}, cropErr: fmt.Errorf("x: %w", store.ErrStorageFull)}
	failures := 0
	_, err := (&outbox{st: ms, maxCrop: 1 << 16, onCrop: func(error) { failures++ }}).Pending(context.Background(), 0, 10)
	if err == nil || failures != 1 {
		t.Errorf("err %v, %d failures reported: the uplink should try again later", err, failures)
	}
}
