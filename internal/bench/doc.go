// Package bench measures how fast this box recognises faces, for the
// installer's `edgectl bench`, `edgectl bench-latency`,
// `edgectl bench-capacity` and `edgectl bench-chips`.
//
// [Run] times each recognition stage (decode, detect, align, embed, match)
// with one OpenCV thread and with all cores, and the throughput of one
// worker and of one worker per core. [Latency] runs the whole daemon
// against a private mosquitto broker and a simulated camera on this
// machine and measures the delay from a frame's capture to its sighting's
// arrival at an MQTT subscriber, with one camera or several. [Capacity]
// runs the same daemon with 1, 2, 4... simulated cameras in turn and
// measures the cores it uses: in all, per recognition stage (from the
// daemon's stage histograms; decoding is measured apart on the same clip)
// and per camera, with the frames each camera got recognised, counted in
// hwtest's stage costs and judged by its load limits; with
// CapacityConfig.Before it first runs each count as the daemon ran before
// its embedding budget and before it left disposable pictures undecoded,
// and CapacityConfig.ChipMaxSide measures faces cut from the camera's
// full picture.
// [Chips] compares
// face chips cut from a camera's detection frame with chips cut from its
// full-resolution picture on a clip, for `edgectl bench-chips`.
//
// All of them produce reports for a person to read; tests check that the
// figures are plausible, never how fast this machine is. When no input is named,
// the photo and the clip come from the shared test data ([TestData]).
package bench
