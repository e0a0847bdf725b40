package monitor

import (
	"context"
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webui"
)

// maxReasonBytes bounds a decision's reason.
const maxReasonBytes = 500

// viewSighting builds a sighting's view; zone falls back to the camera's
// zone for sightings stored without one.
func (s *Server) viewSighting(ctx context.Context, n *names, sg store.Sighting) sightingView {
	return sightingView{ID: sg.ID, Camera: sg.CameraID, Zone: sg.ZoneID, Track: sg.TrackID, Person: sg.PersonID,
		Name: n.of(ctx, sg.PersonID), Model: string(sg.Model), Score: sg.Score, Margin: sg.Margin, Quality: sg.Quality,
		Frames: sg.Frames, FirstSeen: sg.FirstSeen.UTC(), LastSeen: sg.LastSeen.UTC(), HasCrop: sg.HasCrop}
}

func (s *Server) viewSightings(ctx context.Context, sgs []store.Sighting) []sightingView {
	n := s.names()
	out := make([]sightingView, 0, len(sgs))
	for _, sg := range sgs {
		out = append(out, s.viewSighting(ctx, n, sg))
	}
	return out
}

// alertViews builds alert views, reading each rule, sighting and person
// once.
type alertViews struct {
	s      *Server
	names  *names
	rules  map[string]store.Rule
	photos map[string][]string
}

func (s *Server) alertViews(ctx context.Context) (*alertViews, error) {
	rules, err := s.st.Rules(ctx)
	if err != nil {
		return nil, err
	}
	av := &alertViews{s: s, names: s.names(), rules: map[string]store.Rule{}, photos: map[string][]string{}}
	for _, r := range rules {
		av.rules[r.ID] = r
	}
	return av, nil
}

func (av *alertViews) view(ctx context.Context, a store.Alert) (alertView, error) {
	sg, err := av.s.st.Sighting(ctx, a.SightingID)
	if err != nil {
		return alertView{}, err
	}
	v := alertView{ID: a.ID, Rule: a.RuleID, Severity: string(a.Severity), State: string(a.State),
		CreatedAt: a.CreatedAt.UTC(), AcknowledgedBy: a.AckBy, Sighting: av.s.viewSighting(ctx, av.names, sg),
		Evidence: a.Evidence, Photos: []string{}}
	if len(v.Evidence) == 0 {
		v.Evidence = json.RawMessage("{}")
	}
	if r, ok := av.rules[a.RuleID]; ok {
		v.Kind, v.RuleName = string(r.Kind), r.Name
	}
	if !a.AckAt.IsZero() {
		at := a.AckAt.UTC()
		v.AcknowledgedAt = &at
	}
	if d := a.Decision; d != nil {
		v.Decision = &decisionView{Decision: string(d.Decision), By: d.Actor, At: d.At.UTC(), Reason: d.Note}
	}
	if p := sg.PersonID; p != "" {
		ids, ok := av.photos[p]
		if !ok {
			infos, err := av.s.st.Photos(ctx, p)
			if err != nil && !isNotFound(err) {
				return alertView{}, err
			}
			ids = []string{}
			for _, ph := range infos {
				ids = append(ids, ph.ID)
			}
			av.photos[p] = ids
		}
		v.Photos = ids
	}
	return v, nil
}

func (s *Server) alertView(ctx context.Context, id string) (alertView, error) {
	a, err := s.st.Alert(ctx, id)
	if err != nil {
		return alertView{}, err
	}
	av, err := s.alertViews(ctx)
	if err != nil {
		return alertView{}, err
	}
	return av.view(ctx, a)
}

func (s *Server) alerts(w http.ResponseWriter, r *http.Request) {
	aq, err := parseAlertQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	as, err := s.st.Alerts(r.Context(), aq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	av, err := s.alertViews(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]alertView, 0, len(as))
	for _, a := range as {
		v, err := av.view(r.Context(), a)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, v)
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"alerts": out})
}

func (s *Server) alert(w http.ResponseWriter, r *http.Request) {
	v, err := s.alertView(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, http.StatusOK, v)
}

type ackInput struct{}

func (s *Server) ack(w http.ResponseWriter, r *http.Request) {
	// The body is optional; when present it must be an empty object.
	if r.ContentLength != 0 {
		var in ackInput
		if err := decodeJSON(w, r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	id := r.PathValue("id")
	if _, err := s.st.AcknowledgeAlert(r.Context(), actor(r), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.alertChanged(w, r, id)
}

type decisionInput struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	var in decisionInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	d := store.AlertDecision{AlertID: r.PathValue("id"), Actor: actor(r), Note: in.Reason, At: s.now()}
	switch in.Decision {
	case string(store.AlertConfirmed), string(store.AlertRejected):
		d.Decision = store.AlertState(in.Decision)
	default:
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "decision", "decision must be \"confirmed\" or \"rejected\""))
		return
	}
	switch {
	case len(in.Reason) == 0:
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "reason", "a reason is required"))
		return
	case len(in.Reason) > maxReasonBytes:
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "reason", "the reason is longer than %d bytes", maxReasonBytes))
		return
	case !utf8.ValidString(in.Reason):
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "reason", "the reason is not valid UTF-8"))
		return
	}
	// The store checks the acknowledgement again inside its transaction;
	// this check gives the clear answer in the common case.
	a, err := s.st.Alert(r.Context(), d.AlertID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case a.State != store.AlertOpen:
		s.fail(w, r, store.ErrAlreadyDecided)
		return
	case a.AckBy == "":
		s.fail(w, r, store.ErrNotAcknowledged)
		return
	case a.AckBy != d.Actor:
		s.fail(w, r, webui.Errorf(http.StatusConflict, "", "the alert is acknowledged by %s", a.AckBy))
		return
	}
	if err := s.d.Decide(r.Context(), d); err != nil {
		s.fail(w, r, err)
		return
	}
	s.alertChanged(w, r, d.AlertID)
}

// alertChanged answers with the alert as stored and tells every desk.
func (s *Server) alertChanged(w http.ResponseWriter, r *http.Request, id string) {
	s.d.Events.Publish(Event{Type: EventAlertUpdate, ID: id})
	v, err := s.alertView(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, http.StatusOK, v)
}

func (s *Server) sightings(w http.ResponseWriter, r *http.Request) {
	sq, err := parseSightingQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sgs, next, err := s.st.Sightings(r.Context(), sq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Sightings []sightingView `json:"sightings"`
		Next      string         `json:"next,omitempty"`
	}{s.viewSightings(r.Context(), sgs), next}
	webui.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) sighting(w http.ResponseWriter, r *http.Request) {
	sg, err := s.st.Sighting(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, http.StatusOK, s.viewSighting(r.Context(), s.names(), sg))
}

func (s *Server) crop(w http.ResponseWriter, r *http.Request) {
	img, err := s.st.Crop(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeImage(w, img)
}

// writeImage answers a stored JPEG or PNG; biometric images are never
// cached by the browser.
func writeImage(w http.ResponseWriter, img []byte) {
	h := w.Header()
	h.Set("Content-Type", http.DetectContentType(img))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(img)
}
