package storekey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// Size is the length of a key in bytes.
const Size = 32

// ErrKeyFile is wrapped by every error about a key file: missing, of the
// wrong size, or readable by group or others.
var ErrKeyFile = errors.New("unusable key file")

// Key is a 32-byte master key. String, GoString, Format, LogValue and
// MarshalText all render the fingerprint only, so a Key printed with any
// verb, logged with slog or encoded as JSON shows which key it is and
// nothing more. The bytes are reachable only through a closure: fmt prints
// the fields of a struct holding a Key by reflection (without calling its
// methods when the field is unexported, and with the pointed-to contents
// for a bad verb), and reflection shows a function as an address, never
// what it captured. The zero Key is "no key".
type Key struct {
	bytes func() *[Size]byte
	fp    string
}

// Purpose strings for deriving independent values from the master key.
const (
	kdfEncrypt     = "dozor/store/v1 aes-256-gcm"
	keyCheckLabel  = "dozor/store/v1 key check"
	fingerprintTag = "dozor/store/v1 fingerprint"
)

func newKey(b []byte) Key {
	var k [Size]byte
	copy(k[:], b)
	h := sha256.New()
	h.Write([]byte(fingerprintTag))
	h.Write(k[:])
	return Key{bytes: func() *[Size]byte { return &k }, fp: hex.EncodeToString(h.Sum(nil)[:8])}
}

// IsZero reports whether k is the zero Key (no key).
func (k Key) IsZero() bool { return k.bytes == nil }

// Fingerprint identifies the key (16 hex digits of a hash of it) so that
// operators can tell keys apart; it reveals nothing usable about the key.
// It is "none" for the zero Key.
func (k Key) Fingerprint() string {
	if k.bytes == nil {
		return "none"
	}
	return k.fp
}

func (k Key) String() string                      { return "storekey.Key(" + k.Fingerprint() + ")" }
func (k Key) GoString() string                    { return k.String() }
func (k Key) Format(f fmt.State, _ rune)          { io.WriteString(f, k.String()) }
func (k Key) LogValue() slog.Value                { return slog.StringValue(k.String()) }
func (k Key) MarshalText() (text []byte, _ error) { return []byte(k.String()), nil }

// CheckValue is what a database stores to recognise its key: an HMAC of a
// constant, which reveals nothing about the key yet changes with it.
func (k Key) CheckValue() []byte {
	if k.bytes == nil {
		return nil
	}
	m := hmac.New(sha256.New, k.bytes()[:])
	m.Write([]byte(keyCheckLabel))
	return m.Sum(nil)
}

// LoadKeyFile reads a key file: exactly Size raw bytes in a regular file
// that neither group nor others may read or write (mode 0600 or 0400).
// Errors wrap ErrKeyFile.
func LoadKeyFile(path string) (Key, error) {
	if path == "" {
		return Key{}, fmt.Errorf("%w: no key file given", ErrKeyFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Key{}, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	if !fi.Mode().IsRegular() {
		return Key{}, fmt.Errorf("%w: %s is not a regular file", ErrKeyFile, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return Key{}, fmt.Errorf("%w: %s has mode %#o: group and others must have no access to the key (chmod 600 %s)",
			ErrKeyFile, path, perm, path)
	}
	if fi.Size() != Size {
		return Key{}, fmt.Errorf("%w: %s holds %d bytes, a key file holds exactly %d random bytes",
			ErrKeyFile, path, fi.Size(), Size)
	}
	var b [Size]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return Key{}, fmt.Errorf("%w: %s: %w", ErrKeyFile, path, err)
	}
	defer clear(b[:])
	if b == [Size]byte{} {
		return Key{}, fmt.Errorf("%w: %s holds only zero bytes, not a generated key", ErrKeyFile, path)
	}
	return newKey(b[:]), nil
}

// GenerateKeyFile writes a new random key to path with mode 0600 and
// returns it. It never replaces an existing file: overwriting the key of a
// store would make all of its biometric data unreadable for good. Keep a
// copy of the key apart from the database (and apart from its backups):
// whoever holds both can read the biometric data, and losing every copy of
// the key erases it.
func GenerateKeyFile(path string) (Key, error) {
	var b [Size]byte
	defer clear(b[:])
	if _, err := rand.Read(b[:]); err != nil {
		return Key{}, fmt.Errorf("generate key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return Key{}, fmt.Errorf("generate key: %s already exists; refusing to overwrite a key", path)
	}
	if err != nil {
		return Key{}, fmt.Errorf("generate key: %w", err)
	}
	_, err = f.Write(b[:])
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = SyncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return Key{}, fmt.Errorf("generate key %s: %w", path, err)
	}
	return newKey(b[:]), nil
}

// SyncDir makes a directory entry change (create, link, remove) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
