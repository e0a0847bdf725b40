package camera

import "time"

// LiveSink receives a camera's coded video as it arrives, for live viewing
// without decoding it again (camera/live repackages it for browsers).
type LiveSink interface {
	// WriteAccessUnit is called from the camera's packet goroutine with
	// every valid access unit (parameter sets in front of random-access
	// units), in decoding order, before the unit is decoded. It must not
	// block, and must not keep u.NALUs or the slices in it after it
	// returns: they belong to the camera.
	WriteAccessUnit(u LiveUnit)
}

// LiveUnit is one coded picture handed to a LiveSink.
type LiveUnit struct {
	Codec Codec
	// NALUs are the unit's NAL units without start codes.
	NALUs [][]byte
	// PTS is the presentation time in ClockRate units, unwrapped (it
	// keeps growing across RTP timestamp wrap-arounds within a session;
	// a new session starts a new timeline).
	PTS int64
	// Wall is the capture time, mapped from PTS as Frame.Captured is.
	Wall time.Time
	// Random is set when decoding can start here.
	Random bool
}
