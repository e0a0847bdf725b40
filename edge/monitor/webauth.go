package monitor

import (
	"context"
	"errors"
	"fmt"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webauth"
)

// CookieName is the monitor's session cookie.
const CookieName = "dozor_session"

// AccountStore is what the monitor's accounts need of the store;
// *store.Store has it.
type AccountStore interface {
	User(ctx context.Context, name string) (store.User, error)
	Audit(ctx context.Context, actor, action, object, detail string) error
}

// NewAccounts returns the monitor's session manager over st's accounts:
// logins and logouts go to st's audit log, the cookie is CookieName
// unless cfg names another.
func NewAccounts(st AccountStore, cfg webauth.Config) (*webauth.Manager, error) {
	if st == nil {
		return nil, errors.New("monitor accounts: no store")
	}
	if cfg.CookieName == "" {
		cfg.CookieName = CookieName
	}
	return webauth.NewManager(accounts{st}, cfg)
}

// accounts hands the store's accounts to webauth.
type accounts struct{ st AccountStore }

func (a accounts) User(ctx context.Context, name string) (webauth.User, error) {
	u, err := a.st.User(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return webauth.User{}, fmt.Errorf("%w: %w", webauth.ErrNotFound, err)
	}
	if err != nil {
		return webauth.User{}, err
	}
	return webauth.User{Name: u.Name, Role: string(u.Role), Lang: u.Lang, PasswordHash: u.PasswordHash, Disabled: u.Disabled}, nil
}

func (a accounts) Audit(ctx context.Context, actor, action, object, detail string) error {
	return a.st.Audit(ctx, actor, action, object, detail)
}

// roleNames is roles as webauth compares them.
func roleNames(roles []store.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

// sessionUser is the account of a session as the pages and views take
// it. It has no password hash and no timestamps, which a session does
// not carry.
func sessionUser(ss *webauth.Session) store.User {
	u := ss.User
	return store.User{Name: u.Name, Role: store.Role(u.Role), Lang: u.Lang, Disabled: u.Disabled}
}
