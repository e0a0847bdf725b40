package monitor

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/internal/webui"
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
		s.fail(w, r, webui.Errorf(http.StatusForbidden, "", "%v", err))
		return
	}
	var in loginInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.User == "" {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "user", "user is required"))
		return
	}
	if in.Password == "" {
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "password", "password is required"))
		return
	}
	ss, err := s.acc.Login(r.Context(), in.User, in.Password, r.RemoteAddr)
	var le *webauth.LimitedError
	switch {
	case errors.As(err, &le):
		secs := max(int(le.RetryAfter.Seconds()+0.999), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.fail(w, r, webui.Errorf(http.StatusTooManyRequests, "", "too many failed logins: try again in %d s", secs))
		return
	case errors.Is(err, webauth.ErrBadCredentials):
		s.fail(w, r, webui.Errorf(http.StatusUnauthorized, "", "wrong user name or password"))
		return
	case errors.Is(err, webauth.ErrDisabled):
		s.fail(w, r, webui.Errorf(http.StatusForbidden, "", "the account is disabled"))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.acc.SetCookie(w, ss)
	webui.WriteJSON(w, http.StatusOK, sessionView{User: viewUser(sessionUser(ss)), CSRF: ss.CSRF})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.acc.Logout(r); err != nil {
		s.log.Warn("monitor logout", "err", err)
	}
	s.acc.ClearCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	ss := webauth.FromContext(r.Context())
	webui.WriteJSON(w, http.StatusOK, sessionView{User: viewUser(sessionUser(ss)), CSRF: ss.CSRF})
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
			s.fail(w, r, webui.Errorf(http.StatusBadRequest, "lang", "lang must be one of %v", Langs))
			return
		}
		u.Lang = *in.Lang
	}
	if in.Password != nil {
		if in.Password.New == "" {
			s.fail(w, r, webui.Errorf(http.StatusBadRequest, "password.new", "password.new is required"))
			return
		}
		ok, err := webauth.CheckPassword(u.PasswordHash, in.Password.Old)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !ok {
			s.fail(w, r, webui.Errorf(http.StatusBadRequest, "password.old", "the current password is wrong"))
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
	ss := webauth.FromContext(r.Context())
	if in.Password != nil {
		// Every session of the account ends, this one too: whoever knew
		// the old password is out. This browser goes on in a new session
		// started with the new password, with a new cookie and CSRF token.
		s.acc.EndSessions(name)
		if ss, err = s.acc.Login(r.Context(), name, in.Password.New, r.RemoteAddr); err != nil {
			s.log.Warn("monitor: a new session after a password change failed", "user", name, "err", err)
			s.acc.ClearCookie(w)
			s.fail(w, r, webui.Errorf(http.StatusUnauthorized, "", "the password is changed: log in again with the new one"))
			return
		}
		s.acc.SetCookie(w, ss)
	}
	webui.WriteJSON(w, http.StatusOK, sessionView{User: viewUser(u), CSRF: ss.CSRF})
}

// newHash checks a new password against the policy and hashes it.
func newHash(password, field string) (string, error) {
	if err := webauth.PasswordPolicy(password); err != nil {
		return "", webui.Errorf(http.StatusBadRequest, field, "%v", err)
	}
	return webauth.HashPassword(password)
}

func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	us, err := s.st.Users(r.Context())
	writeList(s, w, r, "users", us, err, viewUser)
}

type userInput struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Lang     string `json:"lang"`
	Password string `json:"password"`
}

func checkRole(v string) (store.Role, error) {
	if !slices.Contains(store.Roles, store.Role(v)) {
		return "", webui.Errorf(http.StatusBadRequest, "role", "role must be one of %v", store.Roles)
	}
	return store.Role(v), nil
}

func checkLang(v string) error {
	if !slices.Contains(Langs, v) {
		return webui.Errorf(http.StatusBadRequest, "lang", "lang must be one of %v", Langs)
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
		s.fail(w, r, webui.Errorf(http.StatusBadRequest, "name", "name is required"))
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
		s.fail(w, r, webui.Errorf(http.StatusConflict, "name", "an account named %q exists", in.Name))
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
	webui.WriteJSON(w, http.StatusCreated, viewUser(u))
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
	s.accounts.Lock()
	defer s.accounts.Unlock()
	old, err := s.st.User(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u := old
	if in.Role != nil {
		if u.Role, err = checkRole(*in.Role); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if in.Lang != nil {
		if err := checkLang(*in.Lang); err != nil {
			s.fail(w, r, err)
			return
		}
		u.Lang = *in.Lang
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
	}
	if in.Password != nil {
		if u.PasswordHash, err = newHash(*in.Password, "password"); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	field := "role"
	if u.Role == store.RoleAdmin {
		field = "disabled"
	}
	self := name == actor(r)
	switch {
	case activeAdmin(old) && !activeAdmin(u):
		if err := s.keepAnAdmin(r.Context(), name, field); err != nil {
			s.fail(w, r, err)
			return
		}
		if self {
			s.fail(w, r, webui.Errorf(http.StatusConflict, field, "an administrator cannot demote or disable their own account"))
			return
		}
	case self && u.Role != old.Role:
		s.fail(w, r, webui.Errorf(http.StatusConflict, "role", "an administrator cannot change their own role"))
		return
	}
	if err := s.st.PutUser(r.Context(), actor(r), u); err != nil {
		s.fail(w, r, err)
		return
	}
	// Ending the account's sessions makes a change of role, password or
	// access take effect at once; an administrator's own password change
	// keeps their session.
	if u.Role != old.Role || (u.Disabled && !old.Disabled) || (in.Password != nil && !self) {
		s.acc.EndSessions(name)
	}
	webui.WriteJSON(w, http.StatusOK, viewUser(u))
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.accounts.Lock()
	defer s.accounts.Unlock()
	if err := s.keepAnAdmin(r.Context(), name, "name"); err != nil {
		s.fail(w, r, err)
		return
	}
	if name == actor(r) {
		s.fail(w, r, webui.Errorf(http.StatusConflict, "name", "an administrator cannot delete their own account"))
		return
	}
	if err := s.st.DeleteUser(r.Context(), actor(r), name); err != nil {
		s.fail(w, r, err)
		return
	}
	s.acc.EndSessions(name)
	w.WriteHeader(http.StatusNoContent)
}

// activeAdmin says u can administer the accounts.
func activeAdmin(u store.User) bool { return u.Role == store.RoleAdmin && !u.Disabled }

// keepAnAdmin refuses (409, naming field) a change that leaves no enabled
// administrator once the account name no longer is one: nobody could
// then manage the accounts through the monitor. The caller holds
// s.accounts, so that two such changes cannot both pass.
func (s *Server) keepAnAdmin(ctx context.Context, name, field string) error {
	us, err := s.st.Users(ctx)
	if err != nil {
		return err
	}
	last := false
	for _, u := range us {
		switch {
		case !activeAdmin(u):
		case u.Name != name:
			return nil
		default:
			last = true
		}
	}
	if !last {
		return nil
	}
	return webui.Errorf(http.StatusConflict, field, "%s is the last enabled administrator: make another account an administrator first", name)
}
