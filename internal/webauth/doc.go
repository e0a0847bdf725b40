// Package webauth holds the accounts at the door of the project's web
// pages, the guard-post monitor's and the region dashboard's: password
// hashing, logins with their limits, sessions, and the role and CSRF
// checks every page and API endpoint goes through.
//
// It knows no store and no roles. Each site hands the Manager its
// accounts through Users, as the plain User of this package, and names
// the roles a page or endpoint allows as strings. Users.Audit decides
// what an audit record becomes: the monitor writes it to the store's
// audit log, the region dashboard to its log. Config.CookieName names
// the session cookie, so that two sites on one host keep apart.
//
// Passwords are hashed with argon2id from golang.org/x/crypto into PHC
// strings ($argon2id$v=19$m=19456,t=2,p=1$salt$hash) with a 16-byte
// random salt. The parameters are OWASP's first recommendation for
// argon2id, sized for an edge box's ARM64 cores and few GiB of memory;
// at most two hashes run at once so a burst of logins cannot take the
// recognisers' memory. A stored hash is parsed strictly and bounded, so
// a doctored row is an error, never a panic or a gigabyte allocation.
// Hashes and passwords are never logged or put in messages.
//
// Sessions live in the Manager's memory only: restarting the daemon logs
// everybody out, which is the safe default for a desk that is staffed
// around the clock (nothing on disk could be stolen and replayed). A
// session is a random 32-byte token in an HttpOnly, SameSite=Strict
// cookie (Secure when the pages are served over HTTPS), known to the
// Manager only by its SHA-256, and a second random token the pages send
// in X-CSRF-Token on every state change. Sessions end after an idle
// timeout and an absolute one; each request re-reads the account through
// Users, so disabling or deleting an account, changing its password
// (from the pages or the command line) or changing its role applies to
// its very next request. Expired sessions are swept on later logins and
// requests; an account keeps at most a bounded number, its oldest
// ending first.
//
// Logins are limited per account (by default 5 failures in 15 minutes
// lock it for 15 minutes) and per client address (20 failures in 15
// minutes refuse it until they age out). Failures count for names that
// have no account too, and a name without an account costs the same
// hashing time, so the login reveals nothing about which accounts exist.
// Every attempt is audited: a success under the account's name, the
// rest under the actor "anonymous" with the account tried as object,
// since an unverified attempt cannot be laid at the account owner's
// door. Logins refused unchecked while an account is locked or an
// address limited are recorded at most once a minute per account or
// address, with the number of refusals, so that hammering cannot flood
// the audit records. Names typed at the login form are cut and sanitised
// before they reach an audit record.
//
// The login POST has no session and so no CSRF token; CheckOrigin
// refuses it when the browser says it comes from another site, using
// net/http's CrossOriginProtection.
package webauth
