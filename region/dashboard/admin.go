package dashboard

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/internal/webui"
	"github.com/dozor-edge/dozor/region/store"
)

// Account management by the admin. Webauth rereads the account on every
// request, so a new role, a disabled account or a new password takes
// effect at the account's next request; a new password ends its sessions,
// the admin's own included.

// newUser is the body of POST /users.
type newUser struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Lang     string `json:"lang"`
	Password string `json:"password"`
}

// userChange is the body of PUT /users/{name}: the fields present change.
type userChange struct {
	Role     *string `json:"role"`
	Lang     *string `json:"lang"`
	Disabled *bool   `json:"disabled"`
	Password *string `json:"password"`
}

func checkRole(role string) error {
	if !slices.Contains(Roles, role) {
		return webui.Errorf(http.StatusBadRequest, "role", "role must be one of %v", Roles)
	}
	return nil
}

func checkLang(lang string) error {
	if !slices.Contains(langs, lang) {
		return webui.Errorf(http.StatusBadRequest, "lang", "lang must be one of %v", langs)
	}
	return nil
}

func hashPassword(pw string) (string, error) {
	if err := webauth.PasswordPolicy(pw); err != nil {
		return "", webui.Errorf(http.StatusBadRequest, "password", "password: %v", err)
	}
	return webauth.HashPassword(pw)
}

func actor(r *http.Request) string { return webauth.FromContext(r.Context()).User.Name }

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var in newUser
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Lang == "" {
		in.Lang = langs[0]
	}
	if err := webauth.CheckName(in.Name); err != nil {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "name", "name: %v", err))
		return
	}
	for _, err := range []error{checkRole(in.Role), checkLang(in.Lang)} {
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	hash, err := hashPassword(in.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.accounts.Lock()
	defer s.accounts.Unlock()
	if _, err := s.st.User(r.Context(), in.Name); err == nil {
		s.fail(w, r, webui.Errorf(http.StatusConflict, "name", "an account named %q exists", in.Name))
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	u := store.User{Name: in.Name, Role: in.Role, Lang: in.Lang, PasswordHash: hash}
	if err := s.st.PutUser(r.Context(), u); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "user.create", u.Name, "role="+u.Role)
	webui.WriteJSON(w, http.StatusCreated, viewUser(authUser(u)))
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	var in userChange
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Role != nil {
		if err := checkRole(*in.Role); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if in.Lang != nil {
		if err := checkLang(*in.Lang); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	var hash string
	if in.Password != nil {
		var err error
		if hash, err = hashPassword(*in.Password); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	name := r.PathValue("name")
	s.accounts.Lock()
	defer s.accounts.Unlock()
	old, err := s.st.User(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u := old
	if in.Role != nil {
		u.Role = *in.Role
	}
	if in.Lang != nil {
		u.Lang = *in.Lang
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
	}
	if hash != "" {
		u.PasswordHash = hash
	}
	if activeAdmin(old) && !activeAdmin(u) {
		field := "role"
		if u.Role == RoleAdmin {
			field = "disabled"
		}
		if err := s.keepAnAdmin(r.Context(), name, field); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if err := s.st.PutUser(r.Context(), u); err != nil {
		s.fail(w, r, err)
		return
	}
	if u.Disabled && !old.Disabled {
		s.acc.EndSessions(name)
	}
	s.audit(r, "user.update", name, changeDetail(old, u, hash != ""))
	webui.WriteJSON(w, http.StatusOK, viewUser(authUser(u)))
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.accounts.Lock()
	defer s.accounts.Unlock()
	u, err := s.st.User(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if activeAdmin(u) {
		if err := s.keepAnAdmin(r.Context(), name, "name"); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if err := s.st.DeleteUser(r.Context(), name); err != nil {
		s.fail(w, r, err)
		return
	}
	s.acc.EndSessions(name)
	s.audit(r, "user.delete", name, "")
	w.WriteHeader(http.StatusNoContent)
}

func activeAdmin(u store.User) bool { return u.Role == RoleAdmin && !u.Disabled }

// keepAnAdmin refuses (409, naming field) a change after which the
// account name is no longer an enabled admin when it is the last one:
// nobody could then manage the accounts from the dashboard. The caller
// holds s.accounts so that two such changes cannot both pass.
func (s *Server) keepAnAdmin(ctx context.Context, name, field string) error {
	us, err := s.st.Users(ctx)
	if err != nil {
		return err
	}
	for _, u := range us {
		if activeAdmin(u) && u.Name != name {
			return nil
		}
	}
	return webui.Errorf(http.StatusConflict, field, "%s is the last enabled admin: make another account an admin first", name)
}

// changeDetail says what an update changed, never the password itself.
func changeDetail(old, u store.User, password bool) string {
	d := ""
	add := func(s string) {
		if d != "" {
			d += " "
		}
		d += s
	}
	if old.Role != u.Role {
		add("role=" + u.Role)
	}
	if old.Lang != u.Lang {
		add("lang=" + u.Lang)
	}
	if old.Disabled != u.Disabled {
		if u.Disabled {
			add("disabled")
		} else {
			add("enabled")
		}
	}
	if password {
		add("password reset")
	}
	return d
}

// audit writes an account change to the log, where the region keeps its
// audit records.
func (s *Server) audit(r *http.Request, action, object, detail string) {
	s.log.Info("audit", "actor", actor(r), "action", action, "object", "user:"+object, "detail", detail)
}
