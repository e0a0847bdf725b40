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
)

// DownloadOptions tunes Download.
type DownloadOptions struct {
	// BaseURL is a mirror laid out like a models directory: file NAME
	// comes from BaseURL/NAME and its licence texts from
	// BaseURL/licenses/. Empty means each file's official URL.
	BaseURL string
	// Log receives a line per file already present and the note about
	// licence texts; nil discards.
	Log io.Writer
	// Progress, when set, is called as each file's body arrives with the
	// file's name, the bytes received so far and the file's size, on the goroutine that called Download. Drawing it
	// is the caller's business.
	Progress func(name string, done, total int64)
}

// Download fetches the named files (none: every non-optional file) into the
// models directory to.
//
// Without opt.BaseURL, each file's official URL is used; files converted or
// repackaged for dozor have none, and asking for them then fails before
// anything is fetched. Licence texts have no official source, so without a
// mirror they are not downloaded and opt.Log gets a note saying which to
// copy.
//
// Each body is hashed while it streams into a temporary file, which is
// renamed into place only when size and sha256 match; a failed, short or
// tampered download never appears under the final name, and a good file
// already there is kept. Files already present and valid are not fetched
// again. Every failure is reported, joined into one error.
func Download(ctx context.Context, to string, opt DownloadOptions, names ...string) error {
	w, baseURL := opt.Log, opt.BaseURL
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
		if err := fetch(ctx, j.e, j.src, dst, opt.Progress); err != nil {
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

func fetch(ctx context.Context, e entry, src, dst string, progress func(name string, done, total int64)) error {
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
	var body io.Reader = resp.Body
	if progress != nil {
		body = io.TeeReader(resp.Body, &progressWriter{name: e.name, total: e.size, report: progress})
	}
	if err := writeVerified(dst, e, body, "the downloaded data"); err != nil {
		return fmt.Errorf("%w (from %s)", err, src)
	}
	return nil
}

// progressWriter counts the bytes of one file as they stream through and
// reports the running total.
type progressWriter struct {
	name        string
	done, total int64
	report      func(name string, done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	p.report(p.name, p.done, p.total)
	return len(b), nil
}

// lfsHint explains the commonest wrong body: a Git LFS pointer served by a
// raw-file URL in place of the object it points to.
func lfsHint(head []byte) string {
	if bytes.HasPrefix(head, []byte("version https://git-lfs")) {
		return " (the server returned a Git LFS pointer, not the file)"
	}
	return ""
}
