package config

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/dozor-edge/dozor/sync/wire"
)

// SiteAccount is one site's MQTT credentials as the broker keeps them: the
// site id is the user name, and only the password's bcrypt hash is stored.
type SiteAccount struct {
	Site         string
	PasswordHash string
}

// MaxSitesFileSize bounds the sites file: a line is under 200 bytes and a
// country has hundreds of sites.
const MaxSitesFileSize = 4 << 20

// ParseSites reads a sites file: one "site-id bcrypt-hash" per line; blank
// lines and lines starting with '#' are ignored. Errors name the line.
func ParseSites(data []byte) ([]SiteAccount, error) {
	var (
		out  []SiteAccount
		errs []error
		seen = map[string]int{}
	)
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			errs = append(errs, fmt.Errorf("line %d: want \"site-id bcrypt-hash\", found %d fields", n, len(f)))
			continue
		}
		id, hash := f[0], f[1]
		if err := wire.ValidateSegment(id); err != nil {
			errs = append(errs, fmt.Errorf("line %d: site id %q: %v", n, clip(id), err))
			continue
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil || !strings.HasPrefix(hash, "$2") {
			errs = append(errs, fmt.Errorf("line %d: site %s: the password is not a bcrypt hash (add sites with `regiond site add`)", n, id))
			continue
		}
		if prev, dup := seen[id]; dup {
			errs = append(errs, fmt.Errorf("line %d: site %s is already on line %d", n, id, prev))
			continue
		}
		seen[id] = n
		out = append(out, SiteAccount{Site: id, PasswordHash: hash})
	}
	return out, errors.Join(errs...)
}

// ReadSites reads and parses the sites file at path.
func ReadSites(path string) ([]SiteAccount, error) {
	data, err := readSitesFile(path)
	if err != nil {
		return nil, err
	}
	sites, err := ParseSites(data)
	if err != nil {
		return nil, fmt.Errorf("sites file %s: %w", path, err)
	}
	return sites, nil
}

func readSitesFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sites file: %w", err)
	}
	if len(data) > MaxSitesFileSize {
		return nil, fmt.Errorf("sites file %s: larger than %d bytes", path, MaxSitesFileSize)
	}
	return data, nil
}

// ErrSiteExists is returned by AddSite for an id already in the file.
var ErrSiteExists = errors.New("site already exists")

// AddSite makes a new random password for site, appends the site with the
// password's bcrypt hash to the sites file at path (creating it) and
// returns the password, which is stored nowhere else. The file is
// rewritten atomically with mode 0600; a site already in it is refused
// with ErrSiteExists.
func AddSite(path, site string) (password string, err error) {
	if err := wire.ValidateSegment(site); err != nil {
		return "", fmt.Errorf("site id %q: %w", clip(site), err)
	}
	data, err := readSitesFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = []byte("# dozor region sites: one \"site-id bcrypt-hash\" per line (regiond site add).\n"), nil
	}
	if err != nil {
		return "", err
	}
	sites, err := ParseSites(data)
	if err != nil {
		return "", fmt.Errorf("sites file %s: %w", path, err)
	}
	for _, s := range sites {
		if s.Site == site {
			return "", fmt.Errorf("%w: %s in %s", ErrSiteExists, site, path)
		}
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	password = base64.RawURLEncoding.EncodeToString(raw)
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		data = append(data, '\n')
	}
	data = fmt.Appendf(data, "%s %s\n", site, hash)
	if err := writeAtomic(path, data, 0o600); err != nil {
		return "", fmt.Errorf("sites file %s: %w", path, err)
	}
	return password, nil
}

// writeAtomic replaces path with data: a temporary file in the same folder,
// synced, renamed over it, and the folder synced, so a crash leaves either
// the old file or the new one.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func clip(s string) string {
	if len(s) > 70 {
		return s[:70] + "..."
	}
	return s
}
