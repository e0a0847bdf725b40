package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
)

// InstallOptions tunes Install.
type InstallOptions struct {
	// Link makes symlinks to the (absolute) source files instead of copies:
	// for development boxes that keep one shared set of weights.
	Link bool
	// Log receives one line per file installed or skipped; nil discards.
	Log io.Writer
}

// Install puts every manifest file from the models directory from into the
// models directory to, with the licence texts from from/licenses into
// to/licenses. Optional files are installed when from has them and skipped,
// with a line on opt.Log, when it does not.
//
// The whole source set is verified before anything is written, so a bad
// source installs nothing. Copies are written to a temporary file, synced,
// verified again and only then renamed over the final name; links are
// renamed into place the same way. An interrupted install therefore leaves
// at most a stray hidden .tmp- file, never a partial file under a final
// name. The installed set is verified at the end.
func Install(from, to string, opt InstallOptions) error {
	log := opt.Log
	if log == nil {
		log = io.Discard
	}
	if from == "" || to == "" {
		return errors.New("install: both the source and the target directory are needed")
	}
	absFrom, err := filepath.Abs(from)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(from); err != nil {
		return fmt.Errorf("install: source %s: %w", from, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("install: source %s is not a directory", from)
	}
	if same, err := sameDir(from, to); err != nil {
		return err
	} else if same {
		return fmt.Errorf("install: source and target are the same directory (%s)", from)
	}

	var files []File
	var skipped []File
	for _, f := range manifest {
		if f.Optional {
			if _, err := os.Lstat(Path(from, f.Name)); errors.Is(err, fs.ErrNotExist) {
				skipped = append(skipped, f)
				continue
			}
		}
		files = append(files, f)
	}
	entries := make([]entry, 0, len(files))
	for _, f := range files {
		entries = append(entries, modelEntry(f))
	}
	entries = append(entries, licensesFor(files)...)

	var errs []error
	for _, e := range entries {
		if r := checkEntry(from, e, true); r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("install: source %s is not a valid model set, nothing was installed:\n%w", from, errors.Join(errs...))
	}

	for _, f := range skipped {
		fmt.Fprintf(log, "skipped %s: not in %s (optional: only the dlib engine needs it)\n", f.Name, from)
	}
	for _, e := range entries {
		src := Path(absFrom, e.name)
		dst := Path(to, e.name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		if opt.Link {
			if err := linkAtomic(src, dst); err != nil {
				return fmt.Errorf("install: %s %s: %w", e.label, e.name, err)
			}
			fmt.Fprintf(log, "linked %s -> %s\n", e.name, src)
			continue
		}
		if err := copyAtomic(src, dst, e); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		fmt.Fprintf(log, "copied %s (%d bytes)\n", e.name, e.size)
	}

	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	if err := errors.Join(Verify(to, names...), VerifyLicenses(to, names...)); err != nil {
		return fmt.Errorf("install: the installed files in %s do not verify:\n%w", to, err)
	}
	fmt.Fprintf(log, "installed %d model files and %d licence texts in %s\n", len(files), len(entries)-len(files), to)
	return nil
}

// sameDir reports whether a and b name one directory; installing onto the
// source would replace files with links to themselves.
func sameDir(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

func copyAtomic(src, dst string, e entry) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeVerified(dst, e, in, "the copied data")
}

// writeVerified streams src into a temporary file beside final, checking
// size and sha256 on the way, syncs it, re-reads it from disk and only then
// renames it to final. On any failure the temporary file is removed and
// final is left as it was. what names the data in errors.
func writeVerified(final string, e entry, src io.Reader, what string) (err error) {
	dir := filepath.Dir(final)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(final)+".tmp-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()

	h := sha256.New()
	// One byte past the pinned size is enough to know the data is too long
	// without reading an unbounded body.
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(src, e.size+1))
	if err != nil {
		return fmt.Errorf("%s %s: failed after %d of %d bytes: %w", e.label, e.name, n, e.size, err)
	}
	if n != e.size {
		if n > e.size {
			return e.fail(final, ErrSize, nil, "too large: %s has more than %d bytes, want %d bytes", what, e.size, e.size)
		}
		return e.fail(final, ErrSize, nil, "truncated: %s has %d bytes, want %d bytes", what, n, e.size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != e.sum {
		return e.fail(final, ErrChecksum, nil, "altered or corrupt: sha256 of %s is %s…, want %s…", what, short(sum), short(e.sum))
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	// Check what actually reached the disk, not just what was sent to it.
	if res := checkPath(tmpName, e, false); res.Err != nil {
		return fmt.Errorf("written file does not verify: %w", res.Err)
	}
	if err = os.Rename(tmpName, final); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

var linkSeq atomic.Int64

// linkAtomic points final at target by renaming a fresh symlink over it, so
// final is at every moment either the old file or the new link.
func linkAtomic(target, final string) error {
	dir := filepath.Dir(final)
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.tmp-link-%d-%d", filepath.Base(final), os.Getpid(), linkSeq.Add(1)))
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename durable across power loss. It is best effort: the
// rename is atomic either way, and some filesystems refuse to sync a
// directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
