package edge

import (
	"sync"

	"github.com/dozor-edge/dozor/recognizer"
)

// enginePool lets a worker lend its engine while it waits for a frame. A
// frame with several faces to embed then has them embedded on two engines
// at once, which shortens the time from capture to decision when the box
// has cores to spare; under load every worker holds its own engine and
// nothing is lent.
type enginePool struct {
	slots []engineSlot
}

type engineSlot struct {
	eng recognizer.Engine
	mu  sync.Mutex // held by the owner while it works, or by a borrower
}

func newEnginePool(engs []recognizer.Engine) *enginePool {
	s := &enginePool{slots: make([]engineSlot, len(engs))}
	for i, e := range engs {
		s.slots[i].eng = e
	}
	return s
}

// hold takes eng for its owner, waiting while it is lent (at most the
// faces a borrower handed it), and returns the release.
func (s *enginePool) hold(eng recognizer.Engine) func() {
	if s == nil {
		return func() {}
	}
	for i := range s.slots {
		if sl := &s.slots[i]; sl.eng == eng {
			sl.mu.Lock()
			return sl.mu.Unlock
		}
	}
	return func() {}
}

// borrow returns an idle engine other than own, held until release is
// called, or nil when every other engine is busy.
func (s *enginePool) borrow(own recognizer.Engine) (eng recognizer.Engine, release func()) {
	if s == nil {
		return nil, nil
	}
	for i := range s.slots {
		if sl := &s.slots[i]; sl.eng != own && sl.mu.TryLock() {
			return sl.eng, sl.mu.Unlock
		}
	}
	return nil, nil
}

// helper embeds, on a borrowed engine, faces of the frame a worker is
// recognising, one at a time while the worker embeds others.
type helper struct {
	eng     recognizer.Engine
	release func()
	img     *recognizer.Image
	jobs    chan helperJob
	mu      sync.Mutex
	busy    bool
	embs    map[int]recognizer.Embedding
	errs    []error
	done    chan struct{}
}

type helperJob struct {
	i  int
	fc recognizer.Face
}

func startHelper(eng recognizer.Engine, release func(), img *recognizer.Image) *helper {
	h := &helper{eng: eng, release: release, img: img, jobs: make(chan helperJob, 64),
		embs: map[int]recognizer.Embedding{}, done: make(chan struct{})}
	go h.run()
	return h
}

func (h *helper) run() {
	defer close(h.done)
	defer h.release()
	for j := range h.jobs {
		embs, err := h.eng.Embed(h.img, []recognizer.Face{j.fc})
		h.mu.Lock()
		switch {
		case err != nil:
			h.errs = append(h.errs, err)
		case len(embs) == 1:
			h.embs[j.i] = embs[0]
		}
		h.busy = len(h.jobs) > 0
		h.mu.Unlock()
	}
}

// offer hands face i to the helper when it is idle, so that it is
// embedded now rather than after the worker's current face; false leaves
// it to the worker.
func (h *helper) offer(i int, fc recognizer.Face) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy {
		return false
	}
	h.busy = true
	h.jobs <- helperJob{i, fc}
	return true
}

// wait lets the helper finish, returns the engine to its owner, and puts
// the embeddings made into embs (by face index).
func (h *helper) wait(embs []recognizer.Embedding) []error {
	close(h.jobs)
	<-h.done
	for i, e := range h.embs {
		if i < len(embs) {
			embs[i] = e
		}
	}
	return h.errs
}
