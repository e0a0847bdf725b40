package edge

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
	"github.com/dozor-edge/dozor/edge/rules"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
	"github.com/dozor-edge/dozor/recognizer/track"
	"github.com/dozor-edge/dozor/sync/wire"
)

// eventStore is where the sightings loop writes; *store.Store is one. It
// calls compose with the seq of the event's message, inside the event's
// transaction.
type eventStore interface {
	RecordSighting(ctx context.Context, sg store.Sighting, compose store.Compose) (uint64, error)
	RecordAlert(ctx context.Context, a store.Alert, compose store.Compose) (uint64, error)
}

// frameResult is what a recognizer worker made of one frame: every face
// with its embedding, gallery matches and crop. A frame without faces is
// sent too, because the tracker ages its tracks on camera time.
type frameResult struct {
	camera string
	seq    uint64
	at     time.Time
	w, h   int // the frame's size, which the faces' boxes are in
	obs    []track.Observation
	// gallery is the snapshot the faces were matched against (nil: none
	// was loaded).
	gallery *gallery.Snapshot
}

// watcher hears what the sightings loop does, for the guard monitor. Its
// functions run on the loop's goroutine and must never block: a slow
// browser loses updates, it never holds up the loop.
type watcher struct {
	// stored is told of every sighting and alert once it is on disk.
	stored func(kind, id, camera string)
	// seen is told, after each frame, of the tracks the frame showed.
	seen func(camera string, at time.Time, w, h int, tracks []track.Visible)
	// live is handed, after each frame and each flush, a copy of the
	// camera's live tracks: the recognizer workers' embedding budget.
	live func(camera string, tracks []track.Live)
}

// pendingEvent is one event on its way to the store: a sighting or an
// alert, with the composer of the message that announces it (nil: none).
type pendingEvent struct {
	what     string // "sighting 0197..." for logs
	sighting *store.Sighting
	alert    *store.Alert
	compose  store.Compose
}

// unstored is the state of events the store refused for lack of space,
// shared with /healthz and /metrics.
type unstored struct {
	mu       sync.Mutex
	backlog  int
	lastErr  string
	lastAt   time.Time
	limit    int
	oldestAt time.Time
}

type unstoredView struct {
	Backlog int       `json:"backlog"`
	Limit   int       `json:"limit"`
	Oldest  time.Time `json:"oldest,omitzero"`
	Error   string    `json:"last_error,omitempty"`
	ErrorAt time.Time `json:"last_error_at,omitzero"`
}

func (u *unstored) view() unstoredView {
	u.mu.Lock()
	defer u.mu.Unlock()
	return unstoredView{Backlog: u.backlog, Limit: u.limit, Oldest: u.oldestAt, Error: u.lastErr, ErrorAt: u.lastAt}
}

// camTracks is the tracking state of one camera.
type camTracks struct {
	tr      *track.Tracker
	started map[track.ID]time.Time // when each confirmed track was first seen
	last    time.Time              // wall time of the latest frame
	camTime time.Time              // camera time of the latest frame
	// gallery is the snapshot of the camera's newest frames, first seen
	// on frame gallerySeq: workers finish frames out of order, and a
	// frame older than that, matched against the snapshot before, is no
	// change.
	gallery    *gallery.Snapshot
	gallerySeq uint64
}

// noteGallery tells the tracker when frame seq was matched against a
// newer gallery than the frames before.
func (ct *camTracks) noteGallery(snap *gallery.Snapshot, seq uint64) {
	if snap == ct.gallery || snap == nil || seq <= ct.gallerySeq {
		return
	}
	if ct.gallery != nil {
		ct.tr.GalleryChanged()
	}
	ct.gallery, ct.gallerySeq = snap, seq
}

// sightingsLoop owns the trackers of every camera, the rules engine and
// the backlog of unstored events. One goroutine runs it; nothing in it is
// shared except through unstored and the metrics.
type sightingsLoop struct {
	st      eventStore
	notify  func()
	log     *slog.Logger
	m       *metrics
	site    string
	model   recognizer.ModelID
	trCfg   track.Config
	sigT    string // sighting topic
	alertT  string // alert topic
	maxCrop int    // uplink.max_crop_bytes: the largest crop sent, 0 for none
	limit   int
	now     func() time.Time
	retryIn time.Duration

	watch   watcher
	visible []track.Visible // reused from frame to frame

	rules   *siteRules
	eng     *rules.Engine
	cams    map[string]*camTracks
	backlog []pendingEvent
	state   *unstored
	lastTry time.Time
	failing bool // the last write failed for a passing reason
	caught  int  // events stored from the backlog since it began

	full     *every
	failed   *every
	dropped  *every
	rejected *every
}

func newSightingsLoop(st eventStore, notify func(), log *slog.Logger, m *metrics, region, site string, maxCrop int,
	model recognizer.ModelID, trCfg track.Config, sr *siteRules, limit int, state *unstored) (*sightingsLoop, error) {
	sigT, err := wire.SightingTopic(region, site)
	if err != nil {
		return nil, err
	}
	alertT, err := wire.AlertTopic(region, site)
	if err != nil {
		return nil, err
	}
	if err := trCfg.Validate(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultBacklogLimit
	}
	state.mu.Lock()
	state.limit = limit
	state.mu.Unlock()
	log = log.With("component", "sightings")
	return &sightingsLoop{
		st: st, notify: notify, log: log, m: m, site: site, model: model, trCfg: trCfg,
		sigT: sigT, alertT: alertT, maxCrop: maxCrop, limit: limit, now: time.Now, retryIn: 2 * time.Second,
		rules: sr, eng: rules.New(sr.rules, rules.Options{}), cams: map[string]*camTracks{}, state: state,
		full:   newEvery(log, slog.LevelError, "events NOT stored: storage full; kept in memory and retried", time.Minute),
		failed: newEvery(log, slog.LevelError, "events NOT stored: store error; kept in memory and retried", time.Minute),
		dropped: newEvery(log, slog.LevelError, "events LOST: the in-memory backlog of unstored events is full; the oldest were dropped",
			time.Minute),
		rejected: newEvery(log, slog.LevelError, "event refused by the store as invalid; it cannot be stored", time.Minute),
	}, nil
}

// DefaultBacklogLimit bounds the events held in memory while the store
// cannot take them (a full disk): about an hour of a busy facility.
const DefaultBacklogLimit = 10000

// run consumes frame results until in is closed, then ends every track
// (their sightings are stored) and returns. Rules snapshots arrive on
// rulesCh.
func (l *sightingsLoop) run(ctx context.Context, in <-chan frameResult, rulesCh <-chan *siteRules) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-in:
			if !ok {
				l.finish(ctx)
				return
			}
			l.frame(ctx, r)
		case sr := <-rulesCh:
			l.rules = sr
			l.eng.SetRules(sr.rules)
		case <-tick.C:
			l.idle(ctx)
		}
	}
}

func (l *sightingsLoop) tracks(camera string) *camTracks {
	ct := l.cams[camera]
	if ct == nil {
		ct = &camTracks{tr: track.New(l.trCfg), started: map[track.ID]time.Time{}}
		l.cams[camera] = ct
	}
	return ct
}

// frame feeds one frame's observations to its camera's tracker.
func (l *sightingsLoop) frame(ctx context.Context, r frameResult) {
	ct := l.tracks(r.camera)
	ct.last = l.now()
	if r.at.After(ct.camTime) {
		ct.camTime = r.at
	}
	ct.noteGallery(r.gallery, r.seq)
	l.events(ctx, r.camera, ct, ct.tr.Update(r.at, r.obs))
	if l.watch.live != nil {
		l.watch.live(r.camera, ct.tr.Live(nil))
	}
	if l.watch.seen != nil {
		l.visible = ct.tr.Seen(r.seq, l.visible[:0])
		l.watch.seen(r.camera, r.at, r.w, r.h, l.visible)
	}
}

// idle ends the tracks of cameras whose frames stopped (a camera down, or
// recognition far behind) and retries the backlog.
func (l *sightingsLoop) idle(ctx context.Context) {
	now := l.now()
	for cam, ct := range l.cams {
		if now.Sub(ct.last) > l.trCfg.WithDefaults().MaxAge {
			// Camera time stands still without frames; move it on by the
			// wall time that passed.
			l.events(ctx, cam, ct, ct.tr.Flush(ct.camTime.Add(now.Sub(ct.last))))
			if l.watch.live != nil {
				l.watch.live(cam, ct.tr.Live(nil))
			}
		}
	}
	if len(l.backlog) > 0 && now.Sub(l.lastTry) >= l.retryIn {
		l.drain(ctx)
	}
	for _, e := range []*every{l.full, l.failed, l.dropped, l.rejected} {
		e.Tick()
	}
}

// finish ends every track at shutdown, so each one still becomes a
// sighting, and makes a last attempt at the backlog.
func (l *sightingsLoop) finish(ctx context.Context) {
	for cam, ct := range l.cams {
		at := ct.camTime.Add(l.now().Sub(ct.last))
		l.events(ctx, cam, ct, ct.tr.EndAll(at))
	}
	if len(l.backlog) > 0 {
		l.drain(ctx)
	}
	if n := len(l.backlog); n > 0 {
		l.log.Error("stopping with events that could NOT be stored; they are lost", "count", n, "first", l.backlog[0].what)
		l.m.lost.Add(uint64(n))
	}
	for _, e := range []*every{l.full, l.failed, l.dropped, l.rejected} {
		e.Flush()
	}
}

// events turns tracker events into sightings (and the rules' alerts).
func (l *sightingsLoop) events(ctx context.Context, camera string, ct *camTracks, evs []track.Event) {
	for _, ev := range evs {
		switch ev.Kind {
		case track.TrackStarted:
			ct.started[ev.Track] = ev.Time
		case track.IdentityDecided:
			id := ev.Identity
			first := ct.started[ev.Track]
			if first.IsZero() || id.Best.Time.Before(first) {
				first = id.Best.Time
			}
			l.sighting(ctx, sightingFacts{
				camera: camera, track: uint64(ev.Track), person: id.PersonID,
				first: first, last: ev.Time, best: id.Best,
				frames: id.Frames, score: id.MeanScore, margin: id.Margin,
			})
		case track.TrackEnded:
			first := ct.started[ev.Track]
			delete(ct.started, ev.Track)
			s := ev.Summary
			switch s.Outcome {
			case track.Unknown:
				score, margin := s.NearestScore, s.NearestMargin
				if s.Nearest == "" {
					score, margin = 0, 0
				}
				if first.IsZero() || s.FirstSeen.Before(first) {
					first = s.FirstSeen
				}
				l.sighting(ctx, sightingFacts{
					camera: camera, track: uint64(ev.Track),
					first: first, last: s.LastSeen, best: s.Best,
					frames: s.UsableFrames, score: score, margin: margin,
				})
			case track.Unassessed:
				l.m.unassessed.Inc()
			}
		}
	}
}

// sightingFacts is what a sighting says, from either kind of event.
type sightingFacts struct {
	camera        string
	track         uint64
	person        string // empty: unknown face
	first, last   time.Time
	best          track.Best
	frames        int
	score, margin float32
}

// wireMargin maps a tracker margin to the wire's [0, 2]: with no runner-up
// (+Inf) the runner-up's score is taken as -1.
func wireMargin(score, margin float32) float64 {
	m := float64(margin)
	if math.IsInf(m, 1) || math.IsNaN(m) {
		m = float64(score) + 1
	}
	return round6(max(0, min(2, m)))
}

func clampScore(s float32) float64 {
	if math.IsNaN(float64(s)) {
		return 0
	}
	return round6(max(-1, min(1, float64(s))))
}

// round6 drops the float32 noise (0.8999999761581421) from scores on the
// wire: six decimals are far finer than any threshold.
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// sighting stores one sighting with its outbox message (with the crop
// when crops are sent), then runs the rules on it.
func (l *sightingsLoop) sighting(ctx context.Context, f sightingFacts) {
	id, err := wire.NewID()
	if err != nil {
		l.log.Error("no sighting id: the random source failed", "err", err)
		return
	}
	first, last, best := f.first.UTC(), f.last.UTC(), f.best.Time.UTC()
	if best.IsZero() || best.Before(first) {
		best = first
	}
	if last.Before(best) {
		last = best
	}
	quality := max(0, min(1, f.best.Face.Quality.Score))
	if math.IsNaN(float64(quality)) {
		quality = 0
	}
	score, margin := clampScore(f.score), wireMargin(f.score, f.margin)
	frames := max(1, f.frames)
	ws := wire.Sighting{
		ID: id, Site: l.site, Camera: f.camera, Track: f.track, Person: f.person,
		FirstSeen: first, LastSeen: last, BestAt: best, Frames: frames,
		Score: score, Margin: margin, Model: string(l.model), Quality: round6(float64(quality)),
	}
	sg := store.Sighting{
		ID: id.String(), CameraID: f.camera, TrackID: f.track, PersonID: f.person, Model: l.model,
		Score: float32(score), Margin: float32(margin), Quality: quality, Frames: frames,
		FirstSeen: first, LastSeen: last, Crop: encodeCrop(f.best.Crop.Image),
	}
	if len(sg.Crop) == 0 || len(sg.Crop) > store.MaxCropBytes {
		sg.Crop = nil
	}
	ev := pendingEvent{what: "sighting " + sg.ID, sighting: &sg}
	cropOf := ""
	if ws.Crop = wireCrop(sg.Crop, l.maxCrop); ws.Crop != nil {
		cropOf = sg.ID
	}
	if ev.compose, err = composer(l.sigT, ws, cropOf); err != nil {
		l.rejected.Note(err.Error(), "event", ev.what)
	}
	if f.person == "" {
		l.m.sightingsUnknown.Inc()
	} else {
		l.m.sightingsKnown.Inc()
	}
	l.submit(ctx, ev)

	alerts, err := l.eng.Process(rules.Sighting{
		ID: sg.ID, Time: last, Camera: f.camera, Track: f.track, PersonID: f.person,
		Score: float32(score), Margin: float32(margin), CropRef: "sighting:" + sg.ID,
	})
	if err != nil {
		l.log.Error("rules could not judge a sighting", "sighting", sg.ID, "err", err)
		return
	}
	for _, a := range alerts {
		l.alert(ctx, a, sg.ID, frames, sg.Crop)
	}
}

// alertKind is the wire kind of an alert, "" for a kind the wire has no
// name for (none today; such an alert would be stored and shown locally
// only).
func (l *sightingsLoop) alertKind(a rules.Alert) string {
	switch a.Kind {
	case custody.KindWatchList:
		return wire.AlertWatchlist
	case custody.KindUnknownInStaffZone:
		return wire.AlertUnknownFace
	case custody.KindKeepApart:
		return wire.AlertKeepApart
	case custody.KindOutsidePermit:
		for _, p := range a.Persons {
			if l.rules.permitted[p][a.Zone] {
				return wire.AlertSchedule
			}
		}
		return wire.AlertZone
	}
	return ""
}

// alertEvidence is the alert's explanation as stored (the store's
// evidence column): what the guard sees beside the crops.
type alertEvidence struct {
	Kind      custody.Kind     `json:"kind"`
	Reason    string           `json:"reason"`
	Camera    string           `json:"camera"`
	Zone      string           `json:"zone,omitempty"`
	Persons   []string         `json:"persons,omitempty"`
	Sightings []rules.Evidence `json:"sightings"`
}

// alert stores an alert raised on the sighting sightingID, whose crop is
// crop, with its outbox message.
func (l *sightingsLoop) alert(ctx context.Context, a rules.Alert, sightingID string, frames int, crop []byte) {
	l.m.alerts.Inc()
	evidence, err := json.Marshal(alertEvidence{Kind: a.Kind, Reason: a.Reason, Camera: a.Camera, Zone: a.Zone,
		Persons: a.Persons, Sightings: a.Evidence})
	if err != nil {
		l.log.Error("alert evidence does not encode", "alert", a.ID, "err", err)
		evidence = []byte(`{}`)
	}
	sa := store.Alert{ID: a.ID, RuleID: a.Rule, SightingID: sightingID, Severity: a.Severity, Evidence: evidence,
		CreatedAt: a.Time}
	ev := pendingEvent{what: "alert " + a.ID, alert: &sa}
	kind := l.alertKind(a)
	if kind == "" {
		l.m.alertsLocalOnly.Inc()
		l.log.Warn("alert stored and shown locally only: the wire has no kind for it", "alert", a.ID, "rule", a.Rule,
			"kind", string(a.Kind))
		l.submit(ctx, ev)
		return
	}
	aid, err := wire.ParseID(a.ID)
	if err != nil {
		l.log.Error("alert id is not a UUID", "alert", a.ID, "err", err)
		l.submit(ctx, ev)
		return
	}
	sid, _ := wire.ParseID(sightingID)
	var score, margin float64
	for _, e := range a.Evidence {
		if e.Sighting == sightingID {
			score, margin = clampScore(e.Score), round6(max(0, min(2, float64(e.Margin))))
		}
	}
	wa := wire.Alert{ID: aid, Site: l.site, Rule: a.Rule, Kind: kind, Severity: string(a.Severity), Sighting: sid,
		Camera: a.Camera, Zone: a.Zone, At: a.Time.UTC(),
		Evidence: wire.Evidence{Score: score, Margin: margin, Frames: frames}}
	if kind != wire.AlertUnknownFace && len(a.Persons) > 0 {
		wa.Person = a.Persons[0]
	}
	if kind == wire.AlertKeepApart && len(a.Persons) > 1 {
		wa.Others = a.Persons[1:]
	}
	cropOf := ""
	if wa.Evidence.Crop = wireCrop(crop, l.maxCrop); wa.Evidence.Crop != nil {
		cropOf = sightingID
	}
	if ev.compose, err = composer(l.alertT, wa, cropOf); err != nil {
		l.rejected.Note(err.Error(), "event", ev.what)
	}
	l.submit(ctx, ev)
}

// submit stores ev, durably and before anything announces it, or keeps it
// in the backlog when the store cannot take it. Events are stored in the
// order they happened: while a backlog waits, new events join its end.
func (l *sightingsLoop) submit(ctx context.Context, ev pendingEvent) {
	if len(l.backlog) >= l.limit {
		l.dropped.Note(l.backlog[0].what)
		l.m.lost.Inc()
		l.backlog[0] = pendingEvent{}
		l.backlog = l.backlog[1:]
	}
	l.backlog = append(l.backlog, ev)
	if len(l.backlog) == 1 || l.now().Sub(l.lastTry) >= l.retryIn {
		l.drain(ctx)
	}
	l.publishState()
}

// drain stores backlog events in order until one fails for a reason that
// may pass (a full disk, a busy database).
func (l *sightingsLoop) drain(ctx context.Context) {
	l.lastTry = l.now()
	stored := 0
	for len(l.backlog) > 0 {
		ev := l.backlog[0]
		var err error
		if ev.sighting != nil {
			_, err = l.st.RecordSighting(ctx, *ev.sighting, ev.compose)
		} else {
			_, err = l.st.RecordAlert(ctx, *ev.alert, ev.compose)
		}
		if err != nil && !permanent(err) {
			l.failing = true
			l.noteFailure(err, ev)
			break
		}
		if err != nil {
			l.m.rejected.Inc()
			l.rejected.Note(err.Error(), "event", ev.what)
		} else {
			stored++
			l.announce(ev)
		}
		l.backlog[0] = pendingEvent{}
		l.backlog = l.backlog[1:]
	}
	if stored > 0 {
		l.notify()
	}
	if l.failing {
		l.caught += stored
		if len(l.backlog) == 0 {
			l.failing = false
			l.log.Info("the store takes events again; the backlog kept in memory is stored", "stored", l.caught)
			l.caught = 0
		}
	}
	l.publishState()
}

// announce tells the watcher of an event now on disk.
func (l *sightingsLoop) announce(ev pendingEvent) {
	if l.watch.stored == nil {
		return
	}
	if ev.sighting != nil {
		l.watch.stored("sighting", ev.sighting.ID, ev.sighting.CameraID)
		return
	}
	l.watch.stored("alert", ev.alert.ID, "")
}

func (l *sightingsLoop) noteFailure(err error, ev pendingEvent) {
	l.state.mu.Lock()
	l.state.lastErr, l.state.lastAt = err.Error(), l.now()
	l.state.mu.Unlock()
	if errors.Is(err, store.ErrStorageFull) {
		l.m.storageFull.Inc()
		l.full.Note(err.Error(), "event", ev.what, "backlog", len(l.backlog))
		return
	}
	l.m.storeErrors.Inc()
	l.failed.Note(err.Error(), "event", ev.what, "backlog", len(l.backlog))
}

func (l *sightingsLoop) publishState() {
	l.state.mu.Lock()
	l.state.backlog = len(l.backlog)
	if len(l.backlog) == 0 {
		l.state.oldestAt = time.Time{}
	} else if l.state.oldestAt.IsZero() {
		l.state.oldestAt = l.now()
	}
	l.state.mu.Unlock()
}

// permanent reports store errors that no retry can cure: the event is
// invalid or refers to something the store does not have.
func permanent(err error) bool {
	return errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, store.ErrReadOnly) || errors.Is(err, store.ErrNoKey)
}
