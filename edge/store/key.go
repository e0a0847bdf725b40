package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/dozor-edge/dozor/internal/storekey"
)

// KeySize is the length of the store key in bytes.
const KeySize = storekey.Size

// Key is the store's 32-byte master key (a storekey.Key). String,
// GoString, Format, LogValue and MarshalText all render the fingerprint
// only, so a Key printed with any verb, logged with slog or encoded as JSON
// shows which key it is and nothing more.
type Key struct{ k storekey.Key }

// Fingerprint identifies the key (16 hex digits of a hash of it) so that
// operators can tell keys apart; it reveals nothing usable about the key.
func (k Key) Fingerprint() string { return k.k.Fingerprint() }

func (k Key) String() string                      { return "store.Key(" + k.Fingerprint() + ")" }
func (k Key) GoString() string                    { return k.String() }
func (k Key) Format(f fmt.State, _ rune)          { io.WriteString(f, k.String()) }
func (k Key) LogValue() slog.Value                { return slog.StringValue(k.String()) }
func (k Key) MarshalText() (text []byte, _ error) { return []byte(k.String()), nil }

// checkValue is what the database stores to recognise its key.
func (k Key) checkValue() []byte { return k.k.CheckValue() }

// LoadKeyFile reads a key file: exactly KeySize raw bytes in a regular file
// that neither group nor others may read or write (mode 0600 or 0400).
// Errors wrap ErrKeyFile.
func LoadKeyFile(path string) (Key, error) {
	k, err := storekey.LoadKeyFile(path)
	return Key{k}, also(err, storekey.ErrKeyFile, ErrKeyFile)
}

// GenerateKeyFile writes a new random key to path with mode 0600 and
// returns it. It never replaces an existing file: overwriting the key of a
// store would make all of its biometric data unreadable for good. Keep a
// copy of the key apart from the database (and apart from its backups):
// whoever holds both can read the biometric data, and losing every copy of
// the key erases it.
func GenerateKeyFile(path string) (Key, error) {
	k, err := storekey.GenerateKeyFile(path)
	return Key{k}, err
}

// sealer encrypts and authenticates biometric values (storekey.Sealer);
// a value that fails to open wraps ErrDecrypt.
type sealer struct{ s *storekey.Sealer }

func newSealer(k Key) (*sealer, error) {
	s, err := storekey.NewSealer(k.k)
	if err != nil {
		return nil, err
	}
	return &sealer{s}, nil
}

func (s *sealer) seal(plain, ad []byte) []byte { return s.s.Seal(plain, ad) }

func (s *sealer) open(blob, ad []byte) ([]byte, error) {
	plain, err := s.s.Open(blob, ad)
	return plain, also(err, storekey.ErrDecrypt, ErrDecrypt)
}

// boundTo builds the additional data that ties a sealed value to its place
// (storekey.BoundTo).
func boundTo(parts ...string) []byte { return storekey.BoundTo(parts...) }

// syncDir makes a directory entry change (create, link, remove) durable.
func syncDir(dir string) error { return storekey.SyncDir(dir) }

// also makes an error of storekey that wraps theirs wrap this package's
// sentinel ours too, with its message unchanged (both sentinels read the
// same).
func also(err, theirs, ours error) error {
	if err == nil || !errors.Is(err, theirs) {
		return err
	}
	return bothErr{err, ours}
}

type bothErr struct{ err, sentinel error }

func (e bothErr) Error() string   { return e.err.Error() }
func (e bothErr) Unwrap() []error { return []error{e.err, e.sentinel} }
