package store

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/dozor-edge/dozor/internal/storekey"
)

// openKey loads the store key (Options.KeyFile) and checks it against the
// key check the database keeps, writing that check the first time. When
// the key file is absent and the database holds no key check (nothing was
// ever sealed), it is the first start: a new key is generated. A database
// that has a key check never gets a new key: losing the key file is an
// error, not a fresh start.
func (s *db) openKey(ctx context.Context) error {
	path := s.opt.KeyFile
	if path == "" {
		return nil
	}
	key, err := storekey.LoadKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		var fp string
		switch err := s.w.QueryRowContext(ctx, `SELECT fingerprint FROM store_key WHERE id = 1`).Scan(&fp); {
		case err == nil:
			return fmt.Errorf("key file %s is missing and the database holds data sealed under key %s: restore that key file: %w",
				path, fp, ErrKeyFile)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("key check: %w", err)
		}
		key, err = storekey.GenerateKeyFile(path)
		if err != nil && strings.Contains(err.Error(), "already exists") {
			// Another process starting on the same files made it first.
			key, err = storekey.LoadKeyFile(path)
		} else if err == nil {
			s.opt.Logger.Warn("region store: generated a new store key; it seals the gallery's photos and templates: "+
				"keep a copy apart from the database and its backups (losing every copy erases the biometric data)",
				"key_file", path, "fingerprint", key.Fingerprint())
		}
	}
	if err != nil {
		return fmt.Errorf("store key: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, s.d.bind(`INSERT INTO store_key (id, fingerprint, check_value, created_ns) VALUES (1, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`), key.Fingerprint(), key.CheckValue(), s.opt.Now().UnixNano()); err != nil {
		return fmt.Errorf("key check: %w", err)
	}
	var fp string
	var check []byte
	if err := s.w.QueryRowContext(ctx, `SELECT fingerprint, check_value FROM store_key WHERE id = 1`).Scan(&fp, &check); err != nil {
		return fmt.Errorf("key check: %w", err)
	}
	if !hmac.Equal(check, key.CheckValue()) {
		return fmt.Errorf("%w: %s holds key %s, the database was sealed under key %s", ErrWrongKey, path, key.Fingerprint(), fp)
	}
	if s.seal, err = storekey.NewSealer(key); err != nil {
		return fmt.Errorf("store key: %w", err)
	}
	s.keyFP = key.Fingerprint()
	return nil
}

func (s *db) KeyFingerprint() string {
	if s.keyFP == "" {
		return "none"
	}
	return s.keyFP
}

// sealer returns the sealer, or ErrNoKey when the store has no key.
func (s *db) sealer() (*storekey.Sealer, error) {
	if s.seal == nil {
		return nil, ErrNoKey
	}
	return s.seal, nil
}

// Additional data binding each sealed value to its row: a photo to its
// person and sha256, a template to its person, photo, model and size.
func photoAD(person, sha string) []byte {
	return storekey.BoundTo("gallery_photos", "jpeg", person, sha)
}

func templateAD(person, sha, model string, dim int) []byte {
	return storekey.BoundTo("gallery_templates", "vec", person, sha, model, fmt.Sprint(dim))
}
