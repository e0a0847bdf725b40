package monitor

import "net/http"

// contentSecurityPolicy lets the pages run only their own ES modules and
// styles: the inline scripts are JSON data blocks, which the browser does
// not execute; blob: is the live player's MediaSource and the uploaded
// photos' previews; 'self' in connect-src covers the same-origin fetches,
// the event stream and the live WebSocket (ws: and wss: on the page's
// host). Nothing may frame the monitor, post a form elsewhere or load a
// plugin.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

// hsts keeps a browser that once reached the monitor over HTTPS on it for
// a year.
const hsts = "max-age=31536000"

// secure sets the security headers on every response, pages, assets and
// API alike, before any handler (or refusal) writes.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if s.d.TLS {
			h.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	})
}
