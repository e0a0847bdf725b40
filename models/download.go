package models

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/dozor-edge/dozor/internal/progress"
)

// Download fetches the named files (none: every non-optional file) into the
// models directory to, drawing a progress bar per file on w (nil: none).
//
// With a baseURL, a mirror laid out like a models directory, file NAME comes
// from baseURL/NAME and its licence texts from baseURL/licenses/. Without
// one, each file's official URL is used; files converted or repackaged for
// dozor have none, and asking for them then fails before anything is
// fetched. Licence texts have no official source, so without a mirror they
// are not downloaded and w gets a note saying which to copy.
//
// Each body is hashed while it streams into a temporary file, which is
// renamed into place only when size and sha256 match; a failed, short or
// tampered download never appears under the final name, and a good file
// already there is kept. Files already present and valid are not fetched
// again. Every failure is reported, joined into one error.
func Download(ctx context.Context, baseURL, to string, w io.Writer, names ...string) error {
	if w == nil {
		w = io.Discard
	}
	files, err := lookupAll(names)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if baseURL != "" {
		u, err := url.Parse(baseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("download: base URL %q is not an http(s) URL", baseURL)
		}
	}

	type job struct {
		e   entry
		src string
	}
	var jobs []job
	var noURL []string
	for _, f := range files {
		src, err := sourceURL(baseURL, f.Name, f.URL)
		if err != nil {
			return fmt.Errorf("download: %w", err)
		}
		if src == "" {
			noURL = append(noURL, f.Name)
			continue
		}
		jobs = append(jobs, job{modelEntry(f), src})
	}
	if len(noURL) > 0 {
		return fmt.Errorf("download: no official download URL for %s (converted or repackaged for dozor): pass the base URL of a mirror",
			strings.Join(noURL, ", "))
	}
	lics := licensesFor(files)
	if baseURL != "" {
		for _, l := range lics {
			src, err := sourceURL(baseURL, l.name, "")
			if err != nil {
				return fmt.Errorf("download: %w", err)
			}
			jobs = append(jobs, job{l, src})
		}
	}

	var errs []error
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("download: stopped before %s: %w", j.e.name, err))
			break
		}
		dst := Path(to, j.e.name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			errs = append(errs, fmt.Errorf("download: %w", err))
			continue
		}
		if checkEntry(to, j.e, true).Err == nil {
			fmt.Fprintf(w, "%s: already present and verified\n", j.e.name)
			continue
		}
		if err := fetch(ctx, j.e, j.src, dst, w); err != nil {
			errs = append(errs, err)
		}
	}
	if baseURL == "" && len(lics) > 0 {
		var missing []string
		for _, l := range lics {
			if checkEntry(to, l, true).Err != nil {
				missing = append(missing, l.name)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(w, "note: licence texts have no official download; copy %s from a models directory (edgectl models install --from)\n",
				strings.Join(missing, ", "))
		}
	}
	return errors.Join(errs...)
}

// sourceURL is where name comes from: under baseURL when one is given,
// otherwise official (possibly empty).
func sourceURL(baseURL, name, official string) (string, error) {
	if baseURL == "" {
		return official, nil
	}
	return url.JoinPath(baseURL, name)
}

func fetch(ctx context.Context, e entry, src, dst string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", e.label, e.name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", e.label, e.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return e.fail(dst, ErrHTTP, nil, "GET %s: HTTP %s", src, resp.Status)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != e.size {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return e.fail(dst, ErrSize, nil, "GET %s: the server sends %d bytes, want %d bytes%s",
			src, resp.ContentLength, e.size, lfsHint(head))
	}
	bar := progress.New(w, e.name, e.size, "B")
	err = writeVerified(dst, e, io.TeeReader(resp.Body, bar), "the downloaded data")
	bar.Finish()
	if err != nil {
		return fmt.Errorf("%w (from %s)", err, src)
	}
	return nil
}

// lfsHint explains the commonest wrong body: a Git LFS pointer served by a
// raw-file URL in place of the object it points to.
func lfsHint(head []byte) string {
	if bytes.HasPrefix(head, []byte("version https://git-lfs")) {
		return " (the server returned a Git LFS pointer, not the file)"
	}
	return ""
}
