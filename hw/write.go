package hw

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

// WriteSpeed is the outcome of MeasureWrite.
type WriteSpeed struct {
	Bytes       int64
	Elapsed     time.Duration // from the first write to the end of the last fsync
	BytesPerSec float64
	// FsyncMax is the longest single fsync. SD cards and cheap eMMC stall
	// for seconds while they erase; the average hides that, and a stall
	// is what makes recordings queue up.
	FsyncMax time.Duration
}

const (
	// MaxWriteSize bounds MeasureWrite: more says nothing new about the
	// disk and would take minutes on an SD card.
	MaxWriteSize = 4 << 30
	// MinFreeBytes and MinFreeFraction are what MeasureWrite leaves free
	// at the least (whichever is larger), so that a test on a nearly full
	// disk cannot starve the running daemon or the system logs.
	MinFreeBytes    = 64 << 20
	MinFreeFraction = 0.05

	writeChunk = 1 << 20
	// Flushing every 16 MiB keeps the page cache from absorbing the whole
	// test, which would measure RAM instead of the disk.
	fsyncEvery = 16
)

// ErrNoSpace is wrapped by MeasureWrite's error when the test would leave
// too little free space.
var ErrNoSpace = errors.New("not enough free space")

// MeasureWrite writes size bytes to a temporary file in dir, in 1 MiB
// chunks with an fsync every 16 MiB and at the end, and reports the
// sustained rate. The file is removed whatever happens. It refuses sizes
// outside 1..MaxWriteSize and sizes that would leave less than
// MinFreeBytes or MinFreeFraction of the filesystem free. Cancelling ctx
// stops it between chunks; a write or fsync already under way finishes
// first.
func MeasureWrite(ctx context.Context, dir string, size int64) (WriteSpeed, error) {
	return measureWrite(ctx, dir, size, writeHooks{stat: ReadDisk})
}

// writeHooks lets tests fake the free space and act between chunks.
type writeHooks struct {
	stat       func(string) (Disk, error)
	afterChunk func(written int64)
}

func measureWrite(ctx context.Context, dir string, size int64, h writeHooks) (ws WriteSpeed, err error) {
	if size <= 0 || size > MaxWriteSize {
		return WriteSpeed{}, fmt.Errorf("%s: write test size %d is outside 1..%d bytes", dir, size, int64(MaxWriteSize))
	}
	if err := ctx.Err(); err != nil {
		return WriteSpeed{}, fmt.Errorf("%s: write test: %w", dir, err)
	}
	d, err := h.stat(dir)
	if err != nil {
		return WriteSpeed{}, err
	}
	reserve := max(uint64(MinFreeBytes), uint64(float64(d.Total)*MinFreeFraction))
	if d.Free < uint64(size) || d.Free-uint64(size) < reserve {
		return WriteSpeed{}, fmt.Errorf("%s: a %s write test needs %s free (%s must stay free), but only %s of %s is free: %w",
			dir, mib(uint64(size)), mib(uint64(size)+reserve), mib(reserve), mib(d.Free), mib(d.Total), ErrNoSpace)
	}

	f, err := os.CreateTemp(dir, ".hw-writetest-*")
	if err != nil {
		return WriteSpeed{}, err
	}
	defer func() {
		cerr := f.Close()
		if rerr := os.Remove(f.Name()); rerr != nil {
			err = errors.Join(err, rerr)
		} else if err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			ws = WriteSpeed{}
		}
	}()

	// Random bytes, because a compressing filesystem (btrfs, zfs, f2fs)
	// would store zeros almost for free and report a fantasy rate. A fixed
	// seed keeps runs comparable.
	buf := make([]byte, writeChunk)
	rng := rand.NewChaCha8([32]byte{'d', 'o', 'z', 'o', 'r'})
	_, _ = rng.Read(buf)

	sync := func() error {
		t := time.Now()
		if err := f.Sync(); err != nil {
			return err
		}
		ws.FsyncMax = max(ws.FsyncMax, time.Since(t))
		return nil
	}
	start := time.Now()
	for chunks := 1; ws.Bytes < size; chunks++ {
		if err := ctx.Err(); err != nil {
			return WriteSpeed{}, fmt.Errorf("%s: write test stopped after %d bytes: %w", dir, ws.Bytes, err)
		}
		n := min(int64(len(buf)), size-ws.Bytes)
		if _, err := f.Write(buf[:n]); err != nil {
			return WriteSpeed{}, err
		}
		ws.Bytes += n
		if chunks%fsyncEvery == 0 {
			if err := sync(); err != nil {
				return WriteSpeed{}, err
			}
		}
		if h.afterChunk != nil {
			h.afterChunk(ws.Bytes)
		}
	}
	if err := sync(); err != nil {
		return WriteSpeed{}, err
	}
	ws.Elapsed = time.Since(start)
	if s := ws.Elapsed.Seconds(); s > 0 {
		ws.BytesPerSec = float64(ws.Bytes) / s
	}
	return ws, nil
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
