// Command edgectl is the installer's and administrator's tool for a dozor
// edge box: model files (models), recognition accuracy (eval), speed
// (bench, bench-latency), a quick look at what the detector sees (faces),
// enrolment and the gallery (enroll, gallery), a check of the box and its
// cameras against the configuration (hwtest), the simulated camera
// (simcam) and a site's live messages (watch).
//
// The command table in main.go lists the sub-commands. Each parses its
// flags, calls the packages that do the work and prints what they return;
// progress bars are drawn here, from the packages' callbacks, and only
// when stderr is a terminal.
package main
