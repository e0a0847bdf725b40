package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/custody"
	"github.com/dozor-edge/dozor/edge/rules"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/track"
	"github.com/dozor-edge/dozor/sync/wire"
)

// fakeEvents is a store whose writes can be made to fail. It numbers the
// messages it is given to compose from 1.
type fakeEvents struct {
	fail      error // returned by every write while set
	sightings []store.Sighting
	alerts    []store.Alert
	outbox    []store.OutboxMessage
	calls     int
}

func (f *fakeEvents) RecordSighting(_ context.Context, sg store.Sighting, compose store.Compose) (uint64, error) {
	f.calls++
	if f.fail != nil {
		return 0, f.fail
	}
	if sg.PersonID == "ghost" {
		return 0, fmt.Errorf("store: %w: person %q", store.ErrNotFound, sg.PersonID)
	}
	seq, err := f.compose(compose)
	if err == nil {
		f.sightings = append(f.sightings, sg)
	}
	return seq, err
}

func (f *fakeEvents) RecordAlert(_ context.Context, a store.Alert, compose store.Compose) (uint64, error) {
	f.calls++
	if f.fail != nil {
		return 0, f.fail
	}
	seq, err := f.compose(compose)
	if err == nil {
		f.alerts = append(f.alerts, a)
	}
	return seq, err
}

func (f *fakeEvents) compose(compose store.Compose) (uint64, error) {
	if compose == nil {
		return 0, nil
	}
	seq := uint64(len(f.outbox) + 1)
	m, err := compose(seq)
	if err != nil {
		return 0, err
	}
	m.Seq = seq
	f.outbox = append(f.outbox, m)
	return seq, nil
}

var storageFull = fmt.Errorf("store: record sighting: %w", store.ErrStorageFull)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func testLoop(t *testing.T, st eventStore, limit int, sr *siteRules) (*sightingsLoop, *int) {
	t.Helper()
	if sr == nil {
		sr = emptyRules(config.Site{ID: "ik5", TimeZone: "UTC"})
	}
	notified := new(int)
	l, err := newSightingsLoop(st, func() { *notified++ }, slog.New(slog.DiscardHandler), newMetrics(), "north", "ik5",
		64<<10, "fused-test", track.Config{Threshold: 0.5}, sr, limit, &unstored{})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	l.now = func() time.Time { return now }
	return l, notified
}

// facts is a decided sighting of person on camera gate-1.
func facts(person string, n int) sightingFacts {
	at := t0.Add(time.Duration(n) * time.Second)
	return sightingFacts{
		camera: "gate-1", track: uint64(n), person: person, first: at, last: at.Add(2 * time.Second),
		best:   track.Best{Time: at.Add(time.Second), Face: recognizer.Face{Quality: recognizer.Quality{Score: 0.8}}, Crop: track.Crop{Image: image.NewRGBA(image.Rect(0, 0, 8, 8))}},
		frames: 5, score: 0.9, margin: float32(math.Inf(1)),
	}
}

func TestSightingIsStoredWithItsOutboxMessage(t *testing.T) {
	st := &fakeEvents{}
	l, notified := testLoop(t, st, 0, nil)
	l.sighting(context.Background(), facts("P-1", 1))
	if len(st.sightings) != 1 || len(st.outbox) != 1 || *notified != 1 {
		t.Fatalf("stored %d sightings, %d messages, notified %d times", len(st.sightings), len(st.outbox), *notified)
	}
	sg, m := st.sightings[0], st.outbox[0]
	if sg.PersonID != "P-1" || sg.Crop == nil || sg.Frames != 5 || sg.Margin != 1.9 {
		t.Errorf("stored sighting %+v", sg)
	}
	// The payload is final: numbered by the store, with the crop.
	ws, err := wire.DecodeSighting(m.Payload, time.Now())
	if err != nil || m.Topic != "dozor/v1/north/ik5/sighting" {
		t.Fatalf("outbox message %s %s: %v", m.Topic, m.Payload, err)
	}
	if ws.ID.String() != sg.ID || ws.Seq != m.Seq || ws.Person != "P-1" || ws.Margin != 1.9 || ws.Model != "fused-test" ||
		!bytes.Equal(ws.Crop, sg.Crop) || m.CropOf != sg.ID {
		t.Errorf("payload %+v (crop of %q) does not match the stored sighting %+v", ws, m.CropOf, sg)
	}
}

// watchListSite is a site with one camera, gate-1, in the yard and one
// rule, wl, raising a critical alert on every sighting of P-1, who is on
// the escape-risk watch list.
func watchListSite(t *testing.T) *siteRules {
	t.Helper()
	r, err := rules.Compile(rules.Config{Facility: "ik5", TimeZone: "UTC",
		Zones:   []rules.Zone{{ID: "yard"}},
		Cameras: []rules.Camera{{ID: "gate-1", Zone: "yard"}},
		Persons: []rules.Person{{ID: "P-1", WatchLists: []string{"escape-risk"}}},
		Rules:   []rules.Rule{{ID: "wl", Kind: custody.KindWatchList, Severity: custody.Critical}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &siteRules{rules: r, permitted: map[string]map[string]bool{}, count: 1}
}

// TestCropOnTheWire checks when a message carries the crop (and names the
// sighting whose crop it is, for the store to seal and audit): only when
// crops are sent and the crop fits. The alert, whose crop the wire
// requires, goes out numbered without it for the region to file.
func TestCropOnTheWire(t *testing.T) {
	for _, c := range []struct {
		name    string
		maxCrop int
		noCrop  bool // the track kept no crop
		sent    bool
	}{
		{"crops sent", 64 << 10, false, true},
		{"crops off", 0, false, false},
		{"crop larger than max_crop_bytes", 100, false, false},
		{"no crop kept", 64 << 10, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &fakeEvents{}
			l, _ := testLoop(t, st, 0, watchListSite(t))
			l.maxCrop = c.maxCrop
			f := facts("P-1", 1)
			if c.noCrop {
				f.best.Crop = track.Crop{}
			}
			l.sighting(context.Background(), f)
			if len(st.sightings) != 1 || len(st.alerts) != 1 || len(st.outbox) != 2 {
				t.Fatalf("%d sightings, %d alerts, %d messages", len(st.sightings), len(st.alerts), len(st.outbox))
			}
			sg, sm, am := st.sightings[0], st.outbox[0], st.outbox[1]
			want, cropOf := []byte(nil), ""
			if c.sent {
				want, cropOf = sg.Crop, sg.ID
			}
			ws, err := wire.DecodeSighting(sm.Payload, time.Now())
			if err != nil || ws.Seq != 1 || !bytes.Equal(ws.Crop, want) || sm.CropOf != cropOf {
				t.Errorf("sighting %+v (crop of %q): %v", ws, sm.CropOf, err)
			}
			wa, err := wire.DecodeAlert(am.Payload, time.Now())
			if c.sent {
				if err != nil || wa.Seq != 2 || !bytes.Equal(wa.Evidence.Crop, want) || am.CropOf != cropOf {
					t.Errorf("alert %+v (crop of %q): %v", wa, am.CropOf, err)
				}
				return
			}
			var raw map[string]any
			if json.Unmarshal(am.Payload, &raw) != nil || raw["seq"] != float64(2) || err == nil ||
				!strings.Contains(err.Error(), "crop") || am.CropOf != "" {
				t.Errorf("alert without crop: %s (%v)", am.Payload, err)
			}
		})
	}
}

// A full disk must not lose events or claim they were stored: they wait
// in memory, in order, and are stored once space returns.
func TestStorageFullKeepsEventsAndRetries(t *testing.T) {
	st := &fakeEvents{fail: storageFull}
	l, notified := testLoop(t, st, 0, nil)
	ctx := context.Background()
	for i := range 5 {
		l.now = func() time.Time { return t0.Add(time.Duration(i) * time.Second) }
		l.sighting(ctx, facts(fmt.Sprintf("P-%d", i), i))
	}
	if len(st.sightings) != 0 || *notified != 0 {
		t.Fatalf("%d stored, %d notifications while the disk is full", len(st.sightings), *notified)
	}
	v := l.state.view()
	if v.Backlog != 5 || !strings.Contains(v.Error, "storage full") {
		t.Errorf("health view %+v: want a backlog of 5 and the storage-full error", v)
	}
	if n := l.m.storageFull.Load(); n == 0 || n >= 5 {
		// Retries are paced, not one per event.
		t.Errorf("storage-full count %d: want at least one, and fewer attempts than events", n)
	}

	st.fail = nil
	l.now = func() time.Time { return t0.Add(time.Minute) }
	l.idle(ctx)
	if len(st.sightings) != 5 || *notified != 1 || l.state.view().Backlog != 0 {
		t.Fatalf("after recovery: %d stored, %d notifications, backlog %d", len(st.sightings), *notified, l.state.view().Backlog)
	}
	for i, sg := range st.sightings {
		if sg.PersonID != fmt.Sprintf("P-%d", i) {
			t.Errorf("stored out of order: #%d is %s", i, sg.PersonID)
		}
	}
}

func TestBacklogIsBounded(t *testing.T) {
	st := &fakeEvents{fail: storageFull}
	l, _ := testLoop(t, st, 3, nil)
	ctx := context.Background()
	for i := range 5 {
		l.sighting(ctx, facts(fmt.Sprintf("P-%d", i), i))
	}
	if got := l.m.lost.Load(); got != 2 {
		t.Errorf("lost %d events, want the 2 oldest", got)
	}
	st.fail = nil
	l.finish(ctx)
	var got []string
	for _, sg := range st.sightings {
		got = append(got, sg.PersonID)
	}
	if strings.Join(got, ",") != "P-2,P-3,P-4" {
		t.Errorf("stored %v, want the newest three in order", got)
	}
}

func TestRefusedEventDoesNotBlockTheOthers(t *testing.T) {
	st := &fakeEvents{}
	l, _ := testLoop(t, st, 0, nil)
	ctx := context.Background()
	l.sighting(ctx, facts("ghost", 1))
	l.sighting(ctx, facts("P-2", 2))
	if len(st.sightings) != 1 || st.sightings[0].PersonID != "P-2" || l.m.rejected.Load() != 1 || len(l.backlog) != 0 {
		t.Errorf("stored %+v, rejected %d, backlog %d", st.sightings, l.m.rejected.Load(), len(l.backlog))
	}
}

func TestShutdownCountsWhatCouldNotBeStored(t *testing.T) {
	st := &fakeEvents{fail: storageFull}
	l, _ := testLoop(t, st, 0, nil)
	l.sighting(context.Background(), facts("P-1", 1))
	l.finish(context.Background())
	if l.m.lost.Load() != 1 {
		t.Errorf("lost %d, want 1", l.m.lost.Load())
	}
}

// Tracker events become sightings: a decision, and a track that ended
// unknown; an unassessed track is only counted.
func TestTrackEvents(t *testing.T) {
	st := &fakeEvents{}
	l, _ := testLoop(t, st, 0, nil)
	ct := l.tracks("gate-1")
	ctx := context.Background()
	best := track.Best{Time: t0.Add(time.Second), Face: recognizer.Face{Quality: recognizer.Quality{Score: 0.7}}}
	l.events(ctx, "gate-1", ct, []track.Event{
		{Kind: track.TrackStarted, Track: 1, Time: t0},
		{Kind: track.IdentityDecided, Track: 1, Time: t0.Add(2 * time.Second), Identity: &track.Identity{
			PersonID: "P-1", MeanScore: 0.8, Margin: 0.3, Frames: 4, Votes: 4, Best: best}},
		{Kind: track.TrackStarted, Track: 2, Time: t0},
		{Kind: track.TrackEnded, Track: 1, Time: t0.Add(5 * time.Second), Summary: &track.Summary{Outcome: track.Identified}},
		{Kind: track.TrackEnded, Track: 2, Time: t0.Add(5 * time.Second), Summary: &track.Summary{
			Outcome: track.Unknown, FirstSeen: t0, LastSeen: t0.Add(3 * time.Second), UsableFrames: 6,
			Nearest: "P-9", NearestScore: 0.4, NearestMargin: 0.01, Best: best}},
		{Kind: track.TrackEnded, Track: 3, Time: t0.Add(5 * time.Second), Summary: &track.Summary{Outcome: track.Unassessed}},
	})
	if len(st.sightings) != 2 {
		t.Fatalf("%d sightings, want the decision and the unknown track", len(st.sightings))
	}
	known, unknown := st.sightings[0], st.sightings[1]
	if known.PersonID != "P-1" || !known.FirstSeen.Equal(t0) || known.Frames != 4 || known.Score != 0.8 {
		t.Errorf("decision stored as %+v", known)
	}
	if unknown.PersonID != "" || unknown.Frames != 6 || unknown.Score != 0.4 || !unknown.LastSeen.Equal(t0.Add(3*time.Second)) {
		t.Errorf("unknown track stored as %+v", unknown)
	}
	if l.m.unassessed.Load() != 1 || len(ct.started) != 0 {
		t.Errorf("unassessed %d, tracks still remembered %v", l.m.unassessed.Load(), ct.started)
	}
}

// A rule's alert is stored after the sighting it cites, with a valid wire
// alert (no crop: it is attached when published).
func TestWatchListAlert(t *testing.T) {
	st := &fakeEvents{}
	l, _ := testLoop(t, st, 0, watchListSite(t))
	l.sighting(context.Background(), facts("P-1", 1))
	if len(st.sightings) != 1 || len(st.alerts) != 1 || len(st.outbox) != 2 {
		t.Fatalf("%d sightings, %d alerts, %d messages", len(st.sightings), len(st.alerts), len(st.outbox))
	}
	a := st.alerts[0]
	if a.SightingID != st.sightings[0].ID || a.RuleID != "wl" || a.Severity != custody.Critical {
		t.Errorf("alert %+v", a)
	}
	wa, err := wire.DecodeAlert(st.outbox[1].Payload, time.Now())
	if err != nil || wa.Seq != 2 || wa.Kind != wire.AlertWatchlist || wa.Person != "P-1" || wa.Zone != "yard" ||
		wa.Sighting.String() != a.SightingID || len(wa.Evidence.Crop) == 0 {
		t.Errorf("wire alert %+v: %v", wa, err)
	}
	if l.m.alerts.Load() != 1 {
		t.Errorf("alerts counted %d", l.m.alerts.Load())
	}
}

func TestWireMargin(t *testing.T) {
	for _, c := range []struct {
		score, margin float32
		want          float64
	}{
		{0.9, float32(math.Inf(1)), 1.9},
		{0.5, 0.2, 0.2},
		{0.5, -0.1, 0},
		{0.5, 3, 2},
		{-0.9, float32(math.Inf(1)), 0.1},
	} {
		if got := wireMargin(c.score, c.margin); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("wireMargin(%v, %v) = %v, want %v", c.score, c.margin, got, c.want)
		}
	}
}

func TestPermanentErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{storageFull, false},
		{errors.New("database is locked"), false},
		{fmt.Errorf("x: %w", store.ErrInvalid), true},
		{fmt.Errorf("x: %w", store.ErrNotFound), true},
	} {
		if got := permanent(c.err); got != c.want {
			t.Errorf("permanent(%v) = %v", c.err, got)
		}
	}
}
