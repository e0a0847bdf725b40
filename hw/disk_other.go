//go:build !linux

package hw

import (
	"errors"
	"fmt"
)

// ReadDisk reports the filesystem that holds path; only Linux is supported.
func ReadDisk(path string) (Disk, error) {
	return Disk{}, fmt.Errorf("%s: statfs: %w", path, errors.ErrUnsupported)
}
