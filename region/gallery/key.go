package gallery

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dozor-edge/dozor/sync/gallerysync"
)

// SigningKey loads the region's signing key from path, or, when the file
// does not exist, generates it there (created true): the caller says so
// loudly, since every site must then be given the new public key. Any
// other problem with the file (mode, content) is an error: replacing a
// key silently would make every site refuse the region.
func SigningKey(path string) (key ed25519.PrivateKey, created bool, err error) {
	key, err = gallerysync.LoadPrivateKeyFile(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, false, fmt.Errorf("gallery key: %w", err)
	}
	key, err = gallerysync.GenerateKeyFile(path)
	if err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// PublicKey is the text form of key's public half that the sites
// configure (gallery.region_public_key).
func PublicKey(key ed25519.PrivateKey) string {
	return gallerysync.FormatPublicKey(key.Public().(ed25519.PublicKey))
}
