package hw

import (
	"fmt"
	"syscall"
)

// ReadDisk reports the filesystem that holds path.
func ReadDisk(path string) (Disk, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return Disk{}, fmt.Errorf("%s: statfs: %w", path, err)
	}
	// Block counts are in fragment-size units; Frsize is 0 only on
	// filesystems that do not fill it in, where Bsize is the same thing.
	unit := uint64(st.Frsize)
	if unit == 0 {
		unit = uint64(st.Bsize)
	}
	return Disk{Path: path, Total: uint64(st.Blocks) * unit, Free: uint64(st.Bavail) * unit}, nil
}
