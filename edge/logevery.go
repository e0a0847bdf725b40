package edge

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// every aggregates a recurring problem into few log lines: the first
// occurrence is logged at once, later ones are counted and summarised at
// most once per period with the last detail ("37 in the last minute,
// last: ..."). Safe for concurrent use.
type every struct {
	log    *slog.Logger
	level  slog.Level
	msg    string
	period time.Duration

	mu      sync.Mutex
	lastLog time.Time
	pending int
	last    string
}

func newEvery(log *slog.Logger, level slog.Level, msg string, period time.Duration) *every {
	return &every{log: log, level: level, msg: msg, period: period}
}

// Note records one occurrence with its detail.
func (e *every) Note(detail string, attrs ...any) {
	now := time.Now()
	e.mu.Lock()
	e.pending++
	e.last = detail
	if !e.lastLog.IsZero() && now.Sub(e.lastLog) < e.period {
		e.mu.Unlock()
		return
	}
	n := e.pending
	e.pending, e.lastLog = 0, now
	e.mu.Unlock()
	e.emit(n, detail, attrs)
}

// Tick logs what was counted since the last line once the period has
// passed, so that a problem that stopped still gets its summary.
func (e *every) Tick() {
	e.mu.Lock()
	due := e.pending > 0 && time.Since(e.lastLog) >= e.period
	e.mu.Unlock()
	if due {
		e.Flush()
	}
}

// Flush logs what was counted since the last line, if anything.
func (e *every) Flush() {
	e.mu.Lock()
	n, detail := e.pending, e.last
	e.pending, e.lastLog = 0, time.Now()
	e.mu.Unlock()
	if n > 0 {
		e.emit(n, detail, nil)
	}
}

func (e *every) emit(n int, detail string, attrs []any) {
	args := append([]any{"count", n, "period", e.period.String(), "last", detail}, attrs...)
	e.log.Log(context.Background(), e.level, e.msg, args...)
}
