package hw

import (
	"fmt"
	"syscall"
)

// ReadClockSync asks the kernel, read-only (adjtimex with no modes set,
// which needs no privilege), how well its clock is disciplined.
func ReadClockSync() (ClockSync, error) {
	var tx syscall.Timex
	state, err := syscall.Adjtimex(&tx)
	if err != nil {
		return ClockSync{}, fmt.Errorf("adjtimex: %w", err)
	}
	return clockSyncFrom(state, tx.Status, int64(tx.Maxerror), int64(tx.Esterror)), nil
}
