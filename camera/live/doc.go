// Package live repackages a camera's own coded video for browsers,
// without re-encoding it: camera.Camera hands every valid access unit to
// a Hub (camera.LiveSink) on its packet goroutine, and the Hub turns H.264
// into fragmented MP4 for Media Source Extensions and fans it out to the
// viewers of that camera.
//
// What a viewer (Sub) receives on its channel:
//
//   - an init segment (ftyp+moov, timescale 90 kHz, one avc1 track) with
//     the RFC 6381 codec string and the picture size, before its first
//     fragment and again whenever the parameter sets change;
//   - one fragment (moof+mdat) per access unit, length-prefixed NAL units,
//     starting at a keyframe; non-IDR samples are marked non-sync.
//
// The muxing is done once per access unit for all viewers, and only while
// at least one viewer is subscribed; without viewers the Hub only
// remembers the latest parameter sets. A Hub never blocks on a viewer:
// when a viewer's channel is full, its fragments are dropped (and
// counted) until the next keyframe, where it resumes.
//
// Timing: fragments are placed on one timeline per Hub, in 90 kHz ticks
// from the first muxed keyframe. Decode times come from
// mediacommon's h264.DTSExtractor, so streams with B-frames play too. A
// fragment is written when the next access unit arrives, because its
// sample duration is the distance to the next decode time: browsers treat
// a decode-time step of more than twice the previous sample's duration as
// a discontinuity and drop pictures up to the next keyframe, so a guessed
// duration would freeze the picture after every frame a camera skips.
// The cost is one frame of delay (40 ms at 25 fps). After a new session
// of the camera (its timestamps start elsewhere), or access units that
// could not be repackaged, the timeline goes on from where it stopped, at
// the next keyframe: viewers see no gap to stall on.
//
// H.265 is not repackaged (Chromium cannot play it through MSE): a Hub
// fed H.265 reports ModeSnapshot and sends nothing.
//
// The fMP4 boxes are written by github.com/bluenviron/mediacommon (the
// library gortsplib and mediamtx use); this package only decides what
// goes into them and who gets them.
package live
