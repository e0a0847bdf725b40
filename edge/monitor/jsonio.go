package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/dozor-edge/dozor/edge/store"
)

// maxJSONBody caps a JSON request body.
const maxJSONBody = 64 << 10

// apiError is an error with the status and the JSON body it is answered
// with.
type apiError struct {
	Status int
	Msg    string
	Field  string
}

func (e *apiError) Error() string { return e.Msg }

func errorf(status int, field, format string, args ...any) *apiError {
	return &apiError{Status: status, Msg: fmt.Sprintf(format, args...), Field: field}
}

// errorBody is every error's JSON form.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// fail answers err as JSON: an *apiError with its own status, the store's
// typed errors with theirs, anything else as a 500 whose details go to
// the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var ie *store.InvalidError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ie):
		ae = errorf(http.StatusBadRequest, jsonField(ie.Field), "%s %s", ie.Field, ie.Reason)
	case errors.Is(err, store.ErrInvalid):
		ae = errorf(http.StatusBadRequest, "", "%v", err)
	case errors.Is(err, store.ErrNotFound):
		ae = errorf(http.StatusNotFound, "", "not found")
	case errors.Is(err, store.ErrAlreadyDecided):
		ae = errorf(http.StatusConflict, "", "the alert is already decided")
	case errors.Is(err, store.ErrAlreadyAcknowledged):
		ae = errorf(http.StatusConflict, "", "the alert is acknowledged by another account")
	case errors.Is(err, store.ErrNotAcknowledged):
		ae = errorf(http.StatusConflict, "", "acknowledge the alert before deciding")
	case errors.Is(err, store.ErrExists):
		ae = errorf(http.StatusConflict, "", "already exists")
	default:
		s.log.Error("monitor request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = errorf(http.StatusInternalServerError, "", "internal error")
	}
	writeJSON(w, ae.Status, errorBody{Error: ae.Msg, Field: ae.Field})
}

// jsonField turns a field as the store names it ("display name") into the
// API's JSON name ("name").
func jsonField(f string) string {
	switch f {
	case "display name":
		return "name"
	case "note":
		return "reason"
	}
	return strings.ReplaceAll(f, " ", "_")
}

// decodeJSON reads one JSON value from the body into v strictly: at most
// maxJSONBody bytes, no unknown fields, nothing after the value.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "", "the body is larger than %d bytes", maxJSONBody)
		}
		return errorf(http.StatusBadRequest, "", "reading the body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(http.StatusBadRequest, "", "the body holds more than one JSON value")
	}
	return nil
}

// jsonError describes a decoding error, naming the field where one is
// known.
func jsonError(err error) *apiError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "", "the body is empty: a JSON object is required")
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "", "malformed JSON: %v", err)
	case errors.As(err, &te):
		return errorf(http.StatusBadRequest, te.Field, "%s must be of JSON type %s", te.Field, te.Type)
	}
	// encoding/json names an unknown field only in its message.
	if quoted, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, uerr := strconv.Unquote(quoted)
		if uerr != nil {
			name = strings.Trim(quoted, `"`)
		}
		return errorf(http.StatusBadRequest, name, "unknown field %q", name)
	}
	return errorf(http.StatusBadRequest, "", "invalid JSON: %v", err)
}
