package monitor

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/dozor-edge/dozor/edge/monitor/auth"
	"github.com/dozor-edge/dozor/edge/store"
)

// Langs are the interface languages an account may choose.
var Langs = []string{"ru", "en"}

type loginInput struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

type sessionView struct {
	User userView `json:"user"`
	CSRF string   `json:"csrf"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := s.acc.CheckOrigin(r); err != nil {
		s.fail(w, r, errorf(http.StatusForbidden, "", "%v", err))
		return
	}
	var in loginInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.User == "" {
		s.fail(w, r, errorf(http.StatusBadRequest, "user", "user is required"))
		return
	}
	if in.Password == "" {
		s.fail(w, r, errorf(http.StatusBadRequest, "password", "password is required"))
		return
	}
	ss, err := s.acc.Login(r.Context(), in.User, in.Password, r.RemoteAddr)
	var le *auth.LimitedError
	switch {
	case errors.As(err, &le):
		secs := max(int(le.RetryAfter.Seconds()+0.999), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.fail(w, r, errorf(http.StatusTooManyRequests, "", "too many failed logins: try again in %d s", secs))
		return
	case errors.Is(err, auth.ErrBadCredentials):
		s.fail(w, r, errorf(http.StatusUnauthorized, "", "wrong user name or password"))
		return
	case errors.Is(err, auth.ErrDisabled):
		s.fail(w, r, errorf(http.StatusForbidden, "", "the account is disabled"))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.acc.SetCookie(w, ss)
	writeJSON(w, http.StatusOK, sessionView{User: viewUser(ss.User), CSRF: ss.CSRF})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.acc.Logout(r); err != nil {
		s.log.Warn("monitor logout", "err", err)
	}
	s.acc.ClearCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	ss := auth.FromContext(r.Context())
	writeJSON(w, http.StatusOK, sessionView{User: viewUser(ss.User), CSRF: ss.CSRF})
}

type passwordChange struct {
	Old string `json:"old"`
	New string `json:"new"`
}

type meInput struct {
	Lang     *string         `json:"lang"`
	Password *passwordChange `json:"password"`
}

func (s *Server) patchMe(w http.ResponseWriter, r *http.Request) {
	var in meInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	name := actor(r)
	u, err := s.st.User(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Lang != nil {
		if !slices.Contains(Langs, *in.Lang) {
			s.fail(w, r, errorf(http.StatusBadRequest, "lang", "lang must be one of %v", Langs))
			return
		}
		u.Lang = *in.Lang
	}
	if in.Password != nil {
		ok, err := auth.CheckPassword(u.PasswordHash, in.Password.Old)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !ok {
			s.fail(w, r, errorf(http.StatusBadRequest, "password.old", "the current password is wrong"))
			return
		}
		if u.PasswordHash, err = newHash(in.Password.New, "password.new"); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if err := s.st.PutUser(r.Context(), name, u); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewUser(u))
}

// newHash checks a new password against the policy and hashes it.
func newHash(password, field string) (string, error) {
	if err := auth.PasswordPolicy(password); err != nil {
		return "", errorf(http.StatusBadRequest, field, "%v", err)
	}
	return auth.HashPassword(password)
}

func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	us, err := s.st.Users(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]userView, 0, len(us))
	for _, u := range us {
		out = append(out, viewUser(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

type userInput struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Lang     string `json:"lang"`
	Password string `json:"password"`
}

func checkRole(v string) (store.Role, error) {
	if !slices.Contains(store.Roles, store.Role(v)) {
		return "", errorf(http.StatusBadRequest, "role", "role must be one of %v", store.Roles)
	}
	return store.Role(v), nil
}

func checkLang(v string) error {
	if !slices.Contains(Langs, v) {
		return errorf(http.StatusBadRequest, "lang", "lang must be one of %v", Langs)
	}
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var in userInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Name == "" {
		s.fail(w, r, errorf(http.StatusBadRequest, "name", "name is required"))
		return
	}
	role, err := checkRole(in.Role)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Lang == "" {
		in.Lang = "ru"
	}
	if err := checkLang(in.Lang); err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.st.User(r.Context(), in.Name); err == nil {
		s.fail(w, r, errorf(http.StatusConflict, "name", "an account named %q exists", in.Name))
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	hash, err := newHash(in.Password, "password")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u := store.User{Name: in.Name, Role: role, Lang: in.Lang, PasswordHash: hash}
	if err := s.st.PutUser(r.Context(), actor(r), u); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewUser(u))
}

type userUpdate struct {
	Role     *string `json:"role"`
	Lang     *string `json:"lang"`
	Disabled *bool   `json:"disabled"`
	Password *string `json:"password"`
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	var in userUpdate
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	name := r.PathValue("name")
	u, err := s.st.User(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	self := name == actor(r)
	// Ending the account's sessions makes a change of role, password or
	// access take effect at once.
	end := false
	if in.Role != nil {
		role, err := checkRole(*in.Role)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if self && role != u.Role {
			s.fail(w, r, errorf(http.StatusConflict, "role", "an administrator cannot change their own role"))
			return
		}
		end = end || role != u.Role
		u.Role = role
	}
	if in.Lang != nil {
		if err := checkLang(*in.Lang); err != nil {
			s.fail(w, r, err)
			return
		}
		u.Lang = *in.Lang
	}
	if in.Disabled != nil {
		if self && *in.Disabled {
			s.fail(w, r, errorf(http.StatusConflict, "disabled", "an administrator cannot disable their own account"))
			return
		}
		end = end || *in.Disabled
		u.Disabled = *in.Disabled
	}
	if in.Password != nil {
		if u.PasswordHash, err = newHash(*in.Password, "password"); err != nil {
			s.fail(w, r, err)
			return
		}
		end = end || !self
	}
	if err := s.st.PutUser(r.Context(), actor(r), u); err != nil {
		s.fail(w, r, err)
		return
	}
	if end {
		s.acc.EndSessions(name)
	}
	writeJSON(w, http.StatusOK, viewUser(u))
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == actor(r) {
		s.fail(w, r, errorf(http.StatusConflict, "name", "an administrator cannot delete their own account"))
		return
	}
	if err := s.st.DeleteUser(r.Context(), actor(r), name); err != nil {
		s.fail(w, r, err)
		return
	}
	s.acc.EndSessions(name)
	w.WriteHeader(http.StatusNoContent)
}
