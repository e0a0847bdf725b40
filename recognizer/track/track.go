package track

import (
	"fmt"
	"image"
	"math"
	"slices"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// ID numbers the tracks of one Tracker, from 1 upwards.
type ID uint64

// Crop is the caller's handle on the face image of one observation: a
// reference into its own storage, the face's pixels, or both. The tracker
// never reads it and keeps only the crops of best observations, so a
// caller encodes the image of the one it keeps, not of every face.
type Crop struct {
	Ref   string
	Image image.Image
}

// Observation is one face found in a frame.
type Observation struct {
	// Frame is the sequence number of the frame; every observation passed
	// to one Update has the same.
	Frame uint64
	// Face is the detection with its quality (recognizer.AssessQuality).
	Face recognizer.Face
	// Usability is the usability gate's verdict on Face
	// (recognizer.UsablePolicy.Check). Only a usable observation counts
	// towards an identity; an unusable one keeps its track alive and is
	// followed by its box alone, its embedding ignored. The zero value is
	// unusable: a caller that does not run the gate never gets a name.
	Usability recognizer.Usability
	// Embedding of the face; an empty or invalid one leaves the pairing to
	// the boxes.
	Embedding recognizer.Embedding
	// Matches are the gallery's best persons for the embedding (Search
	// with k ≥ 2), empty when nobody is enrolled.
	Matches []gallery.Match
	Crop    Crop
}

// EventKind says what happened to a track.
type EventKind uint8

// Kinds of Event.
const (
	// TrackStarted: a tentative track was confirmed.
	TrackStarted EventKind = iota + 1
	// IdentityDecided: the track's face is an enrolled person. Event.Identity
	// holds the evidence.
	IdentityDecided
	// TrackEnded: the track aged out or was ended. Event.Summary describes
	// it, including its final identity or that it stayed unknown.
	TrackEnded
)

func (k EventKind) String() string {
	switch k {
	case TrackStarted:
		return "track started"
	case IdentityDecided:
		return "identity decided"
	case TrackEnded:
		return "track ended"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is something that happened to a track.
type Event struct {
	Kind  EventKind
	Track ID
	// Time and Frame of the update that caused the event. A TrackEnded
	// carries the time the end was noticed; Summary.LastSeen is when the
	// face was last observed.
	Time  time.Time
	Frame uint64
	// Box is the track's latest observed box.
	Box recognizer.Rect
	// Identity is set for IdentityDecided.
	Identity *Identity
	// Summary is set for TrackEnded.
	Summary *Summary
}

// Best is a track's best observation of a face.
type Best struct {
	Time  time.Time
	Frame uint64
	Face  recognizer.Face
	// Usability is the observation's verdict of the usability gate.
	Usability recognizer.Usability
	// PersonID and Score are the frame's best gallery match; empty and zero
	// when the frame had none.
	PersonID string
	Score    float32
	Crop     Crop
}

// Identity is a multi-frame identity decision and the evidence behind it.
type Identity struct {
	PersonID string
	// MeanScore is the person's quality-weighted mean score over the
	// evidence frames; Margin its lead over RunnerUp's (+Inf and empty
	// RunnerUp when no other person was ever listed).
	MeanScore float32
	Margin    float32
	RunnerUp  string
	// Frames is how many evidence frames (usable, with matches) were
	// judged; Votes in how many of them the person was the best match.
	Frames, Votes int
	// Replaces is the track's previous identity when overwhelming evidence
	// changed it; empty for a first decision.
	Replaces string
	// Best is the highest-quality frame in which the person was the best
	// match, with its crop: the evidence to show a guard.
	Best Best
}

// Outcome is what a track amounted to.
type Outcome uint8

// Outcomes of a track.
const (
	// Identified: an identity was decided.
	Identified Outcome = iota + 1
	// Unknown: at least Config.MinFrames usable frames and no enrolled
	// person fitted them.
	Unknown
	// Unassessed: too few usable frames to say who it was or was not.
	Unassessed
)

func (o Outcome) String() string {
	switch o {
	case Identified:
		return "identified"
	case Unknown:
		return "unknown"
	case Unassessed:
		return "unassessed"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Summary describes a track that ended.
type Summary struct {
	FirstSeen, LastSeen   time.Time
	FirstFrame, LastFrame uint64
	// Frames observed, and how many of them were usable for identification.
	Frames, UsableFrames int
	Outcome              Outcome
	// Identity is the track's current identity when Identified.
	Identity *Identity
	// Nearest is the leading person of a track that stayed unknown or
	// unassessed, with its weighted mean and margin: for logs and threshold
	// tuning, never an identity. Empty when nothing matched.
	Nearest       string
	NearestScore  float32
	NearestMargin float32
	// Best is the track's highest-quality observation (a usable one when
	// there is any), with its crop.
	Best    Best
	LastBox recognizer.Rect
}

// Stats counts what a Tracker has dealt with, for aggregated logging.
type Stats struct {
	Tracks    int // confirmed tracks alive
	Tentative int // tentative tracks alive
	// Invalid counts observations dropped for a box that is empty or not
	// finite.
	Invalid uint64
	// ClockSteps counts updates whose time was before the latest seen.
	ClockSteps uint64
}

// Tracker follows the faces of one camera. It is owned by one goroutine.
type Tracker struct {
	cfg    Config
	rule   rule // the first decision
	change rule // a change of identity

	tracks []*track
	nextID ID
	now    time.Time
	begun  bool
	stats  Stats

	// Buffers reused from frame to frame.
	asg   assigner
	cost  []float64
	pairs []pair
	valid []int
	norms []float32
	owner []*track
	ev    []scored
}

// New returns a Tracker for cfg with defaults applied. It panics when the
// result fails Config.Validate; validate configuration read from outside
// first.
func New(cfg Config) *Tracker {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &Tracker{
		cfg: cfg,
		rule: rule{
			minTops:   cfg.MinFrames,
			minShare:  float64(cfg.MinVoteShare),
			threshold: float64(cfg.Threshold),
			minMargin: float64(cfg.MinMargin),
		},
		// Every frame of the window must name the new person.
		change: rule{
			minTops:   cfg.SwitchFrames,
			threshold: float64(cfg.Threshold),
			minMargin: float64(cfg.SwitchMargin),
		},
	}
}

// GalleryChanged tells the tracker that the gallery its observations are
// matched against has changed: an enrolment, a removal, a revision from
// the region. An undecided track's evidence was weighed against the old
// gallery, in which a person enrolled since could not be listed; it is
// dropped, and the track is judged afresh from its next faces (an
// embedding budget embeds them, as it does an undecided track's). Without
// this, a stranger just enrolled while in view would stay "nobody" until
// his new matches outweighed all the frames before. A decided track keeps
// its identity and evidence: the new gallery's matches can switch it as
// they always could.
func (tr *Tracker) GalleryChanged() {
	for _, tk := range tr.tracks {
		if tk.current == nil {
			tk.all = tally{}
			tk.recent = newWindow(tr.cfg.SwitchFrames)
		}
	}
}

// Config returns the configuration in use, defaults applied.
func (tr *Tracker) Config() Config { return tr.cfg }

// Stats returns the current counts.
func (tr *Tracker) Stats() Stats {
	s := tr.stats
	for _, tk := range tr.tracks {
		if tk.confirmed {
			s.Tracks++
		} else {
			s.Tentative++
		}
	}
	return s
}

// Update takes the observations of the frame at camera time t and returns
// what happened: tracks that aged out first, then, in the order of obs, the
// events of the tracks the observations went to. obs may be empty.
func (tr *Tracker) Update(t time.Time, obs []Observation) []Event {
	now := tr.advance(t)
	events := tr.expire(now, nil)

	tr.valid, tr.norms = tr.valid[:0], tr.norms[:0]
	for i := range obs {
		if !validBox(obs[i].Face.Box) {
			tr.stats.Invalid++
			continue
		}
		tr.valid = append(tr.valid, i)
		// The embedding of a face the gate rejected describes the back
		// of a head or a blur as much as a person: the box alone pairs it.
		norm := float32(0)
		if obs[i].Usability.Usable {
			norm = embeddingNorm(obs[i].Embedding)
		}
		tr.norms = append(tr.norms, norm)
	}

	rows, cols := len(tr.tracks), len(tr.valid)
	tr.cost = grow(tr.cost, rows*cols)
	for r, tk := range tr.tracks {
		pred := tk.predict(now, tr.cfg.MaxAge)
		for c, i := range tr.valid {
			tr.cost[r*cols+c] = tr.pairCost(tk, pred, &obs[i], tr.norms[c])
		}
	}
	tr.pairs = tr.asg.solve(tr.cost, rows, cols, tr.pairs)

	tr.owner = slices.Grow(tr.owner[:0], cols)[:cols]
	clear(tr.owner)
	for _, p := range tr.pairs {
		tr.owner[p.c] = tr.tracks[p.r]
	}
	for c, i := range tr.valid {
		tk := tr.owner[c]
		if tk == nil {
			tr.nextID++
			tk = &track{id: tr.nextID, firstTime: now, firstFrame: obs[i].Frame, recent: newWindow(tr.cfg.SwitchFrames)}
			tr.tracks = append(tr.tracks, tk)
		}
		events = tr.observe(tk, now, &obs[i], tr.norms[c], events)
	}
	clear(tr.owner) // drop the references until the next frame
	return events
}

// Flush ends the tracks not seen for longer than Config.MaxAge at camera
// time t. Call it when frames stop arriving, so that tracks still end.
func (tr *Tracker) Flush(t time.Time) []Event {
	return tr.expire(tr.advance(t), nil)
}

// EndAll ends every track at camera time t, as when the camera goes away or
// the daemon stops. Tentative tracks vanish without an event.
func (tr *Tracker) EndAll(t time.Time) []Event {
	now := tr.advance(t)
	var events []Event
	for _, tk := range tr.tracks {
		if tk.confirmed {
			events = append(events, tr.ended(tk, now))
		}
	}
	clear(tr.tracks)
	tr.tracks = tr.tracks[:0]
	return events
}

// advance moves the tracker's clock to t unless t is earlier, and returns
// the clock.
func (tr *Tracker) advance(t time.Time) time.Time {
	switch {
	case !tr.begun || t.After(tr.now):
		tr.now, tr.begun = t, true
	case t.Before(tr.now):
		tr.stats.ClockSteps++
	}
	return tr.now
}

// expire ends the tracks older than MaxAge at now, appending to events.
func (tr *Tracker) expire(now time.Time, events []Event) []Event {
	keep := tr.tracks[:0]
	for _, tk := range tr.tracks {
		if now.Sub(tk.lastTime) <= tr.cfg.MaxAge {
			keep = append(keep, tk)
			continue
		}
		if tk.confirmed {
			events = append(events, tr.ended(tk, now))
		}
	}
	clear(tr.tracks[len(keep):])
	tr.tracks = keep
	return events
}

// pairCost is the cost of giving observation o to track tk whose predicted
// box is pred, or forbidden.
func (tr *Tracker) pairCost(tk *track, pred recognizer.Rect, o *Observation, norm float32) float64 {
	iou := float64(pred.IoU(o.Face.Box))
	sim, ok := tk.similarity(o.Embedding, norm)
	if !ok {
		if iou < float64(tr.cfg.MinIoU) {
			return forbidden
		}
		return 1 - iou
	}
	near := iou >= float64(tr.cfg.MinIoU) && sim >= float64(tr.cfg.MinSimilarity)
	if !near && sim < float64(tr.cfg.ReacquireSimilarity) {
		return forbidden
	}
	return 1 - (iou+max(sim, 0))/2
}

// observe gives o to tk and appends the events that follow.
func (tr *Tracker) observe(tk *track, now time.Time, o *Observation, norm float32, events []Event) []Event {
	tk.move(now, o.Face.Box)
	tk.lastFrame = o.Frame
	tk.hits++
	tk.learn(o.Embedding, norm, weight(o.Face.Quality))
	if norm > 0 {
		tk.embeddedAt = tk.hits
		tk.embeddedQ = max(tk.embeddedQ, o.Face.Quality.Score)
	}

	e, isEvidence := makeEvidence(o.Face.Quality, o.Matches, tr.ev)
	tr.ev = e.scores
	usable := o.Usability.Usable
	b := Best{Time: now, Frame: o.Frame, Face: o.Face, Usability: o.Usability, Crop: o.Crop}
	if isEvidence {
		b.PersonID, b.Score = e.top(), float32(e.scores[0].score)
	}
	if tk.best == nil || better(&b, tk.best) {
		tk.best = keep(b)
	}
	if usable {
		tk.usable++
	}
	isEvidence = isEvidence && usable
	if isEvidence {
		s := tk.all.add(&e)
		if s.best == nil || better(&b, s.best) {
			s.best = keep(b)
		}
		tk.recent.push(&e)
	}

	ev := Event{Track: tk.id, Time: now, Frame: o.Frame, Box: tk.box}
	justConfirmed := false
	if !tk.confirmed && tk.hits >= tr.cfg.ConfirmFrames {
		tk.confirmed, justConfirmed = true, true
		ev.Kind = TrackStarted
		events = append(events, ev)
	}
	if !tk.confirmed || !(isEvidence || justConfirmed) {
		return events
	}
	if id := tr.decide(tk); id != nil {
		ev.Kind, ev.Identity = IdentityDecided, id
		events = append(events, ev)
	}
	return events
}

// decide returns a new identity of tk worth announcing, or nil.
func (tr *Tracker) decide(tk *track) *Identity {
	if tk.current == nil {
		v := tk.all.judge(tr.rule)
		if !v.ok {
			return nil
		}
		return tk.announce(v, "")
	}
	if !tk.recent.full() {
		return nil
	}
	v := tk.recent.judge(tr.change)
	if !v.ok || v.person == tk.current.PersonID {
		return nil
	}
	return tk.announce(v, tk.current.PersonID)
}

// ended builds the TrackEnded event of tk at now.
func (tr *Tracker) ended(tk *track, now time.Time) Event {
	s := &Summary{
		FirstSeen: tk.firstTime, LastSeen: tk.lastTime,
		FirstFrame: tk.firstFrame, LastFrame: tk.lastFrame,
		Frames: tk.hits, UsableFrames: tk.usable,
		LastBox: tk.box,
	}
	if tk.best != nil {
		s.Best = *tk.best
	}
	switch {
	case tk.current != nil:
		s.Outcome = Identified
		id := *tk.current
		s.Identity = &id
	case tk.usable >= tr.cfg.MinFrames:
		s.Outcome = Unknown
	default:
		s.Outcome = Unassessed
	}
	if tk.current == nil {
		if v := tk.all.judge(tr.rule); v.person != "" {
			s.Nearest, s.NearestScore, s.NearestMargin = v.person, float32(v.mean), float32(v.margin)
		}
	}
	return Event{Kind: TrackEnded, Track: tk.id, Time: now, Frame: tk.lastFrame, Box: tk.box, Summary: s}
}

// track is one followed face.
type track struct {
	id                    ID
	confirmed             bool
	hits, usable          int
	firstTime, lastTime   time.Time
	firstFrame, lastFrame uint64

	box    recognizer.Rect
	vx, vy float64 // box centre velocity, pixels per second

	// The quality-weighted sum of the unit embeddings seen, and its
	// direction. The sum rather than a moving average keeps a track from
	// drifting towards a face that briefly overlapped it.
	model recognizer.ModelID
	sum   []float64
	mean  []float32

	// embeddedAt is hits at the latest observation whose embedding the
	// track learned from, embeddedQ the best quality score among those
	// observations: what an embedding budget needs to know (Live).
	embeddedAt int
	embeddedQ  float32

	best      *Best
	all       tally
	recent    window
	current   *Identity
	announced []string
}

// move records box b observed at now and updates the velocity, smoothed
// over the last few observations.
func (tk *track) move(now time.Time, b recognizer.Rect) {
	if tk.hits > 0 {
		if dt := now.Sub(tk.lastTime).Seconds(); dt > 0 {
			c0, c1 := tk.box.Center(), b.Center()
			vx, vy := float64(c1.X-c0.X)/dt, float64(c1.Y-c0.Y)/dt
			if tk.hits == 1 {
				tk.vx, tk.vy = vx, vy
			} else {
				tk.vx, tk.vy = (tk.vx+vx)/2, (tk.vy+vy)/2
			}
		}
	}
	tk.box, tk.lastTime = b, now
}

// predict is where the box should be at now, moving at the track's
// velocity for at most maxAge.
func (tk *track) predict(now time.Time, maxAge time.Duration) recognizer.Rect {
	dt := min(now.Sub(tk.lastTime), maxAge).Seconds()
	b := tk.box
	b.X += float32(tk.vx * dt)
	b.Y += float32(tk.vy * dt)
	return b
}

// learn adds embedding e (of L2 norm norm, 0 when invalid) with weight w to
// the track's appearance.
func (tk *track) learn(e recognizer.Embedding, norm float32, w float64) {
	if norm == 0 {
		return
	}
	if tk.sum == nil {
		tk.model = e.Model
		tk.sum = make([]float64, len(e.Vec))
		tk.mean = make([]float32, len(e.Vec))
	}
	if e.Model != tk.model || len(e.Vec) != len(tk.sum) {
		return
	}
	k := w / float64(norm)
	var ss float64
	for i, x := range e.Vec {
		tk.sum[i] += k * float64(x)
		ss += tk.sum[i] * tk.sum[i]
	}
	inv := 1 / math.Sqrt(ss)
	if math.IsInf(inv, 0) {
		clear(tk.mean)
		return
	}
	for i, x := range tk.sum {
		tk.mean[i] = float32(x * inv)
	}
}

// similarity is the cosine of e (of norm norm) and the track's mean
// embedding; ok is false when either is missing or they cannot be compared.
func (tk *track) similarity(e recognizer.Embedding, norm float32) (sim float64, ok bool) {
	if norm == 0 || tk.sum == nil || e.Model != tk.model || len(e.Vec) != len(tk.mean) {
		return 0, false
	}
	return float64(recognizer.Dot(tk.mean, e.Vec) / norm), true
}

// announce makes v the track's identity and returns it, or nil when the
// person was announced on this track before.
func (tk *track) announce(v verdict, replaces string) *Identity {
	id := &Identity{
		PersonID:  v.person,
		MeanScore: float32(v.mean),
		Margin:    float32(v.margin),
		RunnerUp:  v.runnerUp,
		Frames:    v.frames,
		Votes:     v.tops,
		Replaces:  replaces,
	}
	// The person led at least one evidence frame, so it has a best one,
	// whose best match it is.
	if s := tk.all.standing(v.person); s.best != nil {
		id.Best = *s.best
	}
	tk.current = id
	if slices.Contains(tk.announced, v.person) {
		return nil
	}
	tk.announced = append(tk.announced, v.person)
	out := *id
	return &out
}

// keep moves b to the heap; only observations that become a best one pay
// for the allocation.
func keep(b Best) *Best { return &b }

// better reports whether observation a beats b for showing a face: usable
// first, then the higher quality score; ties keep the earlier frame.
func better(a, b *Best) bool {
	if a.Usability.Usable != b.Usability.Usable {
		return a.Usability.Usable
	}
	return a.Face.Quality.Score > b.Face.Quality.Score
}

func validBox(b recognizer.Rect) bool {
	for _, x := range [...]float32{b.X, b.Y, b.W, b.H} {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return b.W > 0 && b.H > 0
}

// embeddingNorm is the L2 norm of e, or 0 when e is empty, not finite or
// too small to normalise.
func embeddingNorm(e recognizer.Embedding) float32 {
	var ss float64
	for _, x := range e.Vec {
		ss += float64(x) * float64(x)
	}
	n := math.Sqrt(ss)
	if !(n > 1e-12) || math.IsInf(n, 0) {
		return 0
	}
	return float32(n)
}

// Visible is a track as it stands after a frame, for drawing over the
// video: where the face is and who the track is so far.
type Visible struct {
	Track     ID
	Box       recognizer.Rect
	Confirmed bool
	// PersonID is the decided identity, empty while the track is
	// undecided or stays unknown; Score is that identity's mean score.
	PersonID string
	Score    float32
}

// Seen appends to out the tracks observed in frame (the Frame of the
// observations last passed to Update) and returns it.
func (tr *Tracker) Seen(frame uint64, out []Visible) []Visible {
	for _, tk := range tr.tracks {
		if tk.lastFrame != frame || tk.hits == 0 {
			continue
		}
		v := Visible{Track: tk.id, Box: tk.box, Confirmed: tk.confirmed}
		if tk.current != nil {
			v.PersonID, v.Score = tk.current.PersonID, tk.current.MeanScore
		}
		out = append(out, v)
	}
	return out
}
