package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/dozor-edge/dozor/sync/wire"
)

// Actors the store writes audit records for by itself.
const (
	// SystemActor is the region's own timers (AdvanceTransfers).
	SystemActor = "system"
)

// siteActor names a site acting through a message (a gallery ack).
func siteActor(site string) string { return "site:" + site }

// auditHash chains a record to the one before it: the sha256 of a
// domain-separation label, prev, the seq, the time and the
// length-prefixed text fields.
func auditHash(prev string, a AuditEntry) string {
	h := sha256.New()
	h.Write([]byte("dozor/region/v1 audit\x00"))
	h.Write([]byte(prev))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], a.Seq)
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(a.At.UnixNano()))
	h.Write(n[:])
	for _, f := range []string{a.Actor, a.Action, a.Object, a.Detail} {
		binary.BigEndian.PutUint32(n[:4], uint32(len(f)))
		h.Write(n[:4])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func checkAudit(actor, action, object, detail string) error {
	var c fieldCheck
	c.token("actor", actor, true, 128)
	c.token("action", action, true, 64)
	c.token("object", object, false, 256)
	c.text("detail", detail, 4096)
	return c.err
}

// appendAudit adds a record after the head, whose row it locks: writers
// of the log take turns.
func (s *db) appendAudit(ctx context.Context, tx *sql.Tx, a AuditEntry) error {
	var seq int64
	var prev string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM region_audit_head WHERE id = 1`+s.d.lockSite).Scan(&seq, &prev); err != nil {
		return err
	}
	a.Seq, a.Prev = uint64(seq+1), prev
	a.At = time.Unix(0, a.At.UnixNano()) // what the column keeps
	a.Hash = auditHash(prev, a)
	if _, err := s.exec(ctx, tx, `INSERT INTO region_audit (seq, at_ns, actor, action, object, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		int64(a.Seq), a.At.UnixNano(), a.Actor, a.Action, a.Object, a.Detail, a.Prev, a.Hash); err != nil {
		return err
	}
	_, err := s.exec(ctx, tx, `UPDATE region_audit_head SET seq = ?, hash = ? WHERE id = 1`, int64(a.Seq), a.Hash)
	return err
}

func (s *db) Audit(ctx context.Context, actor, action, object, detail string) error {
	if err := checkAudit(actor, action, object, detail); err != nil {
		return fmt.Errorf("region store: audit: %w", err)
	}
	err := s.galleryTx(ctx, func(g *gtx) error {
		g.audit(actor, action, object, detail)
		return nil
	})
	if err != nil {
		return fmt.Errorf("region store: audit %s: %w", action, err)
	}
	return nil
}

func (s *db) AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	var where []string
	var args []any
	for _, f := range []struct{ col, v string }{{"actor", q.Actor}, {"action", q.Action}, {"object", q.Object}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	if q.Before > 0 {
		where = append(where, "seq < ?")
		args = append(args, int64(q.Before))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, pageSize(q.Limit))
	out, err := queryAll(ctx, s, scanAudit, `SELECT seq, at_ns, actor, action, object, detail, prev, hash FROM region_audit`+
		cond+` ORDER BY seq DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("region store: audit log: %w", err)
	}
	return out, nil
}

func scanAudit(r *sql.Rows) (AuditEntry, error) {
	var a AuditEntry
	var seq, at int64
	err := r.Scan(&seq, &at, &a.Actor, &a.Action, &a.Object, &a.Detail, &a.Prev, &a.Hash)
	a.Seq, a.At = uint64(seq), time.Unix(0, at).UTC()
	return a, err
}

func (s *db) VerifyAudit(ctx context.Context) (uint64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, at_ns, actor, action, object, detail, prev, hash FROM region_audit ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("region store: verify audit: %w", err)
	}
	defer rows.Close()
	prev, n := ZeroHash, uint64(0)
	for rows.Next() {
		a, err := scanAudit(rows)
		if err != nil {
			return 0, fmt.Errorf("region store: verify audit: %w", err)
		}
		n++
		a.At = time.Unix(0, a.At.UnixNano())
		switch {
		case a.Seq != n:
			return n - 1, fmt.Errorf("region store: audit record %d is missing (next stored is %d)", n, a.Seq)
		case a.Prev != prev:
			return n - 1, fmt.Errorf("region store: audit record %d does not follow record %d", n, n-1)
		case auditHash(prev, a) != a.Hash:
			return n - 1, fmt.Errorf("region store: audit record %d was altered (its hash does not match)", n)
		}
		prev = a.Hash
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("region store: verify audit: %w", err)
	}
	return n, nil
}

// pageSize reads a Limit: 0 means 100, at most 1000.
func pageSize(limit int) int {
	switch {
	case limit <= 0:
		return 100
	case limit > 1000:
		return 1000
	}
	return limit
}

// fieldCheck collects the first validation failure, naming the field.
type fieldCheck struct{ err error }

func (c *fieldCheck) fail(field, format string, a ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, a...))
	}
}

// token: printable UTF-8 without surrounding spaces, at most max bytes.
func (c *fieldCheck) token(field, s string, required bool, max int) {
	switch {
	case s == "":
		if required {
			c.fail(field, "missing")
		}
		return
	case len(s) > max:
		c.fail(field, "%d bytes, longer than %d", len(s), max)
		return
	case strings.TrimSpace(s) != s:
		c.fail(field, "has leading or trailing spaces")
		return
	}
	for _, r := range s {
		if r == '\uFFFD' || !unicode.IsPrint(r) {
			c.fail(field, "contains the non-printable or invalid character %U", r)
			return
		}
	}
}

// text: free text, line breaks and tabs allowed, at most max bytes.
func (c *fieldCheck) text(field, s string, max int) {
	if len(s) > max {
		c.fail(field, "%d bytes, longer than %d", len(s), max)
		return
	}
	for _, r := range s {
		if r == '\uFFFD' || (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			c.fail(field, "contains the control or invalid character %U", r)
			return
		}
	}
}

func (c *fieldCheck) site(field, s string) {
	if err := wire.ValidateSegment(s); err != nil {
		c.fail(field, "%v", err)
	}
}
