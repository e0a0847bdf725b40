package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// crops is the content-addressed crop store: <dir>/<aa>/<sha256>.jpg,
// where aa are the first two hex digits. A crop is written once; the
// same bytes from another message, or a replay, find it in place.
type crops struct{ dir string }

func (c crops) path(sum string) string { return filepath.Join(c.dir, sum[:2], sum+".jpg") }

// put stores b durably and returns its sha256: the file is written and
// fsynced under a temporary name, renamed into place, and the directory
// fsynced, so a crop named by a committed row is always complete. A crop
// whose transaction then fails stays behind, harmless: it is named by
// its content and a retry uses it.
func (c crops) put(b []byte) (string, error) {
	h := sha256.Sum256(b)
	sum := hex.EncodeToString(h[:])
	final := c.path(sum)
	if _, err := os.Stat(final); err == nil {
		return sum, nil
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("crop %s: %w", sum, err)
	}
	if err := writeSynced(dir, final, b); err != nil {
		return "", fmt.Errorf("crop %s: %w", sum, err)
	}
	return sum, nil
}

func writeSynced(dir, final string, b []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-*.jpg")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func validSHA256(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

func (s *db) Crop(_ context.Context, sum string) ([]byte, error) {
	if !validSHA256(sum) {
		return nil, fmt.Errorf("region store: crop: sha256: want 64 lower-case hex digits, got %q", clip(sum))
	}
	b, err := os.ReadFile(s.crops.path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("region store: crop %s: %w", sum, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("region store: crop %s: %w", sum, err)
	}
	return b, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
