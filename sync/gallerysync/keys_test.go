package gallerysync

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gallery-signing.key")
	priv, err := GenerateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	got, err := LoadPrivateKeyFile(path)
	if err != nil || !bytes.Equal(got, priv) {
		t.Fatalf("loaded %x, %v; want the generated key", got, err)
	}
	if _, err := GenerateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("GenerateKeyFile over an existing key: %v; want it refused", err)
	}
	if again, _ := LoadPrivateKeyFile(path); !bytes.Equal(again, priv) {
		t.Fatal("the refused second GenerateKeyFile changed the key")
	}

	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKeyFile(path); err == nil || !strings.Contains(err.Error(), "mode 0640 lets others than its owner use it; run chmod 600") {
		t.Fatalf("group-readable key: %v", err)
	}
	if err := os.Chmod(path, 0o604); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKeyFile(path); err == nil || !strings.Contains(err.Error(), "mode 0604") {
		t.Fatalf("world-readable key: %v", err)
	}

	dir := t.TempDir()
	bad := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, _ := os.ReadFile(path)
	for _, tc := range []struct{ name, path, err string }{
		{"missing", filepath.Join(dir, "none.key"), "no such file"},
		{"directory", dir, "not a regular file"},
		{"not PEM", bad("text.key", "ed25519:AAAA"), `no PEM "PRIVATE KEY" block`},
		{"other block", bad("cert.key", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), `no PEM "PRIVATE KEY" block`},
		{"garbage DER", bad("der.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "gallery key"},
		{"trailing data", bad("trail.key", string(good)+"extra"), "data after the key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "directory" {
				os.Chmod(dir, 0o700)
			}
			if _, err := LoadPrivateKeyFile(tc.path); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
		})
	}
}

func TestPublicKeyText(t *testing.T) {
	k := newKeys(t)
	s := FormatPublicKey(k.pub)
	if !strings.HasPrefix(s, "ed25519:") || len(s) != len("ed25519:")+44 {
		t.Fatalf("FormatPublicKey = %q", s)
	}
	got, err := ParsePublicKey(s)
	if err != nil || !got.Equal(k.pub) {
		t.Fatalf("ParsePublicKey(%q) = %x, %v", s, got, err)
	}
	if !NewSigner(k.priv).PublicKey().Equal(k.pub) {
		t.Fatal("Signer.PublicKey is not the key's public half")
	}
	for _, tc := range []struct{ in, err string }{
		{"", `want "ed25519:" followed by base64`},
		{strings.TrimPrefix(s, "ed25519:"), `want "ed25519:"`},
		{"ED25519:" + strings.TrimPrefix(s, "ed25519:"), `want "ed25519:"`},
		{"ed25519:not base64!", "base64"},
		{"ed25519:AAAA", "3 bytes, want 32"},
		{"ed25519:" + base64.StdEncoding.EncodeToString(make([]byte, 35)), "35 bytes, want 32"},
		{strings.TrimRight(s, "="), "base64"},
	} {
		if _, err := ParsePublicKey(tc.in); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParsePublicKey(%q) = %v, want %q", tc.in, err, tc.err)
		}
	}
	fp := Fingerprint(k.pub)
	if len(fp) != 16 || strings.Trim(fp, "0123456789abcdef") != "" || fp == Fingerprint(newKeys(t).pub) {
		t.Fatalf("Fingerprint = %q", fp)
	}
	if _, err := NewSigner(ed25519.PrivateKey{1, 2}).Chunks(testRevision(1), DefaultChunkBytes); err == nil {
		t.Fatal("a Signer with a broken key signed")
	}
}
