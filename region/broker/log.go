package broker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// slogAdapter routes nats-server's printf-style log calls to slog, so the
// embedded server never writes to stdout or stderr on its own.
type slogAdapter struct {
	log *slog.Logger

	mu    sync.Mutex
	fatal string // the last Fatalf message: why the server gave up
}

func (a *slogAdapter) Noticef(format string, v ...any) { a.log.Info(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.log.Warn(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.log.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.log.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Tracef(format string, v ...any) {
	a.log.Log(context.Background(), slog.LevelDebug-4, fmt.Sprintf(format, v...))
}

// Fatalf is logged as an error and remembered; the server stops the
// failed part itself (a listener it could not open) and Start reports it.
// The server's own logger would exit the process here.
func (a *slogAdapter) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	a.log.Error(msg, "fatal", true)
	a.mu.Lock()
	a.fatal = msg
	a.mu.Unlock()
}

func (a *slogAdapter) lastFatal() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fatal
}
