package gallerysync

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// PublicKeyPrefix starts the text form of a public key,
// "ed25519:<standard base64 of the 32 key bytes>".
const PublicKeyPrefix = "ed25519:"

// pemType is the PEM block of a key file: PKCS #8, which OpenSSL reads too.
const pemType = "PRIVATE KEY"

// GenerateKeyFile makes a new Ed25519 key and writes it to path as a PEM
// PKCS #8 file readable by its owner only (0600). It refuses to overwrite
// an existing file: a region that replaced its key would be refused by
// every site.
func GenerateKeyFile(path string) (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("gallery key: generate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("gallery key: encode: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("gallery key: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: pemType, Bytes: der})
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path) // a half-written key must not pass for one
		return nil, fmt.Errorf("gallery key: write %s: %w", path, werr)
	}
	return priv, nil
}

// LoadPrivateKeyFile reads a key written by GenerateKeyFile. It refuses a
// file that its group or others may read or write.
func LoadPrivateKeyFile(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gallery key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("gallery key: %w", err)
	}
	switch {
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("gallery key %s: not a regular file", path)
	case st.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("gallery key %s: mode %04o lets others than its owner use it; run chmod 600 %s", path, st.Mode().Perm(), path)
	case st.Size() > 16<<10:
		return nil, fmt.Errorf("gallery key %s: %d bytes, too large for a key file", path, st.Size())
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("gallery key %s: %w", path, err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != pemType {
		return nil, fmt.Errorf("gallery key %s: no PEM %q block", path, pemType)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("gallery key %s: data after the key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("gallery key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("gallery key %s: a %T, want an Ed25519 key", path, k)
	}
	return priv, nil
}

// FormatPublicKey is the text form of pub: "ed25519:" and the standard
// base64 of its 32 bytes. It is what a site's configuration holds.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads FormatPublicKey's text form.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(s, PublicKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("public key: want %q followed by base64, got %q", PublicKeyPrefix, clip(s))
	}
	b, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("public key: base64: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key: %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// Fingerprint names a public key in logs, audit records and chunk
// envelopes: the first 8 bytes of its SHA-256 in hex.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}
