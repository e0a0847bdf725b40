//go:build !linux

package hw

import (
	"errors"
	"fmt"
)

// ReadClockSync needs Linux's adjtimex.
func ReadClockSync() (ClockSync, error) {
	return ClockSync{}, fmt.Errorf("adjtimex: %w", errors.ErrUnsupported)
}
