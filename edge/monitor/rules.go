package monitor

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webui"
)

func (s *Server) rules(w http.ResponseWriter, r *http.Request) {
	rs, err := s.st.Rules(r.Context())
	writeList(s, w, r, "rules", rs, err, viewRule)
}

// ruleInput is a rule as a client writes it; the id comes from the path.
type ruleInput struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Name     string          `json:"name"`
	Params   json.RawMessage `json:"params"`
	Severity string          `json:"severity"`
	Cooldown int64           `json:"cooldown"`
	Enabled  bool            `json:"enabled"`
}

// maxCooldown is the store's limit on a rule's cooldown, in seconds.
const maxCooldown = 24 * 60 * 60

func (s *Server) putRule(w http.ResponseWriter, r *http.Request) {
	var in ruleInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if in.ID != "" && in.ID != id {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "id", "id %q differs from the path's %q", in.ID, id))
		return
	}
	if in.Cooldown < 0 || in.Cooldown > maxCooldown {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "cooldown", "cooldown must be 0..%d seconds", maxCooldown))
		return
	}
	if len(in.Params) == 0 || string(in.Params) == "null" {
		in.Params = json.RawMessage("{}")
	}
	rl := store.Rule{ID: id, Kind: custody.Kind(in.Kind), Name: in.Name, Params: in.Params,
		Severity: custody.Severity(in.Severity), Cooldown: time.Duration(in.Cooldown) * time.Second, Enabled: in.Enabled}
	if err := s.st.PutRule(r.Context(), actor(r), rl); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Reload()
	rs, err := s.st.Rules(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, stored := range rs {
		if stored.ID == id {
			webui.WriteJSON(w, http.StatusOK, viewRule(stored))
			return
		}
	}
	s.fail(w, r, store.ErrNotFound)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) {
	if err := s.st.DeleteRule(r.Context(), actor(r), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Reload()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) zones(w http.ResponseWriter, r *http.Request) {
	zs, err := s.st.Zones(r.Context())
	writeList(s, w, r, "zones", zs, err, viewZone)
}

func (s *Server) putZone(w http.ResponseWriter, r *http.Request) {
	var in zoneView
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if in.ID != "" && in.ID != id {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "id", "id %q differs from the path's %q", in.ID, id))
		return
	}
	z := store.Zone{ID: id, Name: in.Name, Kind: store.ZoneKind(in.Kind)}
	if err := s.st.PutZone(r.Context(), actor(r), z); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Reload()
	webui.WriteJSON(w, http.StatusOK, viewZone(z))
}

func viewZone(z store.Zone) zoneView { return zoneView{ID: z.ID, Name: z.Name, Kind: string(z.Kind)} }

func (s *Server) permits(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.st.Person(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	ps, err := s.st.Permits(r.Context(), id)
	writeList(s, w, r, "permits", ps, err, viewPermit)
}

// permitInput is a permit as a client writes it: the person comes from
// the path, the id from the store.
type permitInput struct {
	PersonID string `json:"person_id"`
	ZoneID   string `json:"zone_id"`
	Window   string `json:"window"`
}

func (s *Server) addPermit(w http.ResponseWriter, r *http.Request) {
	var in permitInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	person := r.PathValue("id")
	if in.PersonID != "" && in.PersonID != person {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "person_id", "person_id %q differs from the path's %q", in.PersonID, person))
		return
	}
	if in.ZoneID == "" {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "zone_id", "zone_id is required"))
		return
	}
	if in.Window == "" {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "window", "window is required (e.g. \"mon-fri 08:00-17:00\")"))
		return
	}
	id, err := s.st.AddPermit(r.Context(), actor(r), store.Permit{PersonID: person, ZoneID: in.ZoneID, Window: in.Window})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Reload()
	ps, err := s.st.Permits(r.Context(), person)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, p := range ps {
		if p.ID == id {
			webui.WriteJSON(w, http.StatusCreated, viewPermit(p))
			return
		}
	}
	s.fail(w, r, store.ErrNotFound)
}

func (s *Server) removePermit(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "id", "a permit id is a positive whole number"))
		return
	}
	if err := s.st.RemovePermit(r.Context(), actor(r), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Reload()
	w.WriteHeader(http.StatusNoContent)
}

func viewKeepApart(k store.KeepApart) keepApartView {
	return keepApartView{A: k.A, B: k.B, Reason: k.Reason, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt.UTC()}
}

func (s *Server) keepAparts(w http.ResponseWriter, r *http.Request) {
	ks, err := s.st.KeepAparts(r.Context())
	writeList(s, w, r, "orders", ks, err, viewKeepApart)
}

type keepApartInput struct {
	A      string `json:"a"`
	B      string `json:"b"`
	Reason string `json:"reason"`
}

func (s *Server) putKeepApart(w http.ResponseWriter, r *http.Request) {
	var in keepApartInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	for _, f := range []struct{ name, v string }{{"a", in.A}, {"b", in.B}} {
		if f.v == "" {
			s.fail(w, r, webui.Errorf(http.StatusBadRequest, f.name, "%s is required", f.name))
			return
		}
	}
	if err := s.st.PutKeepApart(r.Context(), actor(r), store.KeepApart{A: in.A, B: in.B, Reason: in.Reason}); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Reload()
	ks, err := s.st.KeepAparts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, b := min(in.A, in.B), max(in.A, in.B)
	for _, k := range ks {
		if k.A == a && k.B == b {
			webui.WriteJSON(w, http.StatusOK, viewKeepApart(k))
			return
		}
	}
	s.fail(w, r, store.ErrNotFound)
}

func (s *Server) removeKeepApart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, b := q.Get("a"), q.Get("b")
	for _, f := range []struct{ name, v string }{{"a", a}, {"b", b}} {
		if f.v == "" {
			s.fail(w, r, webui.Errorf(http.StatusBadRequest, f.name, "%s is required", f.name))
			return
		}
	}
	if err := s.st.RemoveKeepApart(r.Context(), actor(r), a, b); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Reload()
	w.WriteHeader(http.StatusNoContent)
}
