// Package camera pulls RTSP streams from IP cameras: one supervised
// session per camera that reconnects by itself, decodes H.264/H.265 and
// hands the latest frame to the recognizer, counting what it drops.
//
// The pieces, from the wire inwards:
//
//   - Camera (camera.go) is one camera: Run(ctx) reconnects forever with
//     jittered exponential backoff (1 s doubling up to 60 s; while a
//     refused camera is waited for, its port is probed every 2 s so it
//     streams again within seconds of coming back), classifies what went
//     wrong (401, 404, unsupported codec, unreachable, stalled, frozen)
//     and runs a watchdog that reports a session as stalled after 5 s
//     without packets or pictures and restarts it at 10 s without packets
//     or 15 s without a decoded picture (a frozen stream).
//   - Track (track.go) turns the RTP packets of one H.264/H.265 track into
//     sampled frames: depacketise, validate NAL units, wait for an IDR
//     after any gap, decode every picture the stream needs (a disposable
//     one, which no other picture refers to, is left undecoded unless it
//     is due for sampling), sample at the detection rate, map RTP time to
//     wall-clock time, and only then scale and convert the sampled picture:
//     to the detection size (640 on the long side), and at full resolution
//     (up to 1920) beside it, so the recognizer finds faces in the small
//     frame and cuts their chips from every pixel the camera sent.
//   - Decoder (codec.go) is the decoder interface this package consumes;
//     camera/avcodec implements it with libavcodec and libswscale through
//     cgo. Everything else here is pure Go and builds with CGO_ENABLED=0.
//   - Latest (latest.go) is the hand-off to the recognizer: one slot per
//     camera, the newest frame replaces an unclaimed older one (which is
//     counted as dropped), so nothing queues without bound.
//   - Health (health.go) is the per-camera state and counters for the
//     daemon, the guard monitor and metrics.
//   - LiveSink (live.go) receives every valid access unit, parameter sets
//     in front of each random-access unit, before it is decoded; it must
//     not block. camera/live repackages H.264 for browsers as fragmented
//     MP4 without decoding: the live view costs the pipeline no decode.
//
// Camera credentials live only in the URL given to Config; everything this
// package logs or reports carries the URL as rtsp://user:***@host.
//
// camera/simcam is a real RTSP server streaming a real clip in real time,
// with faults to switch on (silence, frozen picture, dropped connections,
// credentials, garbage); the tests drive every failure through it.
package camera
