package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// User is an account of the region's dashboard. The store keeps the
// password hash the caller made and never sees a password; roles are
// the dashboard's words, checked there.
type User struct {
	Name string
	Role string
	Lang string // "ru" or "en"
	// PasswordHash is a PHC string ("$argon2id$v=19$...").
	PasswordHash string
	Disabled     bool
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt, UpdatedAt time.Time
}

// Users is the accounts part of the store.
type Users interface {
	// PutUser creates the account or replaces the one of that name
	// (keeping its CreatedAt).
	PutUser(ctx context.Context, u User) error
	// User returns the account name (ErrNotFound).
	User(ctx context.Context, name string) (User, error)
	// Users lists the accounts by name.
	Users(ctx context.Context) ([]User, error)
	// DeleteUser removes the account name (ErrNotFound).
	DeleteUser(ctx context.Context, name string) error
}

func (u User) validate() error {
	switch {
	case u.Name == "" || len(u.Name) > 64 || !utf8.ValidString(u.Name) || strings.ContainsAny(u.Name, " \t\r\n"):
		return fmt.Errorf("user: name %q: want 1 to 64 bytes of UTF-8 without spaces", u.Name)
	case u.Role == "" || len(u.Role) > 32:
		return fmt.Errorf("user %s: role %q: want 1 to 32 bytes", u.Name, u.Role)
	case u.Lang != "ru" && u.Lang != "en":
		return fmt.Errorf("user %s: lang %q: want ru or en", u.Name, u.Lang)
	case !strings.HasPrefix(u.PasswordHash, "$argon2id$") || len(u.PasswordHash) > 512:
		return fmt.Errorf("user %s: password hash: want an argon2id PHC string", u.Name)
	}
	return nil
}

func (s *db) PutUser(ctx context.Context, u User) error {
	if err := u.validate(); err != nil {
		return fmt.Errorf("region store: %w", err)
	}
	now := nanos(s.opt.Now())
	_, err := s.w.ExecContext(ctx, s.d.bind(`INSERT INTO users (name, role, lang, password_hash, disabled, created_ns, updated_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET role = excluded.role, lang = excluded.lang,
		password_hash = excluded.password_hash, disabled = excluded.disabled, updated_ns = excluded.updated_ns`),
		u.Name, u.Role, u.Lang, u.PasswordHash, u.Disabled, now, now)
	if err != nil {
		return fmt.Errorf("region store: put user %s: %w", u.Name, err)
	}
	return nil
}

const userColumns = `SELECT name, role, lang, password_hash, disabled, created_ns, updated_ns FROM users`

func scanUser(r interface{ Scan(...any) error }) (User, error) {
	var u User
	var created, updated int64
	err := r.Scan(&u.Name, &u.Role, &u.Lang, &u.PasswordHash, &u.Disabled, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromNanos(created), fromNanos(updated)
	return u, err
}

func (s *db) User(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, s.d.bind(userColumns+` WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("region store: user %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("region store: user %s: %w", name, err)
	}
	return u, nil
}

func (s *db) Users(ctx context.Context) ([]User, error) {
	out, err := queryAll(ctx, s, func(r *sql.Rows) (User, error) { return scanUser(r) }, userColumns+` ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("region store: users: %w", err)
	}
	return out, nil
}

func (s *db) DeleteUser(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, s.d.bind(`DELETE FROM users WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("region store: delete user %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("region store: delete user %s: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("region store: delete user %s: %w", name, ErrNotFound)
	}
	return nil
}
