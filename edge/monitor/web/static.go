package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed static
var staticFS embed.FS

type asset struct {
	data []byte
	etag string
}

// assets maps a path below static/ ("js/live.js") to its bytes and ETag,
// read once.
var assets = sync.OnceValue(func() map[string]asset {
	out := map[string]asset{}
	sub, _ := fs.Sub(staticFS, "static")
	fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[p] = asset{data: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return out
})

// Static serves the embedded stylesheet, scripts and images, below the
// prefix the server strips (http.StripPrefix("/static/", Static())). The
// URLs carry no version, so browsers revalidate every time (no-cache) and
// get a 304 while the ETag, the content's hash, is unchanged.
func Static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		a, ok := assets()[p]
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
