package dashboard

import (
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/internal/webui"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/wire"
)

// maxJSONBody caps a JSON request body.
const maxJSONBody = 16 << 10

// fail answers err as JSON: a *webui.Error with its status, a missing
// object as 404, the store's refusals as storeError says, anything else
// as a 500 whose details go to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	err = storeError(err)
	var ae *webui.Error
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = webui.Errorf(http.StatusNotFound, "", "not found")
	default:
		s.log.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = webui.Errorf(http.StatusInternalServerError, "", "internal error")
	}
	webui.WriteError(w, ae)
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return webui.DecodeJSON(w, r, v, maxJSONBody)
}

// query reads the URL's parameters, remembering the first bad one.
type query struct {
	r   *http.Request
	err error
}

func (q *query) str(name string, maxLen int) string {
	v := q.r.URL.Query().Get(name)
	if len(v) > maxLen && q.err == nil {
		q.err = webui.Errorf(http.StatusBadRequest, name, "%s is longer than %d bytes", name, maxLen)
	}
	return v
}

func (q *query) int(name string, def, lo, hi int) int {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if (err != nil || n < lo || n > hi) && q.err == nil {
		q.err = webui.Errorf(http.StatusBadRequest, name, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return n
}

func (q *query) time(name string) time.Time {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil && q.err == nil {
		q.err = webui.Errorf(http.StatusBadRequest, name, "%s must be an RFC 3339 time", name)
	}
	return t
}

func (q *query) bool(name string) bool {
	switch v := q.r.URL.Query().Get(name); v {
	case "", "0", "false":
		return false
	case "1", "true":
		return true
	}
	if q.err == nil {
		q.err = webui.Errorf(http.StatusBadRequest, name, "%s must be true or false", name)
	}
	return false
}

// Accounts.

type userView struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Lang     string `json:"lang"`
	Disabled bool   `json:"disabled"`
}

type sessionView struct {
	User userView `json:"user"`
	CSRF string   `json:"csrf"`
}

func viewUser(u webauth.User) userView {
	return userView{Name: u.Name, Role: u.Role, Lang: u.Lang, Disabled: u.Disabled}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := s.acc.CheckOrigin(r); err != nil {
		s.fail(w, r, webui.Errorf(http.StatusForbidden, "", "%v", err))
		return
	}
	var in struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case in.User == "":
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "user", "user is required"))
		return
	case in.Password == "":
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "password", "password is required"))
		return
	}
	ss, err := s.acc.Login(r.Context(), in.User, in.Password, r.RemoteAddr)
	var le *webauth.LimitedError
	switch {
	case errors.As(err, &le):
		secs := max(int(le.RetryAfter.Seconds()+0.999), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.fail(w, r, webui.Errorf(http.StatusTooManyRequests, "", "too many failed logins: try again in %d s", secs))
		return
	case errors.Is(err, webauth.ErrBadCredentials):
		s.fail(w, r, webui.Errorf(http.StatusUnauthorized, "", "wrong user name or password"))
		return
	case errors.Is(err, webauth.ErrDisabled):
		s.fail(w, r, webui.Errorf(http.StatusForbidden, "", "the account is disabled"))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.acc.SetCookie(w, ss)
	webui.WriteJSON(w, http.StatusOK, sessionView{User: viewUser(ss.User), CSRF: ss.CSRF})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.acc.Logout(r); err != nil {
		s.log.Warn("dashboard logout", "err", err)
	}
	s.acc.ClearCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	ss := webauth.FromContext(r.Context())
	webui.WriteJSON(w, http.StatusOK, sessionView{User: viewUser(ss.User), CSRF: ss.CSRF})
}

// patchMe changes the account's language.
func (s *Server) patchMe(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Lang string `json:"lang"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if !slices.Contains(langs, in.Lang) {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "lang", "lang must be one of %v", langs))
		return
	}
	ss := webauth.FromContext(r.Context())
	u, err := s.st.User(r.Context(), ss.User.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u.Lang = in.Lang
	if err := s.st.PutUser(r.Context(), u); err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, http.StatusOK, sessionView{User: viewUser(authUser(u)), CSRF: ss.CSRF})
}

func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	list, err := s.st.Users(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]userView, len(list))
	for i, u := range list {
		out[i] = viewUser(authUser(u))
	}
	webui.WriteJSON(w, http.StatusOK, out)
}

// Facilities.

type gapView struct {
	From        uint64    `json:"from"`
	To          uint64    `json:"to"`
	FirstSeen   time.Time `json:"first_seen"`
	Requested   int       `json:"requested"`
	LastRequest time.Time `json:"last_request,omitzero"`
}

type cameraView struct {
	Site   string    `json:"site"`
	Camera string    `json:"camera"`
	State  string    `json:"state"`
	FPS    float64   `json:"fps"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

type siteView struct {
	ID            string    `json:"id"`
	State         string    `json:"state"`
	Online        bool      `json:"online"`
	Version       string    `json:"version,omitempty"`
	StatusAt      time.Time `json:"status_at,omitzero"`
	LastSeen      time.Time `json:"last_seen,omitzero"`
	CamerasUp     int       `json:"cameras_up"`
	CamerasTotal  int       `json:"cameras_total"`
	OutboxDepth   int       `json:"outbox_depth"`
	Reason        string    `json:"reason,omitempty"`
	HighestSeq    uint64    `json:"highest_seq"`
	ContiguousSeq uint64    `json:"contiguous_seq"`
	OpenGaps      int       `json:"open_gaps"`
	Missing       uint64    `json:"missing"`
	// GalleryRevision is the gallery revision in force at the site,
	// absent before its first applied revision.
	GalleryRevision uint64       `json:"gallery_revision,omitempty"`
	Gaps            []gapView    `json:"gaps"`
	Cameras         []cameraView `json:"cameras"`
}

func (s *Server) sites(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	list, err := s.st.Sites(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]siteView, 0, len(list))
	for _, st := range list {
		v := siteView{
			ID: st.ID, State: st.State, Online: st.State == wire.SiteOnline, Version: st.Version,
			StatusAt: st.StatusAt, LastSeen: st.LastSeen, CamerasUp: st.CamerasUp, CamerasTotal: st.CamerasTotal,
			OutboxDepth: st.OutboxDepth, Reason: st.Reason, HighestSeq: st.HighestSeq, ContiguousSeq: st.ContiguousSeq,
			OpenGaps: st.OpenGaps, Missing: st.Missing, GalleryRevision: st.GalleryRevision, Gaps: []gapView{}, Cameras: []cameraView{},
		}
		if st.OpenGaps > 0 {
			gaps, err := s.st.Gaps(ctx, st.ID)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			for _, g := range gaps {
				v.Gaps = append(v.Gaps, gapView{From: g.From, To: g.To, FirstSeen: g.FirstSeen, Requested: g.Requested, LastRequest: g.LastRequest})
			}
		}
		cams, err := s.st.Cameras(ctx, st.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, c := range cams {
			v.Cameras = append(v.Cameras, cameraView{Site: c.Site, Camera: c.Camera, State: c.State, FPS: c.FPS, At: c.At, Reason: c.Reason})
		}
		out = append(out, v)
	}
	webui.WriteJSON(w, http.StatusOK, out)
}

type countView struct {
	Site      string    `json:"site"`
	Start     time.Time `json:"start"`
	Sightings int       `json:"sightings"`
	Alerts    int       `json:"alerts"`
	Confirmed int       `json:"confirmed"`
	Rejected  int       `json:"rejected"`
}

// counts answers the events per site per bucket of the last hours
// (default 24, bucket default an hour, at most 2000 buckets).
func (s *Server) counts(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	hours := q.int("hours", 24, 1, 24*90)
	bucket := q.int("bucket", 3600, 60, 7*86400)
	if q.err == nil && hours*3600/bucket > 2000 {
		q.err = webui.Errorf(http.StatusBadRequest, "bucket", "hours/bucket gives more than 2000 buckets")
	}
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	b := time.Duration(bucket) * time.Second
	to := s.now().UTC().Truncate(b).Add(b)
	from := to.Add(-time.Duration(hours) * time.Hour)
	list, err := s.st.Counts(r.Context(), from, to, b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]countView, len(list))
	for i, c := range list {
		out[i] = countView{Site: c.Site, Start: c.Start, Sightings: c.Sightings, Alerts: c.Alerts, Confirmed: c.Confirmed, Rejected: c.Rejected}
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "bucket": bucket, "counts": out})
}

// Alerts.

type decisionView struct {
	Alert    string    `json:"alert"`
	Site     string    `json:"site"`
	Decision string    `json:"decision"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Note     string    `json:"note,omitempty"`
}

type alertView struct {
	ID        string         `json:"id"`
	Seq       uint64         `json:"seq"`
	Site      string         `json:"site"`
	Rule      string         `json:"rule"`
	Kind      string         `json:"kind"`
	Severity  string         `json:"severity"`
	Person    string         `json:"person,omitempty"`
	Camera    string         `json:"camera"`
	Zone      string         `json:"zone,omitempty"`
	At        time.Time      `json:"at"`
	Score     float64        `json:"score"`
	Crop      string         `json:"crop,omitempty"`
	Decisions []decisionView `json:"decisions"`
	// LatencyS is how many seconds the first decision took; absent while
	// undecided.
	LatencyS *float64 `json:"latency_s,omitempty"`
}

func viewAlert(a store.Alert) alertView {
	v := alertView{ID: a.ID.String(), Seq: a.Seq, Site: a.Site, Rule: a.Rule, Kind: a.Kind, Severity: a.Severity,
		Person: a.Person, Camera: a.Camera, Zone: a.Zone, At: a.At, Score: a.Score, Crop: a.Crop, Decisions: []decisionView{}}
	for _, d := range a.Decisions {
		v.Decisions = append(v.Decisions, decisionView{Alert: d.Alert.String(), Site: d.Site, Decision: d.Decision, By: d.By, At: d.At, Note: d.Note})
	}
	if len(a.Decisions) > 0 {
		l := a.Latency.Seconds()
		v.LatencyS = &l
	}
	return v
}

func (s *Server) alerts(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	aq := store.AlertQuery{Site: q.str("site", 128), Person: q.str("person", 128), From: q.time("from"), To: q.time("to"),
		Undecided: q.bool("undecided"), Limit: q.int("limit", 100, 1, 1000)}
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	list, err := s.st.Alerts(r.Context(), aq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]alertView, len(list))
	for i, a := range list {
		out[i] = viewAlert(a)
	}
	webui.WriteJSON(w, http.StatusOK, out)
}

type latencyView struct {
	Site      string  `json:"site"`
	Decided   int     `json:"decided"`
	Open      int     `json:"open"`
	MedianS   float64 `json:"median_s"`
	P90S      float64 `json:"p90_s"`
	MaxS      float64 `json:"max_s"`
	Confirmed int     `json:"confirmed"`
	Rejected  int     `json:"rejected"`
}

// latency answers, per site, how long guards took to decide the alerts
// of the last hours (default 24), and how many are still open.
func (s *Server) latency(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	hours := q.int("hours", 24, 1, 24*90)
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	list, err := s.st.Alerts(r.Context(), store.AlertQuery{From: s.now().Add(-time.Duration(hours) * time.Hour), Limit: 1000})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	by := map[string]*latencyView{}
	lat := map[string][]float64{}
	for _, a := range list {
		v := by[a.Site]
		if v == nil {
			v = &latencyView{Site: a.Site}
			by[a.Site] = v
		}
		if len(a.Decisions) == 0 {
			v.Open++
			continue
		}
		v.Decided++
		switch a.Decisions[0].Decision {
		case wire.DecisionConfirmed:
			v.Confirmed++
		case wire.DecisionRejected:
			v.Rejected++
		}
		lat[a.Site] = append(lat[a.Site], a.Latency.Seconds())
	}
	out := make([]latencyView, 0, len(by))
	for site, v := range by {
		if l := lat[site]; len(l) > 0 {
			sort.Float64s(l)
			v.MedianS, v.P90S, v.MaxS = quantile(l, 0.5), quantile(l, 0.9), l[len(l)-1]
		}
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b latencyView) int {
		if a.Site < b.Site {
			return -1
		}
		if a.Site > b.Site {
			return 1
		}
		return 0
	})
	webui.WriteJSON(w, http.StatusOK, out)
}

// quantile is the nearest-rank quantile of sorted values.
func quantile(sorted []float64, p float64) float64 {
	i := int(p*float64(len(sorted)) + 0.5)
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// Sightings.

type sightingView struct {
	ID      string    `json:"id"`
	Seq     uint64    `json:"seq"`
	Site    string    `json:"site"`
	Camera  string    `json:"camera"`
	Person  string    `json:"person,omitempty"`
	BestAt  time.Time `json:"best_at"`
	Score   float64   `json:"score"`
	Quality float64   `json:"quality"`
	Frames  int       `json:"frames"`
	Crop    string    `json:"crop,omitempty"`
}

func (s *Server) sightings(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	sq := store.SightingQuery{Person: q.str("person", 128), Site: q.str("site", 128), Camera: q.str("camera", 128),
		From: q.time("from"), To: q.time("to"), Limit: q.int("limit", 100, 1, 1000), Cursor: q.str("cursor", 256)}
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	list, next, err := s.st.Sightings(r.Context(), sq)
	if err != nil {
		if sq.Cursor != "" {
			err = webui.Errorf(http.StatusBadRequest, "cursor", "cursor is not one this API gave: %v", err)
		}
		s.fail(w, r, err)
		return
	}
	out := make([]sightingView, len(list))
	for i, g := range list {
		out[i] = sightingView{ID: g.ID.String(), Seq: g.Seq, Site: g.Site, Camera: g.Camera, Person: g.Person,
			BestAt: g.BestAt, Score: g.Score, Quality: g.Quality, Frames: g.Frames, Crop: g.Crop}
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"items": out, "next": next})
}

func (s *Server) crop(w http.ResponseWriter, r *http.Request) {
	sum := r.PathValue("sha256")
	if len(sum) != 64 || !isHex(sum) {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "sha256", "sha256 must be 64 lowercase hex digits"))
		return
	}
	b, err := s.st.Crop(r.Context(), sum)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400, immutable")
	w.Write(b)
}

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Quarantine.

type quarantineView struct {
	Topic    string    `json:"topic"`
	Site     string    `json:"site,omitempty"`
	Seq      uint64    `json:"seq,omitempty"`
	Reason   string    `json:"reason"`
	Received time.Time `json:"received"`
	Bytes    int       `json:"bytes"`
}

func (s *Server) quarantine(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	site, limit := q.str("site", 128), q.int("limit", 100, 1, 1000)
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	list, err := s.st.QuarantinedMessages(r.Context(), site, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]quarantineView, len(list))
	for i, e := range list {
		out[i] = quarantineView{Topic: e.Topic, Site: e.Site, Seq: e.Seq, Reason: e.Reason, Received: e.Received, Bytes: len(e.Raw)}
	}
	webui.WriteJSON(w, http.StatusOK, out)
}
