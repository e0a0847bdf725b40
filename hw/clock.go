package hw

import "time"

// ClockSync is the kernel's view of its clock discipline, as NTP daemons
// (chrony, systemd-timesyncd, ntpd) maintain it. Sightings carry
// timestamps, so a box whose clock is not synchronized must say so.
type ClockSync struct {
	// Synced is true when a time daemon has disciplined the clock: the
	// kernel neither flags it unsynchronized (STA_UNSYNC) nor reports
	// TIME_ERROR.
	Synced bool
	// MaxError and EstError are the kernel's maximum and estimated error;
	// the kernel raises MaxError over time and marks the clock
	// unsynchronized once it passes 16 s.
	MaxError, EstError time.Duration
	// Status is the clock state adjtimex returns, named as in adjtimex(2):
	// TIME_OK, TIME_INS, TIME_DEL, TIME_OOP, TIME_WAIT or TIME_ERROR.
	Status string
}

// Kernel timex status bit and clock states (include/uapi/linux/timex.h).
const (
	staUnsync = 0x0040
	timeError = 5
)

var clockStates = [...]string{"TIME_OK", "TIME_INS", "TIME_DEL", "TIME_OOP", "TIME_WAIT", "TIME_ERROR"}

// clockSyncFrom interprets adjtimex's answer; errors are in microseconds.
func clockSyncFrom(state int, status int32, maxErrUS, estErrUS int64) ClockSync {
	name := "unknown state"
	if state >= 0 && state < len(clockStates) {
		name = clockStates[state]
	}
	return ClockSync{
		Synced:   status&staUnsync == 0 && state != timeError,
		MaxError: time.Duration(maxErrUS) * time.Microsecond,
		EstError: time.Duration(estErrUS) * time.Microsecond,
		Status:   name,
	}
}
