package storekey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrDecrypt: a sealed value failed authentication: it was altered, moved
// to another row, or sealed under another key.
var ErrDecrypt = errors.New("encrypted value failed authentication")

// Sealer encrypts and authenticates values with AES-256-GCM under a key
// derived from the master key. A sealed value is
//
//	version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)
//
// and is bound to the place it belongs to through the additional data
// (see BoundTo). A Sealer is safe for concurrent use.
type Sealer struct{ aead cipher.AEAD }

const (
	sealV1 byte = 1
	// Overhead is how many bytes sealing adds to a value.
	Overhead = 1 + 12 + 16
)

// NewSealer derives the encryption key from k.
func NewSealer(k Key) (*Sealer, error) {
	if k.IsZero() {
		return nil, errors.New("new sealer: no key")
	}
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
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plain, bound to ad.
func (s *Sealer) Seal(plain, ad []byte) []byte {
	out := make([]byte, 1, Overhead+len(plain))
	out[0] = sealV1
	return s.aead.Seal(out, nil, plain, ad)
}

// Open decrypts a value sealed with the same key and ad. Errors wrap
// ErrDecrypt.
func (s *Sealer) Open(blob, ad []byte) ([]byte, error) {
	if len(blob) < Overhead {
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

// BoundTo builds the additional data that ties a sealed value to its
// place: table, column, row id and any further columns whose change must
// invalidate it (the person a template belongs to, its model and size).
// Every part is length-prefixed so that no two different tuples encode the
// same bytes.
func BoundTo(parts ...string) []byte {
	const prefix = "dozor/store/v1 ad"
	n := len(prefix)
	for _, p := range parts {
		n += 4 + len(p)
	}
	b := make([]byte, 0, n)
	b = append(b, prefix...)
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}
