// Package hw reads the box's hardware (CPU features, memory, disks,
// clock, temperature) through movable /sys, /proc and /dev roots, so tests
// run on fixture trees and the installer's hardware test shares the
// daemon's own code paths.
package hw
