package webauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Errors of Login and Authenticate.
var (
	// ErrBadCredentials: the name or the password is wrong. Both give
	// this same error, so that a login does not reveal which names
	// exist.
	ErrBadCredentials = errors.New("wrong user name or password")
	// ErrDisabled: the password was right but the account is disabled.
	ErrDisabled = errors.New("account disabled")
	// ErrNoSession: the request has no session, or it ended.
	ErrNoSession = errors.New("login required")
)

// Actor is the audit actor of login attempts that did not log anyone
// in: until the password is verified, nobody is known to be acting, and
// writing the account's name as actor would blame its owner for another
// person's guesses. The account tried is the record's object.
const Actor = "anonymous"

// Audit actions written by the Manager. Each names the account tried in
// its object ("user:<name>") and the client address in its JSON detail.
const (
	ActionLogin        = "auth.login"         // success; actor is the account
	ActionLoginFailed  = "auth.login_failed"  // wrong password, unknown or disabled account
	ActionLocked       = "auth.locked"        // this failure locked the account
	ActionLoginRefused = "auth.login_refused" // refused unchecked: account locked or address limited; at most one a minute per account or address, counting the refusals it stands for
	ActionLogout       = "auth.logout"        // actor is the account
)

// Config sets the Manager's cookie, timeouts and limits. Zero values
// take the defaults noted.
type Config struct {
	// CookieName names the session cookie (required): each site served
	// from one host needs its own, or one would log the other out.
	CookieName string
	// IdleTimeout ends a session that long after its last request
	// (default 30 min).
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session that long after its login
	// (default 12 h, one shift); at least IdleTimeout.
	AbsoluteTimeout time.Duration
	// Secure sets the cookie's Secure flag: true when the pages are
	// served over HTTPS.
	Secure bool
	// AccountFailures failed logins of one account within AccountWindow
	// lock it for AccountLockout (defaults 5, 15 min, 15 min).
	AccountFailures int
	AccountWindow   time.Duration
	AccountLockout  time.Duration
	// AddressFailures failed logins from one address within
	// AddressWindow refuse it until the oldest of them leaves the window
	// (defaults 20, 15 min). An IPv6 address counts by its /64, which one
	// client can hop around in.
	AddressFailures int
	AddressWindow   time.Duration
	// MaxSessionsPerUser caps one account's live sessions; a new login
	// beyond it ends that account's oldest (default 20).
	MaxSessionsPerUser int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger (default: discard).
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.CookieName == "" {
		return errors.New("auth config: CookieName is empty")
	}
	if err := (&http.Cookie{Name: c.CookieName}).Valid(); err != nil {
		return fmt.Errorf("auth config: CookieName %q is not a valid cookie name", c.CookieName)
	}
	type field struct {
		name string
		v    *time.Duration
		def  time.Duration
	}
	for _, f := range []field{
		{"IdleTimeout", &c.IdleTimeout, 30 * time.Minute},
		{"AbsoluteTimeout", &c.AbsoluteTimeout, 12 * time.Hour},
		{"AccountWindow", &c.AccountWindow, 15 * time.Minute},
		{"AccountLockout", &c.AccountLockout, 15 * time.Minute},
		{"AddressWindow", &c.AddressWindow, 15 * time.Minute},
	} {
		if *f.v < 0 {
			return fmt.Errorf("auth config: %s is negative (%v)", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"AccountFailures", &c.AccountFailures, 5},
		{"AddressFailures", &c.AddressFailures, 20},
		{"MaxSessionsPerUser", &c.MaxSessionsPerUser, 20},
	} {
		if *f.v < 0 {
			return fmt.Errorf("auth config: %s is negative (%d)", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.AbsoluteTimeout < c.IdleTimeout {
		return fmt.Errorf("auth config: AbsoluteTimeout (%v) is shorter than IdleTimeout (%v)", c.AbsoluteTimeout, c.IdleTimeout)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// sweepEvery is how often, at most, expired sessions and stale limiter
// entries are dropped. It happens on the next login or request, so no
// goroutine is needed for it.
const sweepEvery = time.Minute

// Manager logs accounts in and out and checks the session of each
// request. It is safe for concurrent use.
type Manager struct {
	users  Users
	cfg    Config
	log    *slog.Logger
	origin *http.CrossOriginProtection

	mu        sync.Mutex
	sessions  map[tokenKey]*entry
	accounts  *limiter
	addresses *limiter
	lastSweep time.Time
}

// entry is a live session. The token itself is not kept.
type entry struct {
	s Session
	// password is the SHA-256 of the account's password hash at login:
	// when the stored hash changes (a new password, set from the pages
	// or from the command line), the session ends.
	password [sha256.Size]byte
}

// NewManager returns a Manager reading accounts from users.
func NewManager(users Users, cfg Config) (*Manager, error) {
	if users == nil {
		return nil, errors.New("auth: no user store")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Manager{
		users: users, cfg: cfg, log: cfg.Logger, origin: http.NewCrossOriginProtection(),
		sessions:  map[tokenKey]*entry{},
		accounts:  newLimiter(cfg.AccountFailures, cfg.AccountWindow, cfg.AccountLockout),
		addresses: newLimiter(cfg.AddressFailures, cfg.AddressWindow, 0),
	}, nil
}

// Login checks name and password from addr (the request's RemoteAddr)
// and starts a session. It returns ErrBadCredentials for a wrong name
// or password alike, ErrDisabled for the right password of a disabled
// account, and a *LimitedError while the account is locked or the
// address has failed too often. Every attempt is audited (see the
// Action constants); a success whose audit record cannot be written is
// refused.
func (m *Manager) Login(ctx context.Context, name, password, addr string) (*Session, error) {
	now := m.cfg.Now()
	host, addrKey := clientAddress(addr)
	nameOK := CheckName(name) == nil
	att := attempt{m: m, ctx: ctx, object: "user:" + sanitize(name), host: host}

	m.mu.Lock()
	m.sweepLocked(now)
	lim, key, scope := m.addresses, addrKey, ScopeAddress
	wait := lim.blocked(key, now)
	if wait == 0 && nameOK {
		lim, key, scope = m.accounts, name, ScopeAccount
		wait = lim.blocked(key, now)
	}
	var audit bool
	var refused int
	if wait > 0 {
		audit, refused = lim.refusal(key, now)
	}
	m.mu.Unlock()
	if wait > 0 {
		if audit {
			att.auditDetail(Actor, ActionLoginRefused, map[string]any{"reason": scope + " limited", "refused": refused})
		}
		return nil, &LimitedError{RetryAfter: wait, Scope: scope}
	}

	if !nameOK {
		// No account can have this name, so there is no timing to hide.
		return nil, att.fail(now, "", addrKey, "invalid name")
	}
	u, err := m.users.User(ctx, name)
	if errors.Is(err, ErrNotFound) {
		dummyCheck(password)
		return nil, att.fail(now, name, addrKey, "unknown user")
	}
	if err != nil {
		return nil, fmt.Errorf("login %s: %w", name, err)
	}
	ok, err := CheckPassword(u.PasswordHash, password)
	if err != nil {
		// The stored hash is unreadable; the account cannot log in until
		// an admin sets a new password.
		m.log.Error("auth: stored password hash is unusable", "user", name, "err", err)
		return nil, att.fail(now, name, addrKey, "unusable password hash")
	}
	if !ok {
		return nil, att.fail(now, name, addrKey, "wrong password")
	}
	if u.Disabled {
		// The password was right: not a guess, so not counted.
		att.audit(Actor, ActionLoginFailed, "disabled")
		return nil, ErrDisabled
	}

	s, err := m.start(u, host, now)
	if err != nil {
		return nil, err
	}
	if err := m.users.Audit(ctx, u.Name, ActionLogin, att.object, att.detail(nil)); err != nil {
		// A login nobody could trace afterwards does not happen.
		m.end(keyOf(s.Token.Value()))
		return nil, fmt.Errorf("login %s: audit: %w", name, err)
	}
	return s, nil
}

// attempt carries what every audit record of one login attempt shares.
type attempt struct {
	m      *Manager
	ctx    context.Context
	object string
	host   string
}

// detail is the JSON detail of a record: the client's address and the
// fields given (json.Marshal sorts the keys).
func (a attempt) detail(fields map[string]any) string {
	d := map[string]any{"address": a.host}
	for k, v := range fields {
		d[k] = v
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// audit writes a record of a failed attempt with its reason.
func (a attempt) audit(actor, action, reason string) {
	a.auditDetail(actor, action, map[string]any{"reason": reason})
}

// auditDetail writes one record. A failed attempt's record that cannot
// be written is logged: the attempt is refused anyway.
func (a attempt) auditDetail(actor, action string, fields map[string]any) {
	if err := a.m.users.Audit(a.ctx, actor, action, a.object, a.detail(fields)); err != nil {
		a.m.log.Error("auth: audit of a login attempt failed", "action", action, "object", a.object, "err", err)
	}
}

// fail counts a failed attempt against the address and, when name is
// set, the account, audits it, and returns ErrBadCredentials.
func (a attempt) fail(now time.Time, name, addrKey, reason string) error {
	m := a.m
	m.mu.Lock()
	m.addresses.fail(addrKey, now)
	locked := name != "" && m.accounts.fail(name, now)
	m.mu.Unlock()
	a.audit(Actor, ActionLoginFailed, reason)
	if locked {
		a.audit(Actor, ActionLocked, fmt.Sprintf("%d failures within %v; locked for %v",
			m.cfg.AccountFailures, m.cfg.AccountWindow, m.cfg.AccountLockout))
	}
	return ErrBadCredentials
}

// start registers a new session of u, ending the account's oldest when
// it has too many.
func (m *Manager) start(u User, host string, now time.Time) (*Session, error) {
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	csrf, err := newToken()
	if err != nil {
		return nil, err
	}
	e := &entry{s: Session{CSRF: csrf, User: public(u), Created: now, LastSeen: now, Addr: host},
		password: sha256.Sum256([]byte(u.PasswordHash))}

	m.mu.Lock()
	defer m.mu.Unlock()
	m.accounts.reset(u.Name)
	for {
		var oldest tokenKey
		n := 0
		for k, o := range m.sessions {
			if o.s.User.Name != u.Name {
				continue
			}
			if n == 0 || o.s.Created.Before(m.sessions[oldest].s.Created) {
				oldest = k
			}
			n++
		}
		if n < m.cfg.MaxSessionsPerUser {
			break
		}
		delete(m.sessions, oldest)
	}
	m.sessions[keyOf(token)] = e
	s := e.s
	s.Token = Secret(token)
	return &s, nil
}

// public is u without its password hash: a session must not carry it
// into handlers and templates.
func public(u User) User {
	u.PasswordHash = ""
	return u
}

// expired reports whether e has timed out at now.
func (m *Manager) expired(e *entry, now time.Time) bool {
	return !now.Before(e.s.LastSeen.Add(m.cfg.IdleTimeout)) || !now.Before(e.s.Created.Add(m.cfg.AbsoluteTimeout))
}

func (m *Manager) sweepLocked(now time.Time) {
	if now.Sub(m.lastSweep) < sweepEvery {
		return
	}
	m.lastSweep = now
	for k, e := range m.sessions {
		if m.expired(e, now) {
			delete(m.sessions, k)
		}
	}
	m.accounts.sweep(now)
	m.addresses.sweep(now)
}

func (m *Manager) end(k tokenKey) {
	m.mu.Lock()
	delete(m.sessions, k)
	m.mu.Unlock()
}

// Authenticate returns the session of r's cookie. It fails with
// ErrNoSession when there is none or it timed out (it is then removed),
// and ends every session of the account when the account is gone, is
// disabled or has a new password. The account is read from the store on
// every call, so a changed role applies to the next request. Other
// errors are the store's.
func (m *Manager) Authenticate(r *http.Request) (*Session, error) {
	k, token, ok := m.cookieKey(r)
	if !ok {
		return nil, ErrNoSession
	}
	now := m.cfg.Now()
	m.mu.Lock()
	m.sweepLocked(now)
	e := m.sessions[k]
	if e != nil && m.expired(e, now) {
		delete(m.sessions, k)
		e = nil
	}
	var name string
	var password [sha256.Size]byte
	if e != nil {
		name, password = e.s.User.Name, e.password
	}
	m.mu.Unlock()
	if e == nil {
		return nil, ErrNoSession
	}

	u, err := m.users.User(r.Context(), name)
	switch {
	case errors.Is(err, ErrNotFound):
		m.EndSessions(name)
		return nil, ErrNoSession
	case err != nil:
		return nil, fmt.Errorf("session of %s: %w", name, err)
	case u.Disabled || sha256.Sum256([]byte(u.PasswordHash)) != password:
		m.EndSessions(name)
		return nil, ErrNoSession
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[k] != e {
		return nil, ErrNoSession // ended meanwhile
	}
	e.s.User = public(u)
	e.s.LastSeen = now
	s := e.s
	s.Token = Secret(token)
	return &s, nil
}

func (m *Manager) cookieKey(r *http.Request) (tokenKey, string, bool) {
	c, err := r.Cookie(m.cfg.CookieName)
	if err != nil || len(c.Value) != tokenLen {
		return tokenKey{}, "", false
	}
	return keyOf(c.Value), c.Value, true
}

// Logout ends r's session, if it has one, and audits it. The error is
// the audit's: the session is ended regardless.
func (m *Manager) Logout(r *http.Request) error {
	k, _, ok := m.cookieKey(r)
	if !ok {
		return nil
	}
	m.mu.Lock()
	e := m.sessions[k]
	delete(m.sessions, k)
	m.mu.Unlock()
	if e == nil {
		return nil
	}
	host, _ := clientAddress(r.RemoteAddr)
	a := attempt{m: m, ctx: r.Context(), object: "user:" + e.s.User.Name, host: host}
	return m.users.Audit(r.Context(), e.s.User.Name, ActionLogout, a.object, a.detail(nil))
}

// EndSessions ends every session of the account name and returns how
// many there were. Call it after a password change, a disable or a
// delete (Authenticate also notices these on the account's next
// request).
func (m *Manager) EndSessions(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, e := range m.sessions {
		if e.s.User.Name == name {
			delete(m.sessions, k)
			n++
		}
	}
	return n
}

// SetCookie sets s's cookie on w. It has no Max-Age: the browser drops
// it when closed, and the server ends the session at its timeouts in
// any case.
func (m *Manager) SetCookie(w http.ResponseWriter, s *Session) {
	http.SetCookie(w, m.cookie(s.Token.Value(), 0))
}

// ClearCookie tells the browser to drop the session cookie.
func (m *Manager) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, m.cookie("", -1))
}

func (m *Manager) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: m.cfg.CookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: m.cfg.Secure, SameSite: http.SameSiteStrictMode}
}

// MaxNameBytes is the longest account name.
const MaxNameBytes = 64

// CheckName checks an account name: 1 to MaxNameBytes bytes of
// printable UTF-8 without spaces. Account creation applies it, so that
// every account can log in.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("user name is empty")
	case len(name) > MaxNameBytes:
		return fmt.Errorf("user name is %d bytes long, at most %d are allowed", len(name), MaxNameBytes)
	case !utf8.ValidString(name):
		return errors.New("user name is not valid UTF-8")
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }):
		return errors.New("user name may hold only printable characters without spaces")
	}
	return nil
}

// sanitize makes a name typed at the login form safe to write in the
// audit log: what CheckName refuses is replaced by '?', and it is cut to
// MaxNameBytes.
func sanitize(name string) string {
	if name == "" {
		return "?"
	}
	var b strings.Builder
	for _, r := range name {
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > MaxNameBytes {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// clientAddress returns the host part of a RemoteAddr for the audit
// log, and the key its failures count under: the address itself, or
// its /64 for IPv6.
func clientAddress(remote string) (host, key string) {
	host = remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		host = sanitize(host)
		return host, host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return ip.String(), p.String()
	}
	return ip.String(), ip.String()
}
