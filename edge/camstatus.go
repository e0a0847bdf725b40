package edge

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/sync/wire"
)

// Camera status publication: each camera's health goes to the region as a
// retained wire.CameraStatus, outside the outbox (it has no sequence
// number; the uplink keeps only the latest per camera and sends it again
// after every reconnect).
const (
	// cameraStatusEvery is how often the cameras' health is looked at.
	cameraStatusEvery = 2 * time.Second
	// cameraStatusRefresh is how often an unchanged status is published
	// again, with fresh rates and times.
	cameraStatusRefresh = 30 * time.Second
	// maxStatusReason is the wire's limit on CameraStatus.Reason.
	maxStatusReason = 512
)

// retainedSetter is the part of the uplink the watcher uses.
type retainedSetter interface {
	SetRetained(topic string, payload []byte) error
}

// camWatch is one camera as the status watcher follows it.
type camWatch struct {
	cam   *camera.Camera
	topic string
	// key is the state, reason and whether a rate was known, as last
	// published; at is when.
	key    string
	at     time.Time
	warned bool // a publication failure was logged since the last success
}

// cameraStatusWatcher publishes the cameras' statuses through up.
type cameraStatusWatcher struct {
	site string
	up   retainedSetter
	log  *slog.Logger
	now  func() time.Time
	cams []*camWatch
}

func newCameraStatusWatcher(region, site string, cams []*camera.Camera, up retainedSetter, log *slog.Logger) (*cameraStatusWatcher, error) {
	w := &cameraStatusWatcher{site: site, up: up, log: log.With("component", "camera-status"), now: time.Now}
	for _, c := range cams {
		topic, err := wire.CameraStatusTopic(region, site, c.ID())
		if err != nil {
			return nil, err
		}
		w.cams = append(w.cams, &camWatch{cam: c, topic: topic})
	}
	return w, nil
}

// run checks every cameraStatusEvery until ctx ends.
func (w *cameraStatusWatcher) run(ctx context.Context) {
	t := time.NewTicker(cameraStatusEvery)
	defer t.Stop()
	for {
		w.check(false)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check publishes the status of every camera whose state or reason
// changed (or whose rate became known or unknown), or whose last publication is cameraStatusRefresh old; force
// publishes them all.
func (w *cameraStatusWatcher) check(force bool) {
	now := w.now()
	for _, c := range w.cams {
		st := cameraStatus(w.site, c.cam.Health(), now)
		// Whether a rate is known counts as a change: the first status of
		// a streaming session says 0 fps until the rate is measured.
		key := fmt.Sprintf("%s\x00%s\x00%t", st.State, st.Reason, st.FPS > 0)
		if !force && key == c.key && now.Sub(c.at) < cameraStatusRefresh {
			continue
		}
		b, err := wire.Encode(st)
		if err == nil {
			err = w.up.SetRetained(c.topic, b)
		}
		if err != nil {
			if !c.warned {
				w.log.Warn("camera status not published", "camera", c.cam.ID(), "err", err)
				c.warned = true
			}
			continue
		}
		if key != c.key {
			w.log.Debug("camera status", "camera", c.cam.ID(), "state", st.State, "reason", st.Reason)
		}
		c.key, c.at, c.warned = key, now, false
	}
}

// cameraStatus maps a camera's health to the wire's status: streaming is
// up, stalled degraded, anything else down, with a reason.
func cameraStatus(site string, h camera.Health, now time.Time) wire.CameraStatus {
	st := wire.CameraStatus{Site: site, Camera: h.Camera, At: now.UTC()}
	switch h.State {
	case camera.StateStreaming:
		st.State = wire.CameraUp
	case camera.StateStalled:
		st.State = wire.CameraDegraded
		st.Reason = healthReason(h, "stalled")
	case camera.StateIdle:
		st.State, st.Reason = wire.CameraDown, "not started"
	case camera.StateConnecting:
		st.State, st.Reason = wire.CameraDown, "connecting"
	case camera.StateStopped:
		st.State, st.Reason = wire.CameraDown, "stopped"
	default: // backing off, failed
		st.State = wire.CameraDown
		st.Reason = healthReason(h, h.State.String())
	}
	// The wire carries one rate: the decoded one.
	if fps := h.FPSIn; !math.IsNaN(fps) && fps > 0 {
		st.FPS = min(fps, 1000)
	}
	if !h.LastFrame.Before(wire.Epoch) {
		st.LastFrame = h.LastFrame.UTC()
		if st.LastFrame.After(st.At) {
			st.LastFrame = st.At
		}
	}
	return st
}

// healthReason is the health's reason and error detail, or fallback when
// it has neither, fit for the wire's reason field.
func healthReason(h camera.Health, fallback string) string {
	r := string(h.Reason)
	switch {
	case r == "" && h.Error == "":
		r = fallback
	case r == "":
		r = h.Error
	case h.Error != "" && !strings.Contains(h.Error, r):
		r += ": " + h.Error
	case h.Error != "":
		r = h.Error
	}
	return clipReason(r)
}

// clipReason drops control characters and cuts s to maxStatusReason bytes
// on a character boundary.
func clipReason(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) <= maxStatusReason {
		return s
	}
	cut := maxStatusReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
