package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/region/store"
)

// CookieName is the dashboard's session cookie, apart from the
// guard-post monitor's so that both can be open on one host.
const CookieName = "dozor_region_session"

// The dashboard's roles, as the store keeps them in User.Role.
const (
	RoleOperator   = "operator"   // watches the facilities, the live events and the open alerts
	RoleSupervisor = "supervisor" // an operator who also searches people across facilities
	RoleAdmin      = "admin"      // manages accounts
	RoleAuditor    = "auditor"    // reads what the region received, quarantine included
)

// Roles lists every role.
var Roles = []string{RoleOperator, RoleSupervisor, RoleAdmin, RoleAuditor}

// accounts hands the store's accounts to webauth and writes its audit
// records to the log: the region keeps no audit table of its own.
type accounts struct {
	st  store.Users
	log *slog.Logger
}

func (a accounts) User(ctx context.Context, name string) (webauth.User, error) {
	u, err := a.st.User(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return webauth.User{}, fmt.Errorf("%w: %s", webauth.ErrNotFound, name)
	}
	if err != nil {
		return webauth.User{}, err
	}
	return authUser(u), nil
}

func authUser(u store.User) webauth.User {
	return webauth.User{Name: u.Name, Role: u.Role, Lang: u.Lang, PasswordHash: u.PasswordHash, Disabled: u.Disabled}
}

func (a accounts) Audit(_ context.Context, actor, action, object, detail string) error {
	a.log.Info("audit", "actor", actor, "action", action, "object", object, "detail", detail)
	return nil
}
