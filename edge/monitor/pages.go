package monitor

import (
	"bytes"
	"net/http"

	"github.com/dozor-edge/dozor/edge/monitor/web"
	"github.com/dozor-edge/dozor/internal/webauth"
)

// home sends each role to the page it works on.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	to := "/login"
	if ss := webauth.FromContext(r.Context()); ss != nil {
		to = web.HomePath(sessionUser(ss).Role)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// loginPage shows the login form, or sends a logged-in account home.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if ss, err := s.acc.Authenticate(r); err == nil && ss != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, "login", map[string]string{"next": webauth.SafeNext(r.URL.Query().Get("next"))})
}

// pageParam names the path parameter a page's scripts get in Extra.
var pageParam = map[string]string{"camera": "camera", "person": "person"}

// page renders one of the monitor's pages for the session's account.
func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		extra := map[string]string{}
		if key, ok := pageParam[name]; ok {
			extra[key] = r.PathValue("id")
		}
		s.render(w, r, name, extra)
	}
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, extra map[string]string) {
	d := web.PageData{Page: name, Site: s.d.Site.Name, TLS: s.d.TLS, Extra: extra, Lang: "ru"}
	if ss := webauth.FromContext(r.Context()); ss != nil {
		d.User, d.CSRF, d.Lang = sessionUser(ss), ss.CSRF, ss.User.Lang
	}
	// Rendered into a buffer so that a template error is a clean 500,
	// not half a page.
	var b bytes.Buffer
	if err := web.Render(&b, name, d); err != nil {
		s.log.Error("monitor page failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

func (s *Server) static() http.Handler {
	return http.StripPrefix("/static/", web.Static())
}
