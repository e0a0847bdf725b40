package webauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"time"
)

// tokenBytes is the entropy of session and CSRF tokens.
const tokenBytes = 32

// Secret is a value that must not reach a log or an error message: every
// fmt verb and slog print it as [redacted]. Value returns it.
type Secret string

const redacted = "[redacted]"

// Value returns the secret itself, for the one place that needs it.
func (s Secret) Value() string { return string(s) }

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Secret) Format(f fmt.State, _ rune)   { fmt.Fprint(f, redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Session is one login. A *Session handed out by the Manager is a
// snapshot: changing it changes nothing in the Manager.
type Session struct {
	// Token is the cookie value. The Manager keeps only its hash.
	Token Secret
	// CSRF is the token the browser echoes in X-CSRF-Token on every
	// state change; the page gets it from the login and /me responses.
	CSRF string
	// User is the account as last read from the store, without its
	// password hash.
	User     User
	Created  time.Time
	LastSeen time.Time
	// Addr is the client's address at login.
	Addr string
}

// String names the session's account and never its tokens.
func (s Session) String() string {
	return fmt.Sprintf("session of %s (%s) from %s since %s", s.User.Name, s.User.Role, s.Addr,
		s.Created.UTC().Format(time.RFC3339))
}

// Format prints String for every verb: neither token may reach a log
// through %v, %+v, %#v or any other verb.
func (s Session) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue logs the account, role and address, never the tokens.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", s.User.Name), slog.String("role", s.User.Role),
		slog.String("addr", s.Addr))
}

// tokenKey is the map key of a session: the SHA-256 of its token, so
// that the tokens themselves are not kept in memory where a dump of the
// map would give them away.
type tokenKey [sha256.Size]byte

func keyOf(token string) tokenKey { return sha256.Sum256([]byte(token)) }

// newToken returns a random base64url token of tokenBytes.
func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenLen is the length of a token as newToken writes it.
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

type ctxKey struct{}

// WithSession returns ctx carrying s; the middleware does this.
func WithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// FromContext returns the session the middleware put in ctx, or nil.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(ctxKey{}).(*Session)
	return s
}
