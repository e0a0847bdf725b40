// Package sqlite binds the SQLite library (mattn/go-sqlite3, cgo) for the
// stores, which are plain Go over database/sql: it is the only package that
// links SQLite. A main builds a Binding and hands it to the store it opens,
// so the packages that use a store build and test without cgo.
package sqlite

import (
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"
)

// Binding gives a store SQLite's database/sql driver and its result codes.
// The zero value is ready to use.
type Binding struct{}

// Driver returns a go-sqlite3 driver (DSNs are URI filenames with its
// parameters). When hook is not nil it runs on every new connection before
// the connection is used, with functions that execute a statement and read
// the first column of a query's first row; an error from it discards the
// connection.
func (Binding) Driver(hook func(exec func(query string) error, queryOne func(query string) (string, error)) error) driver.Driver {
	if hook == nil {
		return &sqlite3.SQLiteDriver{}
	}
	return &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		exec := func(q string) error {
			_, err := c.Exec(q, nil)
			return err
		}
		return hook(exec, func(q string) (string, error) { return queryOne(c, q) })
	}}
}

func queryOne(c *sqlite3.SQLiteConn, q string) (string, error) {
	rows, err := c.Query(q, nil)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	if len(dest) == 0 {
		return "", fmt.Errorf("%s: no columns", q)
	}
	if err := rows.Next(dest); err != nil {
		return "", err
	}
	return fmt.Sprint(dest[0]), nil
}

// Code returns SQLite's primary and extended result codes when err came
// from SQLite (https://sqlite.org/rescode.html); ok is false otherwise.
func (Binding) Code(err error) (primary, extended int, ok bool) {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return 0, 0, false
	}
	return int(se.Code), int(se.ExtendedCode), true
}
