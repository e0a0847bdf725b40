// Package hw reads the box's hardware (CPU features, memory, disks, clock,
// temperature) through movable /proc and /sys roots, so tests run on
// fixture trees and the installer's hardware test shares the daemon's own
// code paths.
//
// File readers take a Roots; the zero Roots (or DefaultRoots) is this
// machine:
//
//	ReadCPU(r)          architecture, model, online cores, SIMD flags,
//	                    cpufreq maximum, cgroup CPU quota
//	ReadMemory(r)       MemTotal, MemAvailable, cgroup memory limit
//	ReadTemperatures(r) thermal zones and hwmon inputs, with critical points
//
// Probes of the running system take no roots:
//
//	ReadDisk(path)                 size and free space of a filesystem
//	MeasureWrite(ctx, dir, size)   sustained write rate and worst fsync
//	ReadClockSync()                the kernel's NTP discipline (adjtimex)
//	SNTPOffset(ctx, server)        one SNTP query: clock offset and RTT
//
// MeasureWrite refuses sizes above MaxWriteSize and tests that would leave
// less than MinFreeBytes or MinFreeFraction of the disk free (ErrNoSpace);
// SNTPOffset waits DefaultSNTPTimeout when ctx has no deadline.
//
// Readers check what they parse and name the file in their errors. Files a
// board may lack (cpufreq, device tree, cgroup limits, sensors) leave their
// fields zero; the files every Linux has (cpuinfo, meminfo) are required.
// Architecture and board come from the files, not from the running binary,
// so a fixture from an ARM board reads the same on an x86 build machine.
//
// The package is pure Go and Linux-first: ReadDisk, MeasureWrite and
// ReadClockSync return errors.ErrUnsupported elsewhere.
//
// testdata holds /proc and /sys excerpts of the boards this appliance runs
// on (x86-64 VM, Raspberry Pi 4, RK3588, Jetson Orin Nano and arm64/x86
// containers) and broken trees.
package hw
