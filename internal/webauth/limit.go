package webauth

import (
	"fmt"
	"math"
	"time"
)

// LimitedError refuses a login without checking the password: the
// account is locked, or the address has failed too often. The API
// answers 429 with Retry-After.
type LimitedError struct {
	RetryAfter time.Duration
	Scope      string // "account" or "address"
}

func (e *LimitedError) Error() string {
	what := "too many failed logins from this address"
	if e.Scope == ScopeAccount {
		what = "account locked after too many failed logins"
	}
	return fmt.Sprintf("%s: try again in %s", what, e.RetryAfter.Round(time.Second))
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least
// 1, for the Retry-After header.
func (e *LimitedError) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// The scopes of a LimitedError.
const (
	ScopeAccount = "account"
	ScopeAddress = "address"
)

// maxLimitKeys bounds each limiter's map. Names and addresses come from
// outside, so a flood of new ones must not grow memory without end.
const maxLimitKeys = 50_000

// failures are the recent failed logins of one account or address.
type failures struct {
	times       []time.Time // oldest first, each within the window
	lockedUntil time.Time
	// refused counts the refusals since lastRefusalAudit, the last one
	// audited.
	refused          int
	lastRefusalAudit time.Time
}

// refusalAuditEvery spaces the audit records of refused logins per key:
// an attacker hammering a locked account must not fill the audit log
// and the uplink, and one record a minute with the count says as much.
const refusalAuditEvery = time.Minute

// limiter counts failed logins per key in a sliding window. With a
// lockout, reaching the limit locks the key for that long and starts the
// count afresh; without one, the key is refused while the limit's worth
// of failures lie within the window.
type limiter struct {
	limit   int
	window  time.Duration
	lockout time.Duration
	keys    map[string]*failures
}

func newLimiter(limit int, window, lockout time.Duration) *limiter {
	return &limiter{limit: limit, window: window, lockout: lockout, keys: map[string]*failures{}}
}

func (f *failures) prune(now time.Time, window time.Duration) {
	i := 0
	for i < len(f.times) && !now.Before(f.times[i].Add(window)) {
		i++
	}
	f.times = f.times[i:]
}

// blocked returns how much longer key is refused, 0 when it is not.
func (l *limiter) blocked(key string, now time.Time) time.Duration {
	f := l.keys[key]
	if f == nil {
		return 0
	}
	if now.Before(f.lockedUntil) {
		return f.lockedUntil.Sub(now)
	}
	f.prune(now, l.window)
	if l.lockout == 0 && len(f.times) >= l.limit {
		return f.times[0].Add(l.window).Sub(now)
	}
	return 0
}

// fail records a failure of key and reports whether it reached the
// limit (with a lockout: locked the key).
func (l *limiter) fail(key string, now time.Time) bool {
	f := l.keys[key]
	if f == nil {
		if len(l.keys) >= maxLimitKeys {
			l.sweep(now)
			l.evictOne(now)
		}
		f = &failures{}
		l.keys[key] = f
	}
	f.prune(now, l.window)
	f.times = append(f.times, now)
	if len(f.times) < l.limit {
		return false
	}
	if l.lockout > 0 {
		f.lockedUntil = now.Add(l.lockout)
		f.times = nil
	} else if len(f.times) > l.limit {
		// Concurrent attempts that all passed the check: the oldest of
		// them no longer matter.
		f.times = f.times[len(f.times)-l.limit:]
	}
	return true
}

// refusal notes a refused login of key (blocked, so present) and
// reports whether to audit it, with the number of refusals the record
// stands for.
func (l *limiter) refusal(key string, now time.Time) (audit bool, n int) {
	f := l.keys[key]
	if f == nil {
		return true, 1
	}
	f.refused++
	if !f.lastRefusalAudit.IsZero() && now.Sub(f.lastRefusalAudit) < refusalAuditEvery {
		return false, 0
	}
	n, f.refused, f.lastRefusalAudit = f.refused, 0, now
	return true, n
}

// reset forgets key's failures (a successful login).
func (l *limiter) reset(key string) { delete(l.keys, key) }

// sweep drops the keys with nothing left to remember.
func (l *limiter) sweep(now time.Time) {
	for k, f := range l.keys {
		f.prune(now, l.window)
		if len(f.times) == 0 && !now.Before(f.lockedUntil) {
			delete(l.keys, k)
		}
	}
}

// evictOne makes room when the map is full after a sweep: it forgets a
// key that is not refused, or any key when every one is. Only a flood
// of distinct names or addresses gets here, and then forgetting some
// failures beats running out of memory.
func (l *limiter) evictOne(now time.Time) {
	if len(l.keys) < maxLimitKeys {
		return
	}
	var any string
	for k := range l.keys {
		if l.blocked(k, now) == 0 {
			delete(l.keys, k)
			return
		}
		any = k
	}
	delete(l.keys, any)
}
