package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// aggregateEvery is the shortest time between two log lines of one
// aggregate.
const aggregateEvery = time.Minute

// aggregate turns a stream of similar errors into one log line a minute:
// the first error is logged at once, the following ones as a count with the
// last of them.
type aggregate struct {
	log   *slog.Logger
	level slog.Level
	what  string
	now   func() time.Time

	mu     sync.Mutex
	n      int
	last   error
	logged time.Time
}

func newAggregate(log *slog.Logger, level slog.Level, what string, now func() time.Time) *aggregate {
	return &aggregate{log: log, level: level, what: what, now: now}
}

func (a *aggregate) add(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	a.last = err
	if now := a.now(); a.logged.IsZero() || now.Sub(a.logged) >= aggregateEvery {
		a.emit(now)
	}
}

// flush logs what was counted since the last line.
func (a *aggregate) flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n > 0 {
		a.emit(a.now())
	}
}

func (a *aggregate) emit(now time.Time) {
	var since time.Duration
	if !a.logged.IsZero() {
		since = now.Sub(a.logged).Round(time.Second)
	}
	a.log.Log(context.Background(), a.level, a.what, "count", a.n, "since", since, "last", a.last.Error())
	a.n, a.logged = 0, now
}
