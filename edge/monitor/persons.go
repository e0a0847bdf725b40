package monitor

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/dozor-edge/dozor/edge/enroll"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webui"
)

// recentSightings is how many of a person's sightings their page shows.
const recentSightings = 20

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func (s *Server) persons(w http.ResponseWriter, r *http.Request) {
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	list := r.URL.Query().Get("watch_list")
	ps, err := s.st.Persons(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []personView{}
	for _, p := range ps {
		if q != "" && !strings.Contains(strings.ToLower(p.ID), q) && !strings.Contains(strings.ToLower(p.DisplayName), q) {
			continue
		}
		if list != "" && !slices.Contains(p.WatchLists, list) {
			continue
		}
		out = append(out, viewPerson(p))
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"persons": out})
}

func (in personInput) person() store.Person {
	return store.Person{ID: in.ID, DisplayName: in.Name, Facility: in.Facility, Status: store.PersonStatus(in.Status),
		Categories: nonNil(in.Categories), WatchLists: nonNil(in.WatchLists)}
}

func (s *Server) createPerson(w http.ResponseWriter, r *http.Request) {
	var in personInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.ID == "" {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "id", "id is required"))
		return
	}
	// A person enrolled at the post is held here unless told otherwise.
	if in.Facility == "" {
		in.Facility = s.d.Site.ID
	}
	if _, err := s.st.Person(r.Context(), in.ID); err == nil {
		s.fail(w, r, webui.Errorf(http.StatusConflict, "id", "a person with id %q exists", in.ID))
		return
	} else if !isNotFound(err) {
		s.fail(w, r, err)
		return
	}
	s.putPerson(w, r, in.person(), http.StatusCreated)
}

func (s *Server) updatePerson(w http.ResponseWriter, r *http.Request) {
	var in personInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if in.ID != "" && in.ID != id {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "id", "id %q differs from the path's %q", in.ID, id))
		return
	}
	in.ID = id
	old, err := s.st.Person(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Facility == "" {
		in.Facility = old.Facility
	}
	s.putPerson(w, r, in.person(), http.StatusOK)
}

func (s *Server) putPerson(w http.ResponseWriter, r *http.Request, p store.Person, status int) {
	if err := s.st.PutPerson(r.Context(), actor(r), p); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Reload()
	stored, err := s.st.Person(r.Context(), p.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, status, viewPerson(stored))
}

type personDetail struct {
	Person          personView     `json:"person"`
	Photos          []photoView    `json:"photos"`
	Templates       []templateView `json:"templates"`
	Permits         []permitView   `json:"permits"`
	RecentSightings []sightingView `json:"recent_sightings"`
}

func (s *Server) person(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), r.PathValue("id")
	p, err := s.st.Person(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := personDetail{Person: viewPerson(p), Photos: []photoView{}, Templates: []templateView{}, Permits: []permitView{}}
	photos, err := s.st.Photos(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, ph := range photos {
		d.Photos = append(d.Photos, photoView{ID: ph.ID, SHA256: ph.SHA256, Bytes: ph.Size, Source: ph.Source, CreatedAt: ph.EnrolledAt.UTC()})
	}
	tis, err := s.st.TemplateInfos(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, t := range tis {
		d.Templates = append(d.Templates, templateView{ID: t.ID, Model: string(t.Model), Dim: t.Dim, Quality: t.Quality,
			Source: t.Source, Photo: t.PhotoID, CreatedAt: t.EnrolledAt.UTC(), CreatedBy: t.EnrolledBy})
	}
	permits, err := s.st.Permits(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, pm := range permits {
		d.Permits = append(d.Permits, viewPermit(pm))
	}
	sgs, _, err := s.st.Sightings(ctx, store.SightingQuery{PersonID: id, Limit: recentSightings})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.RecentSightings = s.viewSightings(ctx, sgs)
	webui.WriteJSON(w, http.StatusOK, d)
}

type removedView struct {
	Templates  int64 `json:"templates"`
	Photos     int64 `json:"photos"`
	Crops      int64 `json:"crops"`
	Permits    int64 `json:"permits"`
	KeepAparts int64 `json:"keep_aparts"`
}

func (s *Server) removePerson(w http.ResponseWriter, r *http.Request) {
	rm, err := s.st.RemovePerson(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Reload()
	webui.WriteJSON(w, http.StatusOK, removedView{Templates: rm.Templates, Photos: rm.Photos, Crops: rm.Crops,
		Permits: rm.Permits, KeepAparts: rm.KeepAparts})
}

func (s *Server) photo(w http.ResponseWriter, r *http.Request) {
	ctx, id, photo := r.Context(), r.PathValue("id"), r.PathValue("photo")
	// The photo must be this person's: the path names both.
	infos, err := s.st.Photos(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !slices.ContainsFunc(infos, func(p store.PhotoInfo) bool { return p.ID == photo }) {
		s.fail(w, r, webui.Errorf(http.StatusNotFound, "", "person %q has no photo %q", id, photo))
		return
	}
	img, err := s.st.Photo(ctx, actor(r), photo)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeImage(w, img)
}

func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), r.PathValue("id")
	form, err := webui.ReadUploads(w, r, "photo", webui.MaxUploadFiles, webui.MaxUploadTotal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.st.Person(ctx, id); err != nil {
		s.fail(w, r, err)
		return
	}
	photos := form.Files
	if cam := form.Values["camera"]; cam != "" {
		if _, err := s.cameraView(ctx, cam); err != nil {
			s.fail(w, r, err)
			return
		}
		jpg, at, ok := s.d.Snapshot(cam)
		if !ok {
			s.fail(w, r, webui.Errorf(http.StatusConflict, "camera", "camera %q has no picture yet", cam))
			return
		}
		if err := s.st.Audit(ctx, actor(r), "snapshot.read", "camera:"+cam, `{"purpose":"enrol","person":`+strconv.Quote(id)+`}`); err != nil {
			s.fail(w, r, err)
			return
		}
		photos = append(photos, Upload{Name: cam + "-" + at.UTC().Format("20060102T150405Z") + ".jpg", Data: jpg})
	}
	if len(photos) == 0 {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "photo", "send one or more photo files, or a camera"))
		return
	}
	for _, p := range photos {
		if err := webui.CheckImage(p.Data, "photo"); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	results, err := s.d.Enroll(ctx, actor(r), enroll.Profile{ID: id}, photos)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Reload()
	out := make([]enrolResultView, 0, len(results))
	for i, res := range results {
		file := res.Image
		if i < len(photos) {
			file = photos[i].Name
		}
		out = append(out, enrolResultView{File: file, Status: string(res.Status), Reason: res.Reason,
			Template: res.TemplateID, Quality: res.Quality, SimilarTo: res.SimilarTo, Score: res.Score})
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"results": out})
}

type boxView struct {
	X float32 `json:"x"`
	Y float32 `json:"y"`
	W float32 `json:"w"`
	H float32 `json:"h"`
}

type matchView struct {
	Person string  `json:"person"`
	Name   string  `json:"name"`
	Score  float32 `json:"score"`
}

type faceView struct {
	Box     boxView     `json:"box"`
	Quality float32     `json:"quality"`
	Usable  bool        `json:"usable"`
	Reason  string      `json:"reason"`
	Matches []matchView `json:"matches"`
}

// recognizeMaxSide bounds the picture handed to recognition.
const recognizeMaxSide = 1920

func (s *Server) recognize(w http.ResponseWriter, r *http.Request) {
	form, err := webui.ReadUploads(w, r, "image", 1, webui.MaxUploadFile+(64<<10))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(form.Files) != 1 {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "image", "send exactly one image file"))
		return
	}
	data := form.Files[0].Data
	if err := webui.CheckImage(data, "image"); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	// Searching by photo is a biometric read, audited before it happens.
	if err := s.st.Audit(ctx, actor(r), "search.photo", "upload:"+form.Files[0].Name, ""); err != nil {
		s.fail(w, r, err)
		return
	}
	img, err := s.d.Decode(data, recognizeMaxSide)
	if err != nil {
		s.fail(w, r, webui.Errorf(http.StatusUnsupportedMediaType, "image", "the image could not be decoded"))
		return
	}
	faces, err := s.d.Recognize(ctx, img)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n := s.names()
	out := make([]faceView, 0, len(faces))
	for _, f := range faces {
		fv := faceView{Box: boxView{f.Box.X, f.Box.Y, f.Box.W, f.Box.H}, Quality: f.Quality, Usable: f.Usable,
			Reason: f.Reason, Matches: []matchView{}}
		for _, m := range f.Matches {
			fv.Matches = append(fv.Matches, matchView{Person: m.Person, Name: n.of(ctx, m.Person), Score: m.Score})
		}
		out = append(out, fv)
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"faces": out})
}
