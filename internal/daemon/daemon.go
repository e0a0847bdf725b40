// Package daemon holds what the daemons' mains (edged, regiond) do alike
// around the daemon they run: the structured logger their configurations
// describe (log.level, log.format), and the signals that stop them.
package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Logger returns a logger writing to w at level ("debug", "info", "warn"
// or "error"; anything else is info) as format ("json", or text
// otherwise). The configurations validate both, so the fallbacks are never
// reached from a loaded file.
func Logger(level, format string, w io.Writer) *slog.Logger {
	var l slog.Level
	switch level {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Signals returns a context that SIGINT or SIGTERM cancels, and calls
// onHangup for each SIGHUP until then. stop releases the signals and
// returns once no onHangup call is running; call it when the daemon has
// stopped.
func Signals(onHangup func()) (ctx context.Context, stop func()) {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				onHangup()
			}
		}
	}()
	return ctx, func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}
