package camera

import "time"

// State is where a camera's supervision loop is.
type State int

const (
	// StateIdle: Run has not started.
	StateIdle State = iota
	// StateConnecting: dialling, DESCRIBE/SETUP/PLAY, or waiting for the
	// first picture of a session.
	StateConnecting
	// StateStreaming: pictures are being decoded.
	StateStreaming
	// StateStalled: the session is up but packets or pictures have stopped
	// for longer than Config.StallAfter; the watchdog restarts it at
	// PacketTimeout / PictureTimeout unless they come back.
	StateStalled
	// StateBackingOff: waiting before the next attempt after a transient
	// failure (unreachable, dropped, stalled, frozen).
	StateBackingOff
	// StateFailed: waiting before the next attempt after a failure that
	// needs a person (401, 404, unsupported codec...). Still retried, on
	// the same backoff, so a fixed camera comes back by itself.
	StateFailed
	// StateStopped: Run returned.
	StateStopped
)

var stateNames = [...]string{"idle", "connecting", "streaming", "stalled", "backing off", "failed", "stopped"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Reason classifies why a camera is not (or was not) streaming.
type Reason string

// Reasons. The first group puts a camera in StateFailed, the second in
// StateBackingOff.
const (
	ReasonNone             Reason = ""
	ReasonUnauthorized     Reason = "unauthorized"      // RTSP 401: wrong or missing credentials
	ReasonForbidden        Reason = "forbidden"         // RTSP 403
	ReasonNotFound         Reason = "not found"         // RTSP 404: wrong path
	ReasonStatus           Reason = "rejected"          // another RTSP error status
	ReasonUnsupportedCodec Reason = "unsupported codec" // no H.264/H.265 video track we can decode
	ReasonProtocol         Reason = "protocol error"    // malformed response or SDP
	ReasonDecoder          Reason = "decoder error"     // the decoder could not be opened

	ReasonUnreachable  Reason = "unreachable"  // the TCP connection could not be made
	ReasonDisconnected Reason = "disconnected" // the connection dropped
	ReasonTimeout      Reason = "timeout"      // an RTSP request went unanswered
	ReasonNoPackets    Reason = "no packets"   // stalled: no RTP packets
	ReasonNoPictures   Reason = "frozen"       // packets arrive but no picture decodes
)

// failed reports whether r needs a person rather than patience.
func (r Reason) failed() bool {
	switch r {
	case ReasonUnauthorized, ReasonForbidden, ReasonNotFound, ReasonStatus,
		ReasonUnsupportedCodec, ReasonProtocol, ReasonDecoder:
		return true
	}
	return false
}

// Health is a snapshot of one camera for the daemon, the guard monitor and
// metrics. Counters only grow over the life of a Camera.
type Health struct {
	Camera string
	// URL is the camera's URL with the password replaced by ***.
	URL   string
	State State
	// Since is when State was entered.
	Since time.Time
	// Reason and Error say why the last session failed (or why the camera
	// is stalled); Error is the detail, free of credentials. StatusCode is
	// the RTSP status of that failure (401, 404...), 0 otherwise.
	Reason     Reason
	Error      string
	StatusCode int
	// NextAttempt is when a backing-off or failed camera tries again.
	NextAttempt time.Time

	// Codec and Width x Height describe the stream of the current or last
	// session (the coded picture, before scaling).
	Codec         Codec
	Width, Height int

	// FPSIn is pictures received per second (decoded, or left undecoded
	// as not needed), FPSOut frames handed off per second, both over the
	// last few seconds.
	FPSIn, FPSOut float64

	Packets      uint64 // RTP packets received
	PacketsLost  uint64 // RTP packets missing (sequence gaps)
	RTPErrors    uint64 // packets or access units rejected by depacketisation or validation
	Skipped      uint64 // access units discarded while waiting for an IDR
	Pictures     uint64 // pictures received and decoded, or left undecoded
	Undecoded    uint64 // of Pictures: disposable ones not due for sampling, never decoded
	DecodeErrors uint64 // access units the decoder rejected, plus corrupt pictures
	Frames       uint64 // frames handed off
	Drops        uint64 // handed-off frames replaced before a worker took them
	Reconnects   uint64 // sessions started after the first
	Stalls       uint64 // sessions restarted by the watchdog
	// LastFrame is the capture time of the last frame handed off.
	LastFrame time.Time
}
