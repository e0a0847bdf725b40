// Package hwtest is the installer's hardware test: one run tells whether
// this box, as configured, will recognise faces, camera by camera, and
// what to fix when it will not.
//
// It reuses the daemon's own code rather than imitating it: the camera
// configuration is derived by config.Config.CameraConfig and streamed by
// camera.Camera through the daemon's decoder, faces are found by the
// configured recognition engine at the daemon's detection size, and the
// broker is reached by uplink.Probe, which shares the uplink's TLS,
// credential and dialling code. The box itself is read through package hw
// (movable /proc and /sys roots, so tests run on fixture trees).
//
// A run produces a Report: checks with a PASS, WARN or FAIL verdict and a
// fix for each WARN and FAIL, the measurements behind them (JSON for
// machines), and an HTML page with each camera's snapshot and the faces
// seen drawn over it by size. Face size is the distance between the eyes
// in pixels of the picture the recognizer cuts faces from (the detection
// frame, or the camera's own picture bounded by recognizer.chip_max_side):
// below MinInterOcular the daemon does not try to identify a face, and
// identification is reliable from GoodInterOcular up. The capacity check
// counts the faces the daemon would try by the same measure.
package hwtest
