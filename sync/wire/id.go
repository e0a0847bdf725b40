package wire

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// ID identifies one event, alert, decision or audit record. On the wire it
// is the canonical 36-character UUID text; the other spellings a lax parser
// accepts (braces, urn:uuid:, no hyphens) are refused so that one ID has one
// spelling in every database downstream. The zero ID means "missing".
type ID uuid.UUID

// NewID returns a fresh version 7 UUID: time-ordered, so the region's
// indexes on event IDs stay append-mostly.
func NewID() (ID, error) {
	u, err := uuid.NewV7()
	if err != nil {
		return ID{}, fmt.Errorf("new event ID: %w", err)
	}
	return ID(u), nil
}

// MustNewID is NewID for tests and examples; it panics when the system's
// random source fails.
func MustNewID() ID {
	id, err := NewID()
	if err != nil {
		panic(err)
	}
	return id
}

var errIDForm = errors.New("want a UUID in canonical form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")

// ParseID parses the canonical 36-character form (either letter case).
func ParseID(s string) (ID, error) {
	if len(s) != 36 {
		return ID{}, errIDForm
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return ID{}, errIDForm
	}
	return ID(u), nil
}

// IsZero reports the missing ID.
func (id ID) IsZero() bool { return id == ID{} }

// String is the canonical lower-case form.
func (id ID) String() string { return uuid.UUID(id).String() }

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseID's rules.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
