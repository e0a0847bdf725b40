package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dozor-edge/dozor/internal/webui"
	"github.com/dozor-edge/dozor/region/enrol"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/wire"
)

// Input limits of the gallery's profiles and reasons, the store's.
const (
	maxIDLen     = 128
	maxNameLen   = 256
	maxLabelLen  = 128
	maxReasonLen = 512
)

// storeError turns the store's refusals into answers: invalid input a
// 400 naming the field the store names, a state conflict a 409, a store
// without its key a 503.
func storeError(err error) error {
	switch {
	case errors.Is(err, store.ErrInvalid):
		return webui.Errorf(http.StatusBadRequest, invalidField(err.Error()), "%v", err)
	case errors.Is(err, store.ErrConflict):
		return webui.Errorf(http.StatusConflict, "", "%v", err)
	case errors.Is(err, store.ErrNoKey):
		return webui.Errorf(http.StatusServiceUnavailable, "", "%v", err)
	}
	return err
}

// invalidField finds the field in a store validation message ("...:
// invalid input: person.display_name: missing") or an enrolment one
// ("enrol: facility: ...: invalid input"), without its "person." prefix.
func invalidField(msg string) string {
	var f string
	if _, after, ok := strings.Cut(msg, store.ErrInvalid.Error()+": "); ok {
		f, _, _ = strings.Cut(after, ":")
	} else if after, ok := strings.CutPrefix(msg, "enrol: "); ok {
		f, _, _ = strings.Cut(after, ":")
	}
	if strings.ContainsAny(f, " \"") {
		return ""
	}
	return strings.TrimPrefix(f, "person.")
}

// checkToken checks a printable one-line value of at most maxLen bytes;
// spaces inside are allowed only when spaces is true.
func checkToken(field, v string, maxLen int, spaces bool) error {
	switch {
	case v == "":
		return webui.Errorf(http.StatusBadRequest, field, "%s is required", field)
	case len(v) > maxLen:
		return webui.Errorf(http.StatusBadRequest, field, "%s is longer than %d bytes", field, maxLen)
	case !utf8.ValidString(v):
		return webui.Errorf(http.StatusBadRequest, field, "%s is not valid UTF-8", field)
	case strings.TrimSpace(v) != v:
		return webui.Errorf(http.StatusBadRequest, field, "%s has leading or trailing spaces", field)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) || (!spaces && unicode.IsSpace(r)) {
			return webui.Errorf(http.StatusBadRequest, field, "%s contains the character %U, which is not allowed", field, r)
		}
	}
	return nil
}

func checkPersonID(field, v string) error { return checkToken(field, v, maxIDLen, false) }

func checkSite(field, v string) error {
	if v == "" {
		return webui.Errorf(http.StatusBadRequest, field, "%s is required", field)
	}
	if err := wire.ValidateSegment(v); err != nil {
		return webui.Errorf(http.StatusBadRequest, field, "%s: %v", field, err)
	}
	return nil
}

func checkLabels(field string, v []string) error {
	if len(v) > store.MaxLabels {
		return webui.Errorf(http.StatusBadRequest, field, "%s has %d entries, at most %d", field, len(v), store.MaxLabels)
	}
	for i, l := range v {
		if err := checkToken(field, l, maxLabelLen, true); err != nil {
			return err
		}
		if slices.Index(v, l) != i {
			return webui.Errorf(http.StatusBadRequest, field, "%s holds %q twice", field, l)
		}
	}
	return nil
}

// checkReason checks a required free-text reason.
func checkReason(field, v string) error {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return webui.Errorf(http.StatusBadRequest, field, "%s is required", field)
	case len(v) > maxReasonLen:
		return webui.Errorf(http.StatusBadRequest, field, "%s is longer than %d bytes", field, maxReasonLen)
	case !utf8.ValidString(v):
		return webui.Errorf(http.StatusBadRequest, field, "%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return webui.Errorf(http.StatusBadRequest, field, "%s contains the control character %U", field, r)
		}
	}
	return nil
}

// splitLabels reads a comma-separated form field.
func splitLabels(v string) []string {
	var out []string
	for l := range strings.SplitSeq(v, ",") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Persons.

type personView struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"display_name"`
	Categories  []string  `json:"categories"`
	WatchLists  []string  `json:"watch_lists"`
	Facility    string    `json:"facility"`
	Status      string    `json:"status"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	Photos      int       `json:"photos"`
	Templates   int       `json:"templates"`
}

func viewPerson(p store.Person) personView {
	return personView{ID: p.ID, DisplayName: p.DisplayName, Categories: nonNil(p.Categories), WatchLists: nonNil(p.WatchLists),
		Facility: p.Facility, Status: p.Status, Created: p.Created, Updated: p.Updated, Photos: p.Photos, Templates: p.Templates}
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

var personStatuses = []string{store.PersonActive, store.PersonInTransit, store.PersonReleased}

func (s *Server) persons(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	pq := store.PersonQuery{Search: q.str("search", maxNameLen), Facility: q.str("facility", 128), Status: q.str("status", 32),
		Limit: q.int("limit", 100, 1, 1000), Cursor: q.str("cursor", 256)}
	if q.err == nil && pq.Status != "" && !slices.Contains(personStatuses, pq.Status) {
		q.err = webui.Errorf(http.StatusBadRequest, "status", "status must be one of %v", personStatuses)
	}
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	list, next, err := s.st.Persons(r.Context(), pq)
	if err != nil {
		if pq.Cursor != "" {
			err = webui.Errorf(http.StatusBadRequest, "cursor", "cursor is not one this API gave: %v", err)
		}
		s.fail(w, r, err)
		return
	}
	out := make([]personView, len(list))
	for i, p := range list {
		out[i] = viewPerson(p)
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"items": out, "next": next})
}

type photoView struct {
	SHA256  string    `json:"sha256"`
	Source  string    `json:"source"`
	AddedBy string    `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
	Bytes   int       `json:"bytes"`
}

type templateView struct {
	PhotoSHA256 string    `json:"photo_sha256"`
	Model       string    `json:"model"`
	Dim         int       `json:"dim"`
	Quality     float32   `json:"quality"`
	Source      string    `json:"source"`
	AddedAt     time.Time `json:"added_at"`
}

type personDetail struct {
	Person    personView     `json:"person"`
	Photos    []photoView    `json:"photos"`
	Templates []templateView `json:"templates"`
	Transfers []transferView `json:"transfers"`
}

// person answers a person's profile, the metadata of their photos and
// templates (an audited read of their biometrics) and their transfers.
func (s *Server) person(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := checkPersonID("id", id); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.st.Person(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	photos, templates, err := s.st.PersonBiometrics(ctx, actor(r), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	transfers, err := s.st.Transfers(ctx, store.TransferQuery{Person: id, Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := personDetail{Person: viewPerson(p), Photos: []photoView{}, Templates: []templateView{}, Transfers: []transferView{}}
	for _, ph := range photos {
		out.Photos = append(out.Photos, photoView{SHA256: ph.SHA256, Source: ph.Source, AddedBy: ph.AddedBy, AddedAt: ph.AddedAt, Bytes: len(ph.JPEG)})
	}
	for _, t := range templates {
		out.Templates = append(out.Templates, templateView{PhotoSHA256: t.PhotoSHA256, Model: t.Model, Dim: len(t.Vec),
			Quality: t.Quality, Source: t.Source, AddedAt: t.AddedAt})
	}
	for _, t := range transfers {
		out.Transfers = append(out.Transfers, viewTransfer(t))
	}
	webui.WriteJSON(w, http.StatusOK, out)
}

// putPerson edits a held person's profile. The facility stays as it is
// unless the person has none: moving a person is a transfer.
func (s *Server) putPerson(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := checkPersonID("id", id); err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		DisplayName string    `json:"display_name"`
		Categories  *[]string `json:"categories"`
		WatchLists  *[]string `json:"watch_lists"`
		Status      string    `json:"status"`
		Facility    string    `json:"facility"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.st.Person(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.DisplayName != "" {
		if err := checkToken("display_name", in.DisplayName, maxNameLen, true); err != nil {
			s.fail(w, r, err)
			return
		}
		p.DisplayName = in.DisplayName
	}
	for _, l := range []struct {
		field string
		in    *[]string
		out   *[]string
	}{{"categories", in.Categories, &p.Categories}, {"watch_lists", in.WatchLists, &p.WatchLists}} {
		if l.in == nil {
			continue
		}
		if err := checkLabels(l.field, *l.in); err != nil {
			s.fail(w, r, err)
			return
		}
		*l.out = *l.in
	}
	switch in.Status {
	case "":
	case store.PersonActive, store.PersonReleased:
		if p.Status == store.PersonInTransit {
			s.fail(w, r, webui.Errorf(http.StatusConflict, "status", "the person is in transit: finish or cancel the transfer first"))
			return
		}
		p.Status = in.Status
	default:
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "status", "status must be %s or %s (transfers set %s)",
			store.PersonActive, store.PersonReleased, store.PersonInTransit))
		return
	}
	if in.Facility != "" && in.Facility != p.Facility {
		if err := checkSite("facility", in.Facility); err != nil {
			s.fail(w, r, err)
			return
		}
		if p.Facility != "" {
			s.fail(w, r, webui.Errorf(http.StatusConflict, "facility", "the person is held at %s: move them with a transfer", p.Facility))
			return
		}
		p.Facility = in.Facility
	}
	if err := s.st.PutPerson(ctx, actor(r), p); err != nil {
		s.fail(w, r, err)
		return
	}
	if p, err = s.st.Person(ctx, id); err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, http.StatusOK, viewPerson(p))
}

func (s *Server) removePerson(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := checkPersonID("id", id); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.st.RemovePerson(r.Context(), actor(r), id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// photo serves one enrolment photo; the store audits the read under the
// account's name.
func (s *Server) photo(w http.ResponseWriter, r *http.Request) {
	id, sum := r.PathValue("id"), r.PathValue("sha256")
	if err := checkPersonID("id", id); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(sum) != 64 || !isHex(sum) {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "sha256", "sha256 must be 64 lowercase hex digits"))
		return
	}
	b, err := s.st.Photo(r.Context(), actor(r), id, sum)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	// Every view is a read the audit log must see: nothing keeps a copy.
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// Enrolment.

type verdictView struct {
	File      string  `json:"file"`
	Status    string  `json:"status"`
	Reason    string  `json:"reason,omitempty"`
	Faces     int     `json:"faces"`
	Quality   float32 `json:"quality,omitempty"`
	SimilarTo string  `json:"similar_to,omitempty"`
	Score     float32 `json:"score,omitempty"`
	SHA256    string  `json:"sha256,omitempty"`
}

// enrol takes a profile, a facility and up to webui.MaxUploadFiles photos as
// multipart/form-data and answers the verdict of each photo. Every file's
// header is checked before any is decoded.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	if s.d.Enroller == nil {
		s.fail(w, r, webui.Errorf(http.StatusServiceUnavailable, "", "enrolment is not available: regiond runs without a face engine"))
		return
	}
	f, err := webui.ReadUploads(w, r, "photos", webui.MaxUploadFiles, webui.MaxUploadTotal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for k := range f.Values {
		if !slices.Contains([]string{"id", "display_name", "categories", "watch_lists", "facility"}, k) {
			s.fail(w, r, webui.Errorf(http.StatusBadRequest, k, "unknown field %q", k))
			return
		}
	}
	p := enrol.Profile{ID: f.Values["id"], DisplayName: f.Values["display_name"], Facility: f.Values["facility"],
		Categories: splitLabels(f.Values["categories"]), WatchLists: splitLabels(f.Values["watch_lists"])}
	if err := checkProfile(p); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(f.Files) == 0 {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "photos", "photos: send at least one photo file"))
		return
	}
	photos := make([]enrol.Photo, len(f.Files))
	for i, u := range f.Files {
		if err := webui.CheckImage(u.Data, "photos"); err != nil {
			var ae *webui.Error
			if errors.As(err, &ae) {
				ae.Msg = u.Name + ": " + ae.Msg
			}
			s.fail(w, r, err)
			return
		}
		photos[i] = enrol.Photo{Name: u.Name, Data: u.Data}
	}
	results, err := s.d.Enroller.Enrol(r.Context(), actor(r), p, photos)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]verdictView, len(results))
	for i, res := range results {
		out[i] = verdictView{File: res.Image, Status: string(res.Status), Reason: res.Reason, Faces: res.Faces, Quality: res.Quality,
			SimilarTo: res.SimilarTo, Score: res.Score, SHA256: res.SHA256}
		if out[i].File == "" && i < len(photos) {
			out[i].File = photos[i].Name
		}
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"person": p.ID, "results": out})
}

func checkProfile(p enrol.Profile) error {
	if err := checkPersonID("id", p.ID); err != nil {
		return err
	}
	if p.DisplayName != "" {
		if err := checkToken("display_name", p.DisplayName, maxNameLen, true); err != nil {
			return err
		}
	}
	if p.Facility != "" {
		if err := checkSite("facility", p.Facility); err != nil {
			return err
		}
	}
	if err := checkLabels("categories", p.Categories); err != nil {
		return err
	}
	return checkLabels("watch_lists", p.WatchLists)
}

// Site galleries.

type gallerySiteView struct {
	Site    string `json:"site"`
	Issued  uint64 `json:"issued"`
	InForce uint64 `json:"in_force"`
	// Behind counts the revisions issued and not yet acknowledged.
	Behind        uint64    `json:"behind"`
	InStep        bool      `json:"in_step"`
	LastAckStatus string    `json:"last_ack_status,omitempty"`
	LastAckReason string    `json:"last_ack_reason,omitempty"`
	LastAckAt     time.Time `json:"last_ack_at,omitzero"`
	LastSent      uint64    `json:"last_sent"`
	LastSentAt    time.Time `json:"last_sent_at,omitzero"`
	Sends         int       `json:"sends"`
	Members       int       `json:"members"`
	Pending       int       `json:"pending"`
}

func (s *Server) gallerySites(w http.ResponseWriter, r *http.Request) {
	list, err := s.st.GallerySites(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]gallerySiteView, len(list))
	for i, g := range list {
		out[i] = gallerySiteView{Site: g.Site, Issued: g.Issued, InForce: g.InForce, InStep: g.InForce >= g.Issued,
			LastAckStatus: g.LastAckStatus, LastAckReason: g.LastAckReason, LastAckAt: g.LastAckAt,
			LastSent: g.LastSent, LastSentAt: g.LastSentAt, Sends: g.Sends, Members: g.Members, Pending: g.Pending}
		if g.Issued > g.InForce {
			out[i].Behind = g.Issued - g.InForce
		}
	}
	webui.WriteJSON(w, http.StatusOK, out)
}

// Transfers.

type transferView struct {
	ID           string    `json:"id"`
	Person       string    `json:"person"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	State        string    `json:"state"`
	Open         bool      `json:"open"`
	Reason       string    `json:"reason"`
	RequestedBy  string    `json:"requested_by"`
	RequestedAt  time.Time `json:"requested_at"`
	RemovedAt    time.Time `json:"removed_at,omitzero"`
	TransitAt    time.Time `json:"transit_at,omitzero"`
	ActiveAt     time.Time `json:"active_at,omitzero"`
	CancelledBy  string    `json:"cancelled_by,omitempty"`
	CancelledAt  time.Time `json:"cancelled_at,omitzero"`
	CancelReason string    `json:"cancel_reason,omitempty"`
	FromRevision uint64    `json:"from_revision"`
	ToRevision   uint64    `json:"to_revision"`
}

func viewTransfer(t store.Transfer) transferView {
	return transferView{ID: t.ID, Person: t.Person, From: t.From, To: t.To, State: t.State, Open: t.Open(), Reason: t.Reason,
		RequestedBy: t.RequestedBy, RequestedAt: t.RequestedAt, RemovedAt: t.RemovedAt, TransitAt: t.TransitAt, ActiveAt: t.ActiveAt,
		CancelledBy: t.CancelledBy, CancelledAt: t.CancelledAt, CancelReason: t.CancelReason,
		FromRevision: t.FromRevision, ToRevision: t.ToRevision}
}

var transferStates = []string{store.TransferRequested, store.TransferRemovedAtSource, store.TransferInTransit,
	store.TransferActive, store.TransferCancelled}

func (s *Server) transfers(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	tq := store.TransferQuery{Person: q.str("person", maxIDLen), Site: q.str("site", 128), State: q.str("state", 32),
		Open: q.bool("open"), Limit: q.int("limit", 100, 1, 1000)}
	if q.err == nil && tq.State != "" && !slices.Contains(transferStates, tq.State) {
		q.err = webui.Errorf(http.StatusBadRequest, "state", "state must be one of %v", transferStates)
	}
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	list, err := s.st.Transfers(r.Context(), tq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]transferView, len(list))
	for i, t := range list {
		out[i] = viewTransfer(t)
	}
	webui.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) transfer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := wire.ParseID(id); err != nil {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "id", "id must be a transfer's UUID"))
		return
	}
	t, err := s.st.Transfer(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, http.StatusOK, viewTransfer(t))
}

func (s *Server) startTransfer(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Person string `json:"person"`
		To     string `json:"to"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	in.Reason = strings.TrimSpace(in.Reason)
	for _, err := range []error{checkPersonID("person", in.Person), checkSite("to", in.To), checkReason("reason", in.Reason)} {
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	t, err := s.st.StartTransfer(r.Context(), actor(r), in.Person, in.To, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/transfers/"+t.ID)
	webui.WriteJSON(w, http.StatusCreated, viewTransfer(t))
}

func (s *Server) cancelTransfer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := wire.ParseID(id); err != nil {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "id", "id must be a transfer's UUID"))
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if err := checkReason("reason", in.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.st.CancelTransfer(r.Context(), actor(r), id, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	webui.WriteJSON(w, http.StatusOK, viewTransfer(t))
}

// Audit.

type auditView struct {
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Object string    `json:"object"`
	Detail string    `json:"detail"`
	Hash   string    `json:"hash"`
}

// audit lists the region's audit log, newest first; next is the before
// of the following page ("" after the last).
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	aq := store.AuditQuery{Actor: q.str("actor", 128), Action: q.str("action", 128), Object: q.str("object", 256),
		Limit: q.int("limit", 100, 1, 1000)}
	if v := q.str("before", 20); v != "" && q.err == nil {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			q.err = webui.Errorf(http.StatusBadRequest, "before", "before must be a record's seq")
		}
		aq.Before = n
	}
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	list, err := s.st.AuditLog(r.Context(), aq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]auditView, len(list))
	for i, a := range list {
		out[i] = auditView{Seq: a.Seq, At: a.At, Actor: a.Actor, Action: a.Action, Object: a.Object, Detail: a.Detail, Hash: a.Hash}
	}
	next := ""
	if n := len(list); n > 0 && n == aq.Limit && list[n-1].Seq > 1 {
		next = strconv.FormatUint(list[n-1].Seq, 10)
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"items": out, "next": next})
}

// verifyAudit checks the whole chain; a broken chain is an answer, not an
// error: {"ok": false, "error": "..."}.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) {
	head, err := s.st.VerifyAudit(r.Context())
	if err != nil {
		if r.Context().Err() != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Warn("region audit chain does not verify", "err", err)
		webui.WriteJSON(w, http.StatusOK, map[string]any{"ok": false, "head": head, "error": fmt.Sprint(err)})
		return
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{"ok": true, "head": head})
}
