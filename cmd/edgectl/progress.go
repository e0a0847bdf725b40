package main

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressBar draws the progress of a long command on stderr. The packages
// doing the work report progress through callbacks; only the command line
// knows whether there is a terminal to draw on.
type progressBar struct{ pb *progressbar.ProgressBar }

// newProgressBar returns a bar over total items (or bytes, shown as sizes),
// or nil when stderr is not a terminal: a redrawn line would only clutter a
// log file or a pipe. Every method of a nil bar does nothing.
func newProgressBar(label string, total int64, bytes bool) *progressBar {
	if total <= 0 || !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(label),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionShowCount(),
		// The bar redraws one line in place; end it so the next output
		// starts on a line of its own.
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }),
	}
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	}
	return &progressBar{pb: progressbar.NewOptions64(total, opts...)}
}

// Add counts n more items done.
func (b *progressBar) Add(n int64) {
	if b != nil {
		_ = b.pb.Add64(n) // only fails for a bar without a total, never made here
	}
}

// Set shows done items of the total.
func (b *progressBar) Set(done int64) {
	if b != nil {
		_ = b.pb.Set64(min(done, b.pb.GetMax64()))
	}
}

// Done ends the bar's line. A bar that reached its total has ended it
// already; one stopped short (an error, an interrupt) keeps its last state.
func (b *progressBar) Done() {
	if b != nil && !b.pb.IsFinished() {
		_ = b.pb.Exit()
	}
}

// downloadProgress returns the callback for models.DownloadOptions.Progress,
// which draws one bar per file, or nil when stderr is not a terminal. Call
// done once the download is over, to end a bar an error left unfinished.
func downloadProgress() (report func(file string, n, total int64), done func()) {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil, func() {}
	}
	var name string
	var bar *progressBar
	report = func(file string, n, total int64) {
		if file != name {
			bar.Done()
			name, bar = file, newProgressBar(file, total, true)
		}
		bar.Set(n)
	}
	return report, func() { bar.Done() }
}
