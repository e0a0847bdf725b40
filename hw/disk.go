package hw

// Disk is the size of the filesystem holding Path, in bytes.
type Disk struct {
	Path  string
	Total uint64
	// Free is what an unprivileged writer may still use (f_bavail): the
	// blocks ext4 reserves for root are left out, so a daemon that plans
	// by it does not count on space it may not get.
	Free uint64
}
