package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Kinds of bad file. A *FileError wraps exactly one of them, so callers can
// tell them apart with errors.Is.
var (
	ErrUnknown    = errors.New("unknown model file")
	ErrMissing    = errors.New("missing")
	ErrNotRegular = errors.New("not a regular file")
	ErrUnreadable = errors.New("unreadable")
	ErrSize       = errors.New("wrong size")
	ErrChecksum   = errors.New("sha256 mismatch")
	ErrHTTP       = errors.New("HTTP error")
)

// FileError says what is wrong with one file.
type FileError struct {
	// Name is the manifest name (or licenses/NAME for a licence text).
	Name string
	// Path is where the file was looked for.
	Path string
	// Kind is one of the Err* values above.
	Kind error
	// Detail is the human explanation: expected versus found.
	Detail string
	// Err is the underlying system error, if any.
	Err error

	label string
}

func (e *FileError) Error() string {
	label := e.label
	if label == "" {
		label = "model file"
	}
	return fmt.Sprintf("%s %s: %s", label, e.Name, e.Detail)
}

// Unwrap exposes both the kind and the system error to errors.Is and As.
func (e *FileError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// Result is the outcome of checking one file.
type Result struct {
	Name string
	Path string
	// Size is the size found on disk, -1 when there is no regular file.
	Size int64
	// SHA256 is the digest found, empty when it was not computed (the file
	// was missing or already had the wrong size).
	SHA256 string
	// Err is nil when the file matches the manifest, else a *FileError.
	Err error
}

// entry is what a check needs to know about a file: model or licence text.
type entry struct {
	name  string // relative, slash-separated
	sum   string
	size  int64
	label string
}

func modelEntry(f File) entry {
	return entry{name: f.Name, sum: f.SHA256, size: f.Size, label: "model file"}
}

func licenseEntry(name, sum string, size int64) entry {
	return entry{name: path.Join(LicenseDir, name), sum: sum, size: size, label: "licence text"}
}

func (e entry) fail(p string, kind error, cause error, format string, args ...any) *FileError {
	return &FileError{Name: e.name, Path: p, Kind: kind, Err: cause, Detail: fmt.Sprintf(format, args...), label: e.label}
}

// Verify checks that each named file (none: every non-optional file) exists
// under dir as a regular file (symlinks are followed) with the size and
// sha256 the manifest pins. Engines call it before handing any file to
// OpenCV or dlib, whose own errors for a damaged file are obscure or absent.
// Every bad file is reported, joined into one error of *FileError values.
//
// Digests are remembered per process, keyed by path, size, modification
// time and inode, so repeated calls on unchanged files cost a stat each.
func Verify(dir string, names ...string) error {
	rs, err := Check(dir, names...)
	if err != nil {
		return err
	}
	return joinResults(rs)
}

// Check is Verify with the per-file outcome, for reports. The error is only
// for unknown names; problems with files are in the results.
func Check(dir string, names ...string) ([]Result, error) {
	files, err := lookupAll(names)
	if err != nil {
		return nil, err
	}
	rs := make([]Result, len(files))
	for i, f := range files {
		rs[i] = checkEntry(dir, modelEntry(f), true)
	}
	return rs, nil
}

// VerifyLicenses checks that dir/licenses holds, unaltered, every licence
// text the named files (none: the non-optional ones) must ship with.
func VerifyLicenses(dir string, names ...string) error {
	rs, err := CheckLicenses(dir, names...)
	if err != nil {
		return err
	}
	return joinResults(rs)
}

// CheckLicenses is VerifyLicenses with the per-text outcome.
func CheckLicenses(dir string, names ...string) ([]Result, error) {
	files, err := lookupAll(names)
	if err != nil {
		return nil, err
	}
	lics := licensesFor(files)
	rs := make([]Result, len(lics))
	for i, l := range lics {
		rs[i] = checkEntry(dir, l, true)
	}
	return rs, nil
}

// Path is where the file name lives under dir.
func Path(dir, name string) string {
	return filepath.Join(dir, filepath.FromSlash(name))
}

func joinResults(rs []Result) error {
	var errs []error
	for _, r := range rs {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return errors.Join(errs...)
}

// checkEntry compares the file for e under dir with the pinned size and
// digest. useCache is off for files that are about to be renamed, whose
// path key would only pollute the cache.
func checkEntry(dir string, e entry, useCache bool) Result {
	return checkPath(Path(dir, e.name), e, useCache)
}

func checkPath(p string, e entry, useCache bool) Result {
	r := Result{Name: e.name, Path: p, Size: -1}
	// Stat before opening: opening a FIFO or device placed under a model's
	// name could block or read forever.
	fi, err := os.Stat(p)
	if err != nil {
		r.Err = statError(e, p, err)
		return r
	}
	if !fi.Mode().IsRegular() {
		r.Err = notRegular(e, p, fi)
		return r
	}
	f, err := os.Open(p)
	if err != nil {
		r.Err = statError(e, p, err)
		return r
	}
	defer f.Close()
	// Re-stat the open file: size, key and digest then all describe the
	// same inode even if the name was replaced in between.
	if fi, err = f.Stat(); err != nil {
		r.Err = e.fail(p, ErrUnreadable, err, "cannot stat %s: %v", p, err)
		return r
	}
	if !fi.Mode().IsRegular() {
		r.Err = notRegular(e, p, fi)
		return r
	}
	r.Size = fi.Size()
	if r.Size != e.size {
		r.Err = sizeError(e, p, r.Size)
		return r
	}
	var key cacheKey
	cacheable := false
	if useCache {
		key, cacheable = makeKey(p, fi)
	}
	if cacheable {
		if sum, ok := sums.get(key); ok {
			r.SHA256 = sum
			r.Err = sumError(e, p, sum)
			return r
		}
	}
	sum, err := hashReader(f)
	if err != nil {
		r.Err = e.fail(p, ErrUnreadable, err, "cannot read %s: %v", p, err)
		return r
	}
	if cacheable {
		sums.put(key, sum)
	}
	r.SHA256 = sum
	r.Err = sumError(e, p, sum)
	return r
}

func statError(e entry, p string, err error) *FileError {
	if errors.Is(err, fs.ErrNotExist) {
		if fi, lerr := os.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			return e.fail(p, ErrMissing, err, "missing: %s is a symlink to %s, which does not exist", p, target)
		}
		return e.fail(p, ErrMissing, err, "missing: %s does not exist", p)
	}
	return e.fail(p, ErrUnreadable, err, "cannot open: %v", err)
}

func notRegular(e entry, p string, fi fs.FileInfo) *FileError {
	if fi.IsDir() {
		return e.fail(p, ErrNotRegular, nil, "%s is a directory, not a regular file", p)
	}
	return e.fail(p, ErrNotRegular, nil, "%s is not a regular file (mode %v)", p, fi.Mode())
}

func sizeError(e entry, p string, got int64) *FileError {
	what := "truncated"
	if got > e.size {
		what = "too large"
	}
	return e.fail(p, ErrSize, nil, "%s: %s is %d bytes, want %d bytes", what, p, got, e.size)
}

// sumError is nil when sum is the pinned digest.
func sumError(e entry, p string, sum string) error {
	if sum == e.sum {
		return nil
	}
	return e.fail(p, ErrChecksum, nil, "altered or corrupt: sha256 of %s is %s…, want %s…", p, short(sum), short(e.sum))
}

// short is the digest prefix people compare by eye.
func short(sum string) string {
	if len(sum) > 16 {
		return sum[:16]
	}
	return sum
}

// hashes counts full-file digests, so tests can see the cache working.
var hashes atomic.Int64

func hashReader(r io.Reader) (string, error) {
	hashes.Add(1)
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cacheKey identifies one version of one file well enough that an
// unchanged key means unchanged bytes: in-place edits move the mtime,
// replacements change the inode, truncation changes the size.
type cacheKey struct {
	path     string
	size     int64
	mtime    int64
	dev, ino uint64
}

func makeKey(p string, fi fs.FileInfo) (cacheKey, bool) {
	dev, ino, ok := fileID(fi)
	if !ok {
		return cacheKey{}, false
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return cacheKey{path: p, size: fi.Size(), mtime: fi.ModTime().UnixNano(), dev: dev, ino: ino}, true
}

type sumCache struct {
	mu sync.Mutex
	m  map[cacheKey]string
}

// sums only ever holds a handful of manifest paths per models directory,
// so it needs no eviction.
var sums = &sumCache{m: map[cacheKey]string{}}

func (c *sumCache) get(k cacheKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[k]
	return s, ok
}

func (c *sumCache) put(k cacheKey, sum string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = sum
}
