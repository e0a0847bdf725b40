package monitor

import (
	"context"
	"math"
	"net/http"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webui"
)

// Region limits: a zone polygon has 3..32 points (or none: the whole
// picture).
const (
	minRegionPoints = 3
	maxRegionPoints = 32
)

// cameraViews joins the stored cameras with their running state.
func (s *Server) cameraViews(ctx context.Context) ([]cameraView, error) {
	cams, err := s.st.Cameras(ctx)
	if err != nil {
		return nil, err
	}
	states := map[string]CameraState{}
	for _, c := range s.d.Cameras() {
		states[c.ID] = c
	}
	out := make([]cameraView, 0, len(cams))
	for _, c := range cams {
		out = append(out, s.viewCamera(c, states[c.ID]))
	}
	return out, nil
}

func (s *Server) cameraView(ctx context.Context, id string) (cameraView, error) {
	cams, err := s.cameraViews(ctx)
	if err != nil {
		return cameraView{}, err
	}
	for _, c := range cams {
		if c.ID == id {
			return c, nil
		}
	}
	return cameraView{}, webui.Errorf(http.StatusNotFound, "", "no camera %q", id)
}

func (s *Server) viewCamera(c store.Camera, st CameraState) cameraView {
	v := cameraView{ID: c.ID, Name: c.Name, Zone: c.ZoneID, Codec: st.Codec, State: "unknown", Region: [][2]float64{}}
	for _, p := range c.Region {
		v.Region = append(v.Region, [2]float64{p.X, p.Y})
	}
	if st.ID != "" {
		h := st.Health
		if v.Codec == "" {
			v.Codec = string(h.Codec)
		}
		v.State, v.Reason, v.Error = stateName(h.State), string(h.Reason), h.Error
		if !h.Since.IsZero() {
			since := h.Since.UTC()
			v.Since = &since
		}
		v.FPSIn, v.FPSOut = finite(h.FPSIn), finite(h.FPSOut)
		v.Width, v.Height = h.Width, h.Height
	}
	v.Mode = s.mode(c.ID, v.Codec)
	return v
}

// mode says how a browser shows a camera: MSE video for H.264 with a live
// fan-out, snapshots otherwise (Chromium plays no H.265 through MSE).
func (s *Server) mode(id, codec string) string {
	h := s.d.Live(id)
	switch {
	case h == nil || codec == "h265":
		return "snapshot"
	case h.Mode() == "mse" || codec == "h264":
		return "mse"
	}
	return "snapshot"
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*100) / 100
}

func (s *Server) cameras(w http.ResponseWriter, r *http.Request) {
	cams, err := s.cameraViews(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"cameras": cams})
}

func (s *Server) camera(w http.ResponseWriter, r *http.Request) {
	c, err := s.cameraView(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, http.StatusOK, c)
}

func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	purpose := r.URL.Query().Get("purpose")
	if purpose != "" && purpose != "enrol" {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "purpose", "purpose must be empty or \"enrol\""))
		return
	}
	if _, err := s.cameraView(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	jpg, at, ok := s.d.Snapshot(id)
	if !ok {
		s.fail(w, r, webui.Errorf(http.StatusNotFound, "", "camera %q has no picture yet", id))
		return
	}
	// A snapshot taken to enrol someone from is a biometric read; the
	// live view's refreshes are not.
	if purpose == "enrol" {
		if err := s.st.Audit(r.Context(), actor(r), "snapshot.read", "camera:"+id, `{"purpose":"enrol"}`); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if !at.IsZero() {
		h.Set("Last-Modified", at.UTC().Format(http.TimeFormat))
	}
	w.Write(jpg)
}

type regionInput struct {
	Points [][]float64 `json:"points"`
}

func (s *Server) putRegion(w http.ResponseWriter, r *http.Request) {
	var in regionInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Points == nil {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "points", "points is required ([] clears the region)"))
		return
	}
	n := len(in.Points)
	if n != 0 && (n < minRegionPoints || n > maxRegionPoints) {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "points", "a region has %d..%d points, got %d", minRegionPoints, maxRegionPoints, n))
		return
	}
	pts := make([]store.Point, 0, n)
	for i, p := range in.Points {
		if len(p) != 2 || !unit(p[0]) || !unit(p[1]) {
			s.fail(w, r, webui.Errorf(http.StatusBadRequest, "points", "point %d must be [x, y] with both in 0..1", i))
			return
		}
		pts = append(pts, store.Point{X: p[0], Y: p[1]})
	}
	id := r.PathValue("id")
	if err := s.st.SetCameraRegion(r.Context(), actor(r), id, pts); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Reload()
	c, err := s.cameraView(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, http.StatusOK, c)
}

func unit(v float64) bool { return v >= 0 && v <= 1 }

func (s *Server) cameraSightings(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r.URL.Query(), 20, 200)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if _, err := s.cameraView(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	sgs, _, err := s.st.Sightings(r.Context(), store.SightingQuery{CameraID: id, Limit: limit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"sightings": s.viewSightings(r.Context(), sgs)})
}
