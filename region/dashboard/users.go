package dashboard

import (
	"context"
	"fmt"
	"slices"

	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/region/store"
)

// AddUser creates the account name, or replaces the one of that name,
// with role, lang and password (hashed with argon2id here; the store
// never sees it). Each argument is checked and a bad one named.
func AddUser(ctx context.Context, st store.Users, name, role, lang, password string) error {
	if err := webauth.CheckName(name); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	if !slices.Contains(Roles, role) {
		return fmt.Errorf("role: %q is not one of %v", role, Roles)
	}
	if !slices.Contains(langs, lang) {
		return fmt.Errorf("lang: %q is not one of %v", lang, langs)
	}
	if err := webauth.PasswordPolicy(password); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	hash, err := webauth.HashPassword(password)
	if err != nil {
		return err
	}
	return st.PutUser(ctx, store.User{Name: name, Role: role, Lang: lang, PasswordHash: hash})
}
