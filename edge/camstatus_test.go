package edge

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/sync/wire"
)

func TestCameraStatusMapping(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		h      camera.Health
		state  string
		reason string
	}{
		{"streaming", camera.Health{State: camera.StateStreaming, FPSIn: 5, FPSOut: 4.5, LastFrame: now.Add(-time.Second)}, wire.CameraUp, ""},
		{"stalled", camera.Health{State: camera.StateStalled, Reason: camera.ReasonNoPictures}, wire.CameraDegraded, "frozen"},
		{"connecting", camera.Health{State: camera.StateConnecting}, wire.CameraDown, "connecting"},
		{"idle", camera.Health{State: camera.StateIdle}, wire.CameraDown, "not started"},
		{"backing off", camera.Health{State: camera.StateBackingOff, Reason: camera.ReasonUnreachable, Error: "dial tcp: connection refused"},
			wire.CameraDown, "unreachable: dial tcp: connection refused"},
		{"failed", camera.Health{State: camera.StateFailed, Reason: camera.ReasonUnauthorized, Error: "DESCRIBE: 401\nunauthorized"},
			wire.CameraDown, "DESCRIBE: 401 unauthorized"},
		{"failed, no detail", camera.Health{State: camera.StateFailed}, wire.CameraDown, "failed"},
		{"stopped", camera.Health{State: camera.StateStopped}, wire.CameraDown, "stopped"},
		{"long error", camera.Health{State: camera.StateBackingOff, Error: strings.Repeat("é", 400)}, wire.CameraDown, strings.Repeat("é", 256)},
	} {
		c.h.Camera = "gate-1"
		st := cameraStatus("ik5", c.h, now)
		if st.State != c.state || st.Reason != c.reason {
			t.Errorf("%s: state %q reason %q, want %q %q", c.name, st.State, st.Reason, c.state, c.reason)
		}
		if _, err := wire.Encode(st); err != nil {
			t.Errorf("%s: %+v does not encode: %v", c.name, st, err)
		}
	}
	st := cameraStatus("ik5", camera.Health{Camera: "c", State: camera.StateStreaming, FPSIn: 7.5, LastFrame: now.Add(time.Second)}, now)
	if st.FPS != 7.5 || !st.LastFrame.Equal(now) || !st.At.Equal(now) {
		t.Errorf("rate and times: %+v", st)
	}
}

type fakeRetained struct {
	mu  sync.Mutex
	got map[string][]wire.CameraStatus
}

func (f *fakeRetained) SetRetained(topic string, payload []byte) error {
	m, err := wire.Decode(topic, payload, time.Time{})
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got[topic] = append(f.got[topic], m.Payload.(wire.CameraStatus))
	return nil
}

// TestCameraStatusWatcher: a status is published at once, not again while
// nothing changes, again when the state changes, and again after
// cameraStatusRefresh.
func TestCameraStatusWatcher(t *testing.T) {
	cam, err := camera.New(camera.Config{ID: "gate-1", URL: "rtsp://127.0.0.1:1/x"}, camera.Options{Logger: slog.New(slog.DiscardHandler),
		Decoders: func(camera.Codec) (camera.Decoder, error) { return nil, camera.ErrUnsupportedCodec },
		Out:      camera.NewLatest()})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRetained{got: map[string][]wire.CameraStatus{}}
	w, err := newCameraStatusWatcher("north", "ik5", []*camera.Camera{cam}, f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	w.now = func() time.Time { return now }
	const topic = "dozor/v1/north/ik5/camera/gate-1/status"
	count := func() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.got[topic]) }

	w.check(false)
	if n := count(); n != 1 {
		t.Fatalf("%d statuses after the first check, want 1", n)
	}
	now = now.Add(cameraStatusEvery)
	w.check(false)
	if n := count(); n != 1 {
		t.Errorf("%d statuses after an unchanged check, want 1", n)
	}
	now = now.Add(cameraStatusRefresh)
	w.check(false)
	if n := count(); n != 2 {
		t.Errorf("%d statuses after %v, want 2", n, cameraStatusRefresh)
	}
	w.cams[0].key = "something else" // as if the state had changed
	w.check(false)
	if n := count(); n != 3 {
		t.Errorf("%d statuses after a change, want 3", n)
	}
	w.check(true)
	if n := count(); n != 4 {
		t.Errorf("%d statuses after a forced check, want 4", n)
	}
	if st := f.got[topic][0]; st.Site != "ik5" || st.Camera != "gate-1" || st.State != wire.CameraDown || st.Reason != "not started" {
		t.Errorf("first status: %+v", st)
	}
}
