package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// KeySize is the length of the store key in bytes.
const KeySize = 32

// Key is the store's 32-byte master key. Its bytes never leave this
// package: String, GoString, Format, LogValue and MarshalText all render
// the fingerprint only, so a Key printed with any verb, logged with slog or
// encoded as JSON shows which key it is and nothing more. The bytes are
// reachable only through a closure: fmt prints the fields of a struct
// holding a Key by reflection (without calling its methods when the field
// is unexported, and with the pointed-to contents for a bad verb), and
// reflection shows a function as an address, never what it captured.
type Key struct {
	bytes func() *[KeySize]byte
	fp    string
}

// Purpose strings for deriving independent values from the master key.
const (
	kdfEncrypt     = "dozor/store/v1 aes-256-gcm"
	keyCheckLabel  = "dozor/store/v1 key check"
	fingerprintTag = "dozor/store/v1 fingerprint"
)

func newKey(b []byte) Key {
	var k [KeySize]byte
	copy(k[:], b)
	h := sha256.New()
	h.Write([]byte(fingerprintTag))
	h.Write(k[:])
	return Key{bytes: func() *[KeySize]byte { return &k }, fp: hex.EncodeToString(h.Sum(nil)[:8])}
}

// Fingerprint identifies the key (16 hex digits of a hash of it) so that
// operators can tell keys apart; it reveals nothing usable about the key.
func (k Key) Fingerprint() string {
	if k.bytes == nil {
		return "none"
	}
	return k.fp
}

func (k Key) String() string                      { return "store.Key(" + k.Fingerprint() + ")" }
func (k Key) GoString() string                    { return k.String() }
func (k Key) Format(f fmt.State, _ rune)          { io.WriteString(f, k.String()) }
func (k Key) LogValue() slog.Value                { return slog.StringValue(k.String()) }
func (k Key) MarshalText() (text []byte, _ error) { return []byte(k.String()), nil }

// checkValue is what the database stores to recognise its key: an HMAC of a
// constant, which reveals nothing about the key yet changes with it.
func (k Key) checkValue() []byte {
	m := hmac.New(sha256.New, k.bytes()[:])
	m.Write([]byte(keyCheckLabel))
	return m.Sum(nil)
}

// LoadKeyFile reads a key file: exactly KeySize raw bytes in a regular file
// that neither group nor others may read or write (mode 0600 or 0400).
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
	if fi.Size() != KeySize {
		return Key{}, fmt.Errorf("%w: %s holds %d bytes, a key file holds exactly %d random bytes",
			ErrKeyFile, path, fi.Size(), KeySize)
	}
	var b [KeySize]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return Key{}, fmt.Errorf("%w: %s: %w", ErrKeyFile, path, err)
	}
	defer clear(b[:])
	if b == [KeySize]byte{} {
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
	var b [KeySize]byte
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
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return Key{}, fmt.Errorf("generate key %s: %w", path, err)
	}
	return newKey(b[:]), nil
}

// sealer encrypts and authenticates biometric values with AES-256-GCM under
// a key derived from the master key. A sealed value is
//
//	version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)
//
// and is bound to the row and column it belongs to through the additional
// data, so a value copied into another row or column fails to open.
type sealer struct{ aead cipher.AEAD }

const (
	sealV1       byte = 1
	sealOverhead      = 1 + 12 + 16
)

func newSealer(k Key) (*sealer, error) {
	ek, err := hkdf.Key(sha256.New, k.bytes()[:], nil, kdfEncrypt, 32)
	if err != nil {
		return nil, err
	}
	defer clear(ek)
	block, err := aes.NewCipher(ek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(plain, ad []byte) []byte {
	out := make([]byte, 1, sealOverhead+len(plain))
	out[0] = sealV1
	return s.aead.Seal(out, nil, plain, ad)
}

func (s *sealer) open(blob, ad []byte) ([]byte, error) {
	if len(blob) < sealOverhead {
		return nil, fmt.Errorf("%w: %d bytes is shorter than any sealed value", ErrDecrypt, len(blob))
	}
	if blob[0] != sealV1 {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrDecrypt, blob[0])
	}
	plain, err := s.aead.Open(nil, nil, blob[1:], ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

// boundTo builds the additional data that ties a sealed value to its place:
// table, column, row id and any further columns whose change must
// invalidate it (the person a template belongs to, its model and size).
// Every part is length-prefixed so that no two different tuples encode the
// same bytes.
func boundTo(parts ...string) []byte {
	n := len("dozor/store/v1 ad")
	for _, p := range parts {
		n += 4 + len(p)
	}
	b := make([]byte, 0, n)
	b = append(b, "dozor/store/v1 ad"...)
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// syncDir makes a directory entry change (create, link, remove) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
