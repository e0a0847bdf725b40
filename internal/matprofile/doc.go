// Package matprofile lets the tests of a package that uses gocv fail when
// a Mat is left open. Built with -tags matprofile, gocv counts every Mat
// it creates and has not yet closed; Main runs the tests and then fails
// the run unless that count is zero, printing where the open Mats were
// made. Without the tag the package is empty.
package matprofile
