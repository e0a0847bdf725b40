package webui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Error is an error with the status and the JSON body it is answered
// with.
type Error struct {
	Status int
	Msg    string
	Field  string // the JSON field at fault, if any
}

func (e *Error) Error() string { return e.Msg }

// Errorf makes an *Error.
func Errorf(status int, field, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...), Field: field}
}

// errorBody is every error's JSON form.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// WriteJSON answers v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// WriteError answers e as {"error": ..., "field": ...} with its status.
func WriteError(w http.ResponseWriter, e *Error) {
	WriteJSON(w, e.Status, errorBody{Error: e.Msg, Field: e.Field})
}

// DecodeJSON reads one JSON value from the body into v strictly: at most
// limit bytes, no unknown fields, nothing after the value. Its errors are
// *Error.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Errorf(http.StatusRequestEntityTooLarge, "", "the body is larger than %d bytes", limit)
		}
		return Errorf(http.StatusBadRequest, "", "reading the body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(http.StatusBadRequest, "", "the body holds more than one JSON value")
	}
	return nil
}

// jsonError describes a decoding error, naming the field where one is
// known.
func jsonError(err error) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return Errorf(http.StatusBadRequest, "", "the body is empty: a JSON object is required")
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, "", "malformed JSON: %v", err)
	case errors.As(err, &te):
		return Errorf(http.StatusBadRequest, te.Field, "%s must be of JSON type %s", te.Field, te.Type)
	}
	// encoding/json names an unknown field only in its message.
	if quoted, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, uerr := strconv.Unquote(quoted)
		if uerr != nil {
			name = strings.Trim(quoted, `"`)
		}
		return Errorf(http.StatusBadRequest, name, "unknown field %q", name)
	}
	return Errorf(http.StatusBadRequest, "", "invalid JSON: %v", err)
}
