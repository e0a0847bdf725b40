package edge

import (
	"sync"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/track"
)

// liveTracks holds each camera's live tracks as the sightings loop last
// left them. The loop owns the trackers; the workers read these copies to
// decide, before embedding a face, whether its track needs the embedding
// (track.Budget). A copy is at most the frames in flight old, which only
// makes the budget spend more: a track still undecided in the copy is
// embedded, and the first decision of every track is made from the same
// evidence as without a budget.
type liveTracks struct {
	mu sync.RWMutex
	m  map[string][]track.Live
}

// set replaces camera's tracks; tracks is not modified afterwards.
func (lt *liveTracks) set(camera string, tracks []track.Live) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.m == nil {
		lt.m = map[string][]track.Live{}
	}
	lt.m[camera] = tracks
}

// get returns camera's tracks, read-only; none on a nil receiver.
func (lt *liveTracks) get(camera string) []track.Live {
	if lt == nil {
		return nil
	}
	lt.mu.RLock()
	defer lt.mu.RUnlock()
	return lt.m[camera]
}

// Why a face was not embedded before the budget was asked.
const (
	skipSmall    = "small"    // below the size identification needs
	skipOutside  = "outside"  // outside the camera's region
	skipUnusable = "unusable" // refused by the usability gate
)

// embedPlan decides, face by face as the engine asks, which faces of one
// frame are embedded.
type embedPlan struct {
	budget  track.Budget
	cfg     track.Config
	at      time.Time
	live    []track.Live
	claimed []bool // tracks already given a face of this frame
}

func (d *Daemon) embedPlan(camera string, at time.Time) *embedPlan {
	live := d.live.get(camera)
	return &embedPlan{budget: d.budget, cfg: d.trCfg, at: at, live: live, claimed: make([]bool, len(live))}
}

// decide is the budget's verdict on fc. A face that overlaps a track
// another face of the frame already took is treated as a new face: the
// tracker will tell them apart by their embeddings.
func (p *embedPlan) decide(fc recognizer.Face) (bool, track.Reason) {
	var l *track.Live
	if k := track.Match(p.live, p.at, fc.Box, p.cfg); k >= 0 && !p.claimed[k] {
		p.claimed[k] = true
		l = &p.live[k]
	}
	return p.budget.Embed(l, fc.Quality.Score)
}
