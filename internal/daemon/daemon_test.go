package daemon

import (
	"bytes"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLogger(t *testing.T) {
	for _, tc := range []struct {
		level         string
		debug, warned bool // whether a debug and a warn record are written
	}{
		{"debug", true, true},
		{"info", false, true},
		{"", false, true},
		{"warn", false, true},
		{"error", false, false},
	} {
		var buf bytes.Buffer
		log := Logger(tc.level, "text", &buf)
		log.Debug("d-msg")
		log.Warn("w-msg")
		if got := strings.Contains(buf.String(), "d-msg"); got != tc.debug {
			t.Errorf("level %q: debug written %v, want %v", tc.level, got, tc.debug)
		}
		if got := strings.Contains(buf.String(), "w-msg"); got != tc.warned {
			t.Errorf("level %q: warn written %v, want %v", tc.level, got, tc.warned)
		}
	}

	var buf bytes.Buffer
	Logger("info", "json", &buf).Info("hello", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "hello" {
		t.Errorf("json format wrote %q (%v)", buf.String(), err)
	}
	buf.Reset()
	Logger("info", "text", &buf).Info("hello")
	if !strings.Contains(buf.String(), "msg=hello") {
		t.Errorf("text format wrote %q", buf.String())
	}
}

func TestSignals(t *testing.T) {
	hups := make(chan struct{}, 1)
	ctx, stop := Signals(func() { hups <- struct{}{} })
	defer stop()

	// The guards below only bound a broken run; the test waits on events.
	const guard = 10 * time.Second
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hups:
	case <-time.After(guard):
		t.Fatal("SIGHUP did not call onHangup")
	}
	if ctx.Err() != nil {
		t.Fatal("SIGHUP cancelled the context")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(guard):
		t.Fatal("SIGTERM did not cancel the context")
	}
}
