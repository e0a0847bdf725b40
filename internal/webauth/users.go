package webauth

import (
	"context"
	"errors"
)

// User is an account as the Manager sees it. Role is the caller's word
// for what the account may do; the Manager only compares it with the
// roles a page or endpoint allows.
type User struct {
	Name string
	Role string
	Lang string // the pages' language, "ru" or "en"
	// PasswordHash is the PHC string of argon2id (see HashPassword).
	PasswordHash string
	Disabled     bool
}

// ErrNotFound is what Users.User wraps for a name without an account.
var ErrNotFound = errors.New("no such account")

// Users is what the Manager needs of the accounts' store.
type Users interface {
	// User returns the account name, or an error wrapping ErrNotFound
	// when there is none.
	User(ctx context.Context, name string) (User, error)
	// Audit records one login, failed login or logout (see the Action
	// constants). What a record becomes is the implementation's choice:
	// a row of a tamper-evident table, a log line. A successful login
	// whose record fails is refused.
	Audit(ctx context.Context, actor, action, object, detail string) error
}
