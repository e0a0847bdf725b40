package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var sharedFS embed.FS

// Assets are the shared stylesheet and scripts: css/base.css,
// js/common.js and js/login.js.
var Assets fs.FS = mustSub(sharedFS, "static")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

type asset struct {
	data []byte
	etag string
}

// readAssets maps each file's path ("js/live.js") to its bytes and
// ETag; a path in an earlier FS hides the same path in later ones.
func readAssets(fss []fs.FS) map[string]asset {
	out := map[string]asset{}
	for _, fsys := range fss {
		fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if _, ok := out[p]; ok {
				return nil
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			out[p] = asset{data: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
			return nil
		})
	}
	return out
}

// Static serves the files of fss, the application's first and Assets
// last, below the prefix the server strips
// (http.StripPrefix("/static/", Static(app, webui.Assets))). The files
// are read once, here. The URLs carry no version, so browsers revalidate
// every time (no-cache) and get a 304 while the ETag, the content's hash,
// is unchanged.
func Static(fss ...fs.FS) http.Handler {
	assets := readAssets(fss)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		a, ok := assets[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("ETag", a.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		// ServeContent answers If-None-Match with 304 and sets the type
		// from the extension.
		http.ServeContent(w, r, p, time.Time{}, bytes.NewReader(a.data))
	})
}
