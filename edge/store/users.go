package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Role is what an account of the guard-post monitor may do.
type Role string

const (
	RoleGuard      Role = "guard"      // watches cameras, takes and decides alerts
	RoleSupervisor Role = "supervisor" // a guard who also manages persons and rules
	RoleAdmin      Role = "admin"      // manages accounts, reads the audit log
	RoleAuditor    Role = "auditor"    // reads the audit log
	RoleInstaller  Role = "installer"  // sets cameras up
)

// Roles lists every valid role.
var Roles = []Role{RoleGuard, RoleSupervisor, RoleAdmin, RoleAuditor, RoleInstaller}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Languages of the monitor's pages.
const (
	LangRussian = "ru"
	LangEnglish = "en"
)

// PasswordHashPrefix starts every password hash the store accepts: the PHC
// string of argon2id.
const PasswordHashPrefix = "$argon2id$"

// maxHashBytes bounds a PHC string; an argon2id one is about a hundred
// bytes.
const maxHashBytes = 512

// User is an account of the guard-post monitor. The store keeps the
// password hash made by the caller and never sees a password.
type User struct {
	Name string
	Role Role
	Lang string // LangRussian or LangEnglish
	// PasswordHash is the PHC string of argon2id ("$argon2id$v=19$...").
	PasswordHash string
	Disabled     bool
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt, UpdatedAt time.Time
}

func (u User) validate() error {
	const what = "user"
	if err := checkID(what, "name", u.Name); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return invalid(what, "role", "%q is not one of %v", u.Role, Roles)
	}
	if u.Lang != LangRussian && u.Lang != LangEnglish {
		return invalid(what, "lang", "%q is not %q or %q", u.Lang, LangRussian, LangEnglish)
	}
	// The hash is never put in a message: it is a secret.
	switch {
	case u.PasswordHash == "":
		return invalid(what, "password hash", "is empty")
	case !strings.HasPrefix(u.PasswordHash, PasswordHashPrefix):
		return invalid(what, "password hash", "is not an argon2id PHC string (it must start with %q)", PasswordHashPrefix)
	case len(u.PasswordHash) > maxHashBytes:
		return invalid(what, "password hash", "is %d bytes long, at most %d are allowed", len(u.PasswordHash), maxHashBytes)
	case strings.ContainsFunc(u.PasswordHash, func(r rune) bool { return r <= ' ' || r > '~' }):
		return invalid(what, "password hash", "contains a character outside printable ASCII")
	}
	return nil
}

// PutUser creates or replaces an account; audited as "user.put" with its
// role, language and whether it is disabled (never the hash). Accounts
// are not biometric data: a writable store needs no more.
func (s *Store) PutUser(ctx context.Context, actor string, u User) error {
	if err := checkID("user", "actor", actor); err != nil {
		return err
	}
	if err := u.validate(); err != nil {
		return err
	}
	return s.write(ctx, "put user "+u.Name, func(tx *sql.Tx) error {
		var existed int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, u.Name).Scan(&existed); err != nil {
			return err
		}
		now := s.nowMs()
		_, err := tx.ExecContext(ctx, `INSERT INTO users (name, role, lang, password_hash, disabled, created_at_ms, updated_at_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET role = excluded.role, lang = excluded.lang,
				password_hash = excluded.password_hash, disabled = excluded.disabled, updated_at_ms = excluded.updated_at_ms`,
			u.Name, string(u.Role), u.Lang, u.PasswordHash, boolInt(u.Disabled), now, now)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actor, "user.put", "user:"+u.Name, map[string]any{
			"created": existed == 0, "role": u.Role, "lang": u.Lang, "disabled": u.Disabled})
	})
}

const userColumns = `name, role, lang, password_hash, disabled, created_at_ms, updated_at_ms`

func scanUser(sc scanner) (User, error) {
	var u User
	var created, updated int64
	err := sc.Scan(&u.Name, &u.Role, &u.Lang, &u.PasswordHash, &u.Disabled, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromMs(created), fromMs(updated)
	return u, err
}

// User returns one account, or an error wrapping ErrNotFound.
func (s *Store) User(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: %w: user %q", ErrNotFound, name)
	}
	if err != nil {
		return User{}, dbErr(s.sqlite, "store: user "+name, err)
	}
	return u, nil
}

// Users returns every account ordered by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	return readRows(ctx, s, "users", []User{}, scanUser, `SELECT `+userColumns+` FROM users ORDER BY name`)
}

// DeleteUser removes an account; audited as "user.delete". An unknown
// name is ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, actor, name string) error {
	if err := checkID("user", "actor", actor); err != nil {
		return err
	}
	if err := checkID("user", "name", name); err != nil {
		return err
	}
	return s.write(ctx, "delete user "+name, func(tx *sql.Tx) error {
		var role string
		err := tx.QueryRowContext(ctx, `DELETE FROM users WHERE name = ? RETURNING role`, name).Scan(&role)
		if err != nil {
			return notFound(err, "user", name)
		}
		return s.appendAudit(ctx, tx, actor, "user.delete", "user:"+name, map[string]string{"role": role})
	})
}
