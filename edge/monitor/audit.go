package monitor

import (
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/dozor-edge/dozor/edge/store"
)

// auditTime is how an audit entry's time is written: RFC 3339 with the
// milliseconds the hash covers.
const auditTime = "2006-01-02T15:04:05.000Z07:00"

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	aq := store.AuditQuery{Actor: q.Get("actor"), Action: q.Get("action"), Object: q.Get("object")}
	var err error
	if aq.Limit, err = queryLimit(r, 200, 1000); err != nil {
		s.fail(w, r, err)
		return
	}
	if v := q.Get("after"); v != "" {
		if aq.AfterSeq, err = strconv.ParseUint(v, 10, 64); err != nil {
			s.fail(w, r, errorf(http.StatusBadRequest, "after", "after must be a sequence number"))
			return
		}
	}
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"from", &aq.From}, {"to", &aq.To}} {
		if v := q.Get(f.name); v != "" {
			if *f.to, err = time.Parse(time.RFC3339, v); err != nil {
				s.fail(w, r, errorf(http.StatusBadRequest, f.name, "%s must be an RFC 3339 time", f.name))
				return
			}
		}
	}
	es, err := s.st.QueryAudit(r.Context(), aq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]auditView, 0, len(es))
	for _, e := range es {
		out = append(out, auditView{Seq: e.Seq, At: e.At.UTC().Format(auditTime), AtMs: e.At.UnixMilli(), Actor: e.Actor,
			Action: e.Action, Object: e.Object, Detail: e.Detail, Prev: hex.EncodeToString(e.PrevHash[:]),
			Hash: hex.EncodeToString(e.Hash[:])})
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
}

type verifyView struct {
	OK       bool   `json:"ok"`
	Entries  uint64 `json:"entries"`
	Head     string `json:"head"`
	BrokenAt uint64 `json:"broken_at,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) {
	head, err := s.st.VerifyAudit(r.Context())
	var ce *store.AuditChainError
	switch {
	case errors.As(err, &ce):
		writeJSON(w, http.StatusOK, verifyView{BrokenAt: ce.Seq, Error: ce.Error()})
	case err != nil:
		s.fail(w, r, err)
	default:
		writeJSON(w, http.StatusOK, verifyView{OK: true, Entries: head.Seq, Head: hex.EncodeToString(head.Hash[:])})
	}
}
