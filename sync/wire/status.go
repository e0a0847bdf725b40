package wire

import "time"

// Site states.
const (
	SiteOnline  = "online"
	SiteOffline = "offline"
)

// SiteStatus is a box's health as the region sees it. It is retained, so a
// dashboard that connects later sees every site's state at once, and an
// offline SiteStatus is also the box's MQTT last will: the broker publishes
// it when the box's connection dies without a goodbye. A will is composed
// when the connection opens, so its At is the time of that connect; the
// receiver notes when the will arrived.
type SiteStatus struct {
	Site string `json:"site"`
	// State is SiteOnline or SiteOffline.
	State string `json:"state"`
	// Version is the daemon's software version.
	Version      string    `json:"version,omitempty"`
	At           time.Time `json:"at"`
	CamerasUp    int       `json:"cameras_up"`
	CamerasTotal int       `json:"cameras_total"`
	// OutboxDepth is the number of messages waiting to be sent.
	OutboxDepth int `json:"outbox_depth"`
	// Reason says why a site is offline ("shutdown", "connection lost").
	Reason string `json:"reason,omitempty"`
	// LastSeq is the highest seq the site had assigned in its outbox when
	// the status was composed; 0 (absent) means unknown. A receiver that
	// stored less than this knows a site's newest messages are missing
	// even when no later message arrives to show the gap.
	LastSeq uint64 `json:"last_seq,omitempty"`
}

// MaxOutboxDepth bounds SiteStatus.OutboxDepth: a day of a large
// facility's busiest traffic, with room.
const MaxOutboxDepth = 1 << 40

// TopicKind implements Payload.
func (SiteStatus) TopicKind() Kind { return KindSiteStatus }

// MarshalJSON writes the payload with its "v" field.
func (s SiteStatus) MarshalJSON() ([]byte, error) {
	type plain SiteStatus
	return withVersion(plain(s))
}

// Validate implements Payload.
func (s SiteStatus) Validate() error { return s.check(time.Time{}) }

func (s SiteStatus) check(now time.Time) error {
	c := checker{payload: "site-status", now: now}
	c.segment("site", s.Site)
	c.oneOf("state", s.State, SiteOnline, SiteOffline)
	c.token("version", s.Version, false, 64)
	c.time("at", s.At, true)
	c.count("cameras_total", s.CamerasTotal, MaxCount)
	c.count("cameras_up", s.CamerasUp, MaxCount)
	if s.CamerasUp > s.CamerasTotal {
		c.fail("cameras_up", "%d exceeds cameras_total %d", s.CamerasUp, s.CamerasTotal)
	}
	c.count("outbox_depth", s.OutboxDepth, MaxOutboxDepth)
	c.text("reason", s.Reason, 256)
	if s.LastSeq > MaxSeq {
		c.fail("last_seq", "%d exceeds 2^53-1", s.LastSeq)
	}
	return c.err
}

// DecodeSiteStatus reads a site status; see DecodeSighting for now.
func DecodeSiteStatus(data []byte, now time.Time) (SiteStatus, error) {
	var s SiteStatus
	if err := decode("site-status", data, &s); err != nil {
		return SiteStatus{}, err
	}
	if err := s.check(now); err != nil {
		return SiteStatus{}, err
	}
	return s, nil
}

// Camera states.
const (
	// CameraUp: frames arrive at the expected rate.
	CameraUp = "up"
	// CameraDegraded: frames arrive, but too slowly or with decode errors.
	CameraDegraded = "degraded"
	// CameraDown: no frames; the daemon keeps reconnecting.
	CameraDown = "down"
	// CameraDisabled: switched off in the configuration.
	CameraDisabled = "disabled"
)

// CameraStatus is one camera's health; retained, one topic per camera.
type CameraStatus struct {
	Site   string `json:"site"`
	Camera string `json:"camera"`
	// State is one of the Camera* constants.
	State string `json:"state"`
	// FPS is the decoded frame rate over the last minute.
	FPS float64 `json:"fps"`
	// LastFrame is when the last frame was decoded; absent if never.
	LastFrame time.Time `json:"last_frame,omitzero"`
	At        time.Time `json:"at"`
	// Reason is required for CameraDegraded and CameraDown.
	Reason string `json:"reason,omitempty"`
}

// TopicKind implements Payload.
func (CameraStatus) TopicKind() Kind { return KindCameraStatus }

// MarshalJSON writes the payload with its "v" field.
func (s CameraStatus) MarshalJSON() ([]byte, error) {
	type plain CameraStatus
	return withVersion(plain(s))
}

// Validate implements Payload.
func (s CameraStatus) Validate() error { return s.check(time.Time{}) }

func (s CameraStatus) check(now time.Time) error {
	c := checker{payload: "camera-status", now: now}
	c.segment("site", s.Site)
	c.segment("camera", s.Camera)
	c.oneOf("state", s.State, CameraUp, CameraDegraded, CameraDown, CameraDisabled)
	c.float("fps", s.FPS, 0, 1000)
	c.time("last_frame", s.LastFrame, false)
	c.time("at", s.At, true)
	c.order("last_frame", s.LastFrame, "at", s.At)
	if (s.State == CameraDown || s.State == CameraDegraded) && s.Reason == "" {
		c.fail("reason", "missing; required when state is %s", s.State)
	}
	c.text("reason", s.Reason, 512)
	return c.err
}

// DecodeCameraStatus reads a camera status; see DecodeSighting for now.
func DecodeCameraStatus(data []byte, now time.Time) (CameraStatus, error) {
	var s CameraStatus
	if err := decode("camera-status", data, &s); err != nil {
		return CameraStatus{}, err
	}
	if err := s.check(now); err != nil {
		return CameraStatus{}, err
	}
	return s, nil
}
