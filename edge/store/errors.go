package store

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by the store wrap one of these (test with
// errors.Is) together with context that names the file, row or field.
var (
	// ErrInvalid: an input failed validation; nothing was written. The
	// wrapping *InvalidError names the field.
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound: a referenced row (person, camera, rule, alert...) does
	// not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a row with this id is already stored.
	ErrExists = errors.New("already exists")
	// ErrStorageFull: SQLite could not grow the database (SQLITE_FULL: the
	// disk or the page limit is exhausted). The whole write was rolled
	// back: the event, its outbox rows and its audit rows were NOT stored
	// and no outbox sequence number was used up. Retrying after space is
	// freed stores it.
	ErrStorageFull = errors.New("storage full: the write was rolled back and nothing of it was stored")
	// ErrCorrupt: the database file failed its integrity check. The store
	// never repairs, rewrites or recreates it; restore it from a backup.
	ErrCorrupt = errors.New("database file is corrupt")
	// ErrNotDatabase: the file is not an SQLite database, or not one made
	// by this store.
	ErrNotDatabase = errors.New("not a dozor store database")
	// ErrNewerSchema: the file was migrated by a newer build. Downgrading
	// is refused so that the newer build's data is never misread.
	ErrNewerSchema = errors.New("database schema is newer than this build")
	// ErrKeyFile: the key file is missing, has the wrong size or is
	// readable by group or others.
	ErrKeyFile = errors.New("unusable key file")
	// ErrWrongKey: the key does not match the key check value stored in
	// the database.
	ErrWrongKey = errors.New("key does not match this database")
	// ErrNoKey: the store was opened in no-key mode and biometric data
	// cannot be read or written.
	ErrNoKey = errors.New("store opened without its key: biometric data is unavailable")
	// ErrReadOnly: the store was opened in no-key mode, which never writes.
	ErrReadOnly = errors.New("store opened read-only (no-key mode)")
	// ErrDecrypt: an encrypted value failed authentication: it was
	// altered, moved to another row, or sealed under another key.
	ErrDecrypt = errors.New("encrypted value failed authentication")
	// ErrAuditBroken: the audit hash chain does not verify.
	ErrAuditBroken = errors.New("audit chain broken")
	// ErrAlreadyDecided: the alert already carries a decision.
	ErrAlreadyDecided = errors.New("alert already decided")
	// ErrAlreadyAcknowledged: another account acknowledged the alert
	// first; the message names it.
	ErrAlreadyAcknowledged = errors.New("alert already acknowledged")
	// ErrRegionManaged: the person was brought by a gallery revision of
	// the region, which alone removes or transfers it.
	ErrRegionManaged = errors.New("managed by the region")
	// ErrNotAcknowledged: the alert cannot be decided before somebody
	// acknowledges it.
	ErrNotAcknowledged = errors.New("alert not acknowledged")
)

// SQLite result codes the store gives a meaning to
// (https://sqlite.org/rescode.html); they are part of SQLite's stable
// interface.
const (
	sqliteCorrupt              = 11
	sqliteFull                 = 13
	sqliteConstraint           = 19
	sqliteNotADB               = 26
	sqliteConstraintForeignKey = 787
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// dbErr adds the store's typed meaning to an error that came out of SQLite
// (read through lib) and puts op in front. Errors that are already typed
// pass through with op.
func dbErr(lib SQLite, op string, err error) error {
	if err == nil {
		return nil
	}
	if code, ext, ok := lib.Code(err); ok {
		switch code {
		case sqliteFull:
			return fmt.Errorf("%s: %w (%w)", op, ErrStorageFull, err)
		case sqliteCorrupt:
			return fmt.Errorf("%s: %w (%w)", op, ErrCorrupt, err)
		case sqliteNotADB:
			return fmt.Errorf("%s: %w (%w)", op, ErrNotDatabase, err)
		case sqliteConstraint:
			switch ext {
			case sqliteConstraintPrimaryKey, sqliteConstraintUnique:
				return fmt.Errorf("%s: %w (%w)", op, ErrExists, err)
			case sqliteConstraintForeignKey:
				return fmt.Errorf("%s: a referenced row does not exist: %w (%w)", op, ErrNotFound, err)
			}
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}
