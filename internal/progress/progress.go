// Package progress draws a one-line progress bar on a terminal (or plain
// periodic lines when the output is not a terminal, so logs stay readable).
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar is safe for concurrent Add calls.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int64
	done     int64
	start    time.Time
	last     time.Time
	tty      bool
	unit     string
	now      func() time.Time
	finished bool
}

// New starts a bar over total units (items, or bytes when unit is "B").
// A nil writer discards output.
func New(w io.Writer, label string, total int64, unit string) *Bar {
	if w == nil {
		w = io.Discard
	}
	b := &Bar{w: w, label: label, total: total, unit: unit, now: time.Now}
	b.start = b.now()
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	return b
}

// Add advances the bar by n units.
func (b *Bar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	now := b.now()
	interval := 100 * time.Millisecond
	if !b.tty {
		interval = 5 * time.Second
	}
	if now.Sub(b.last) >= interval || b.done >= b.total {
		b.last = now
		b.draw(now)
	}
}

// Write lets the bar count bytes written through it (io.Writer).
func (b *Bar) Write(p []byte) (int, error) {
	b.Add(int64(len(p)))
	return len(p), nil
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if b.tty {
		// A terminal line is redrawn in place; end it. Plain output
		// already printed the final state when the count reached total.
		b.draw(b.now())
		fmt.Fprintln(b.w)
	} else if b.done < b.total {
		b.draw(b.now())
	}
}

func (b *Bar) draw(now time.Time) {
	el := now.Sub(b.start).Seconds()
	frac := 0.0
	if b.total > 0 {
		frac = float64(b.done) / float64(b.total)
	}
	frac = min(1, frac)
	const width = 30
	fill := int(frac * width)
	bar := strings.Repeat("#", fill) + strings.Repeat(".", width-fill)
	eta := ""
	if frac > 0 && frac < 1 {
		eta = fmt.Sprintf(" eta %s", (time.Duration(el/frac*(1-frac)) * time.Second).Round(time.Second))
	}
	line := fmt.Sprintf("%s [%s] %5.1f%% %s/%s %.0fs%s", b.label, bar, frac*100, b.fmt(b.done), b.fmt(b.total), el, eta)
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(b.w, line)
	}
}

func (b *Bar) fmt(n int64) string {
	if b.unit != "B" {
		return fmt.Sprint(n)
	}
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
