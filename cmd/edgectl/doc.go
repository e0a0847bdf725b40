// Command edgectl is the installer's and administrator's tool for a dozor
// edge box: model files (verify, install), recognition accuracy (eval),
// speed (bench), a quick look at what the detector sees (faces), enrolment
// and the gallery (enroll, gallery) and the simulated camera (simcam).
package main
