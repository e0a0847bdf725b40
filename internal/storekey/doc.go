// Package storekey is the master key of a store that keeps biometric data
// encrypted at rest (the site's SQLite store, the region's gallery) and
// the sealer that encrypts values under it.
//
// A key is 32 random bytes in a file that only its owner may read. Its
// bytes never leave this package: every way of printing, logging or
// encoding a Key renders its fingerprint only. Values are sealed with
// AES-256-GCM under a key derived from the master key with HKDF, and are
// bound through the additional data to the row and column they belong to
// (BoundTo), so a value copied elsewhere fails to open.
//
// The derivation labels say "dozor/store/v1": they are part of the format
// of every database sealed so far and never change.
package storekey
