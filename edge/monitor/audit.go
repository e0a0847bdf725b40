package monitor

import (
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webui"
)

// auditTime is how an audit entry's time is written: RFC 3339 with the
// milliseconds the hash covers.
const auditTime = "2006-01-02T15:04:05.000Z07:00"

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	aq, err := parseAuditQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	es, err := s.st.QueryAudit(r.Context(), aq)
	writeList(s, w, r, "entries", es, err, func(e store.AuditEntry) auditView {
		return auditView{Seq: e.Seq, At: e.At.UTC().Format(auditTime), AtMs: e.At.UnixMilli(), Actor: e.Actor,
			Action: e.Action, Object: e.Object, Detail: e.Detail, Prev: hex.EncodeToString(e.PrevHash[:]),
			Hash: hex.EncodeToString(e.Hash[:])}
	})
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
		webui.WriteJSON(w, http.StatusOK, verifyView{BrokenAt: ce.Seq, Error: ce.Error()})
	case err != nil:
		s.fail(w, r, err)
	default:
		webui.WriteJSON(w, http.StatusOK, verifyView{OK: true, Entries: head.Seq, Head: hex.EncodeToString(head.Hash[:])})
	}
}
