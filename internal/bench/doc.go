// Package bench measures how fast this box recognises faces, for the
// installer's `edgectl bench`, `edgectl bench-latency` and
// `edgectl bench-chips`.
//
// [Run] times each recognition stage (decode, detect, align, embed, match)
// with one OpenCV thread and with all cores, and the throughput of one
// worker and of one worker per core. [Latency] runs the whole daemon
// against a private mosquitto broker and a simulated camera on this
// machine and measures the delay from a frame's capture to its sighting's
// arrival at an MQTT subscriber. [Chips] compares face chips cut from a
// camera's detection frame with chips cut from its full-resolution
// picture on a clip, for `edgectl bench-chips`.
//
// All three produce reports for a person to read; tests check that the figures
// are plausible, never how fast this machine is. When no input is named,
// the photo and the clip come from the shared test data ([TestData]).
package bench
