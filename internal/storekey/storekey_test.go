package storekey

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeKey(t *testing.T, b []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKnownAnswer pins the derivations: keys and values sealed by every
// earlier build must keep opening, so the labels never change.
func TestKnownAnswer(t *testing.T) {
	k, err := LoadKeyFile(writeKey(t, bytes.Repeat([]byte{0x5a}, Size), 0o600))
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Fingerprint(); got != "b326419815137abc" {
		t.Errorf("fingerprint %s", got)
	}
	if got := hex.EncodeToString(k.CheckValue()); got != "1dbff2012dd8b1305914ed74960a011b26ecece36194ad7a55da04681c9487ab" {
		t.Errorf("check value %s", got)
	}
	s, err := NewSealer(k)
	if err != nil {
		t.Fatal(err)
	}
	blob, _ := hex.DecodeString("010d93a7f79176e66d10a94fdf5e5140b76cb128d6b615dff44c228e16d0dc6ef0")
	plain, err := s.Open(blob, BoundTo("t", "c", "1"))
	if err != nil || string(plain) != "face" {
		t.Fatalf("sealed value of an earlier build: %q, %v", plain, err)
	}
}

func TestLoadKeyFile(t *testing.T) {
	good := bytes.Repeat([]byte{0x5a}, Size)
	for _, c := range []struct {
		name    string
		content []byte
		mode    os.FileMode
		message string
	}{
		{"mode 0600", good, 0o600, ""},
		{"mode 0400", good, 0o400, ""},
		{"group readable", good, 0o640, "chmod 600"},
		{"short", good[:Size-1], 0o600, "exactly 32"},
		{"all zero", make([]byte, Size), 0o600, "zero bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadKeyFile(writeKey(t, c.content, c.mode))
			if c.message == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrKeyFile) || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("%v: want ErrKeyFile saying %q", err, c.message)
			}
		})
	}
	if _, err := LoadKeyFile(filepath.Join(t.TempDir(), "none")); !errors.Is(err, ErrKeyFile) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	if _, err := LoadKeyFile(""); !errors.Is(err, ErrKeyFile) {
		t.Errorf("no path: %v", err)
	}
}

func TestGenerateSealOpen(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	k, err := GenerateKeyFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKeyFile(p); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second generate: %v", err)
	}
	k2, err := LoadKeyFile(p)
	if err != nil || k2.Fingerprint() != k.Fingerprint() {
		t.Fatalf("reload: %v %s %s", err, k2.Fingerprint(), k.Fingerprint())
	}
	s, _ := NewSealer(k)
	ad := BoundTo("photos", "jpeg", "P-1")
	blob := s.Seal([]byte("secret face"), ad)
	if len(blob) != len("secret face")+Overhead || bytes.Contains(blob, []byte("secret")) {
		t.Fatalf("sealed %x", blob)
	}
	if plain, err := s.Open(blob, ad); err != nil || string(plain) != "secret face" {
		t.Fatalf("open: %q %v", plain, err)
	}
	other, _ := GenerateKeyFile(p + "2")
	s2, _ := NewSealer(other)
	tampered := bytes.Clone(blob)
	tampered[len(tampered)-1] ^= 1
	for name, err := range map[string]error{
		"another place": func() error { _, err := s.Open(blob, BoundTo("photos", "jpeg", "P-2")); return err }(),
		"another key":   func() error { _, err := s2.Open(blob, ad); return err }(),
		"tampered":      func() error { _, err := s.Open(tampered, ad); return err }(),
		"short":         func() error { _, err := s.Open(blob[:10], ad); return err }(),
	} {
		if !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: %v, want ErrDecrypt", name, err)
		}
	}
	// Length prefixes keep different tuples apart.
	if bytes.Equal(BoundTo("ab", "c"), BoundTo("a", "bc")) {
		t.Error("BoundTo is ambiguous")
	}
	if _, err := NewSealer(Key{}); err == nil {
		t.Error("sealer without a key")
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	k, err := GenerateKeyFile(p)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	type holder struct {
		Key    Key
		hidden Key
		Ptr    *Key
	}
	h := holder{k, k, &k}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	j, _ := json.Marshal(h)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("k", "key", k)
	outs = append(outs, string(j), logs.String())
	for _, out := range outs {
		if bytes.Contains([]byte(out), raw) || strings.Contains(strings.ToLower(out), hex.EncodeToString(raw)[:16]) {
			t.Errorf("key printed: %s", out)
		}
	}
	if !strings.Contains(k.String(), k.Fingerprint()) || (Key{}).Fingerprint() != "none" {
		t.Error("fingerprint")
	}
}
