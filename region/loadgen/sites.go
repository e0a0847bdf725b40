package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/sync/wire"
)

// SiteID is the id of simulated site i (from 1): prefix and four digits.
func SiteID(prefix string, i int) string { return fmt.Sprintf("%s%04d", prefix, i) }

// PrepareSites returns n simulated sites (SiteID(prefix, 1..n)) with their
// passwords. A site missing from sitesFile, the region's broker.sites_file,
// is added with config.AddSite and its clear password appended to
// passwordsFile ("site password" lines, mode 0600): the sites file keeps
// only bcrypt hashes. added counts the new sites; the region reads its
// sites file when it starts, so they can connect only after a restart.
func PrepareSites(sitesFile, passwordsFile, prefix string, n int) (sites []Site, added int, err error) {
	if n < 1 {
		return nil, 0, fmt.Errorf("sites: %d, want at least 1", n)
	}
	if err := wire.ValidateSegment(SiteID(prefix, 1)); err != nil {
		return nil, 0, fmt.Errorf("site prefix %q: %w", prefix, err)
	}
	known := map[string]bool{}
	list, err := config.ReadSites(sitesFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, 0, err
	}
	for _, s := range list {
		known[s.Site] = true
	}
	passwords, err := readPasswords(passwordsFile)
	if err != nil {
		return nil, 0, err
	}
	for i := 1; i <= n; i++ {
		id := SiteID(prefix, i)
		pw, ok := passwords[id]
		switch {
		case known[id] && !ok:
			return nil, added, fmt.Errorf("site %s is in %s but its password is not in %s: remove it there or choose another site prefix", id, sitesFile, passwordsFile)
		case !known[id]:
			if pw, err = config.AddSite(sitesFile, id); err != nil {
				return nil, added, err
			}
			if err := appendPassword(passwordsFile, id, pw); err != nil {
				return nil, added, err
			}
			added++
		}
		sites = append(sites, Site{ID: id, Password: pw})
	}
	return sites, added, nil
}

func readPasswords(path string) (map[string]string, error) {
	out := map[string]string{}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("passwords file: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("passwords file %s: line %d: want \"site password\", found %d fields", path, n, len(f))
		}
		out[f[0]] = f[1]
	}
	return out, sc.Err()
}

func appendPassword(path, site, password string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("passwords file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("passwords file: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%s %s\n", site, password); err != nil {
		f.Close()
		return fmt.Errorf("passwords file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("passwords file %s: %w", path, err)
	}
	return f.Close()
}
