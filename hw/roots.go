package hw

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Roots names the directories that stand for /proc and /sys. Tests and the
// installer point them at fixture trees; an empty field means the real one,
// so the zero Roots reads this machine.
type Roots struct {
	Proc string
	Sys  string
}

// DefaultRoots is this machine's /proc and /sys.
func DefaultRoots() Roots { return Roots{Proc: "/proc", Sys: "/sys"} }

func (r Roots) proc(elem ...string) string {
	root := r.Proc
	if root == "" {
		root = "/proc"
	}
	return filepath.Join(append([]string{root}, elem...)...)
}

func (r Roots) sys(elem ...string) string {
	root := r.Sys
	if root == "" {
		root = "/sys"
	}
	return filepath.Join(append([]string{root}, elem...)...)
}

// maxProcFile bounds what one read takes in: the largest file read here is
// /proc/cpuinfo, a few hundred KiB on a many-core server, and a root pointed
// at the wrong place must not make the probe swallow a disk image.
const maxProcFile = 8 << 20

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxProcFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxProcFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxProcFile)
	}
	return b, nil
}

// readAttr reads a one-value sysfs or cgroup attribute. Device-tree strings
// end in NUL and sysfs values in a newline; both are trimmed.
func readAttr(path string) (string, error) {
	b, err := readFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(bytes.TrimRight(b, "\x00\n"))), nil
}

// readInt reads an integer attribute and names the file when it is not one.
func readInt(path string) (int64, error) {
	s, err := readAttr(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: not an integer: %q", path, clip(s))
	}
	return v, nil
}

// notExist is true for a file a board simply does not have. ENOTDIR counts
// too: a fixture (or an odd kernel) may have a plain file where a directory
// was expected higher up the path.
func notExist(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// clip keeps error messages readable when a file holds something long.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// parseCPUList parses the kernel's cpulist format ("0-3,6,8-11") and
// returns how many CPUs it names.
func parseCPUList(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty CPU list")
	}
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("bad CPU list %q", clip(s))
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return 0, fmt.Errorf("bad CPU list %q", clip(s))
			}
		}
		n += int(b-a) + 1
	}
	return n, nil
}
