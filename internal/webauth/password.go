package webauth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// The argon2id parameters of new hashes: OWASP's first recommendation
// (19 MiB of memory, 2 passes, 1 lane). On a Cortex-A72/A76 class box a
// hash takes in the order of 50-100 ms and 19 MiB, which a login can
// afford and a brute force at this rate cannot; more memory would compete
// with the recognisers for the box's few GiB. One lane because argon2's
// lanes only help when spare cores wait, and the recognisers keep them
// busy.
const (
	hashMemoryKiB = 19 * 1024
	hashTime      = 2
	hashThreads   = 1
	saltBytes     = 16
	keyBytes      = 32
)

// Bounds on the parameters of a stored hash. A hash outside them was not
// made by this package; refusing it keeps a doctored row from making one
// login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 256 * 1024
	maxTime      = 16
	maxThreads   = 16
	minSaltBytes = 8
	maxSaltBytes = 64
	minKeyBytes  = 16
	maxKeyBytes  = 64
)

// Password length limits. MaxPasswordBytes keeps the hashing of one
// request bounded; MinPasswordChars is the floor a guessable password
// must clear given the login limits.
const (
	MinPasswordChars = 10
	MaxPasswordBytes = 256
)

// hashSlots bounds the argon2 computations running at once in the
// process: each takes hashMemoryKiB, and a burst of logins must not take
// the recognisers' memory. A login waits for a slot rather than failing.
var hashSlots = make(chan struct{}, 2)

// b64 is the PHC strings' base64: standard alphabet, no padding, and
// strict so that each value has exactly one spelling.
var b64 = base64.RawStdEncoding.Strict()

// params are the argon2id settings decoded from a PHC string.
type params struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// HashPassword hashes pw with argon2id under a fresh random salt and
// returns the PHC string to store:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>. It does not apply
// PasswordPolicy (a caller checks that first, with its message), but
// refuses a password longer than MaxPasswordBytes.
func HashPassword(pw string) (string, error) {
	if len(pw) > MaxPasswordBytes {
		return "", fmt.Errorf("password is %d bytes long, at most %d are allowed", len(pw), MaxPasswordBytes)
	}
	p := params{memory: hashMemoryKiB, time: hashTime, threads: hashThreads, salt: make([]byte, saltBytes)}
	if _, err := rand.Read(p.salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	p.key = derive(pw, p, keyBytes)
	return p.encode(), nil
}

// CheckPassword reports whether pw matches the PHC string encoded. The
// error is for an encoded string this package cannot read (never for a
// wrong password); its message names the part at fault but never quotes
// the hash.
func CheckPassword(encoded, pw string) (bool, error) {
	p, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	if len(pw) > MaxPasswordBytes {
		return false, nil
	}
	got := derive(pw, p, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(got, p.key) == 1, nil
}

// dummyCheck costs what checking a password against a hash of the
// current parameters costs, so that a login for a name with no account
// takes as long as one for a real account.
func dummyCheck(pw string) {
	if len(pw) > MaxPasswordBytes {
		return
	}
	derive(pw, params{memory: hashMemoryKiB, time: hashTime, threads: hashThreads, salt: make([]byte, saltBytes)}, keyBytes)
}

func derive(pw string, p params, n uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, n)
}

func (p params) encode() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(p.salt), b64.EncodeToString(p.key))
}

// errHash is wrapped by every error of parseHash.
var errHash = errors.New("password hash is not a valid argon2id PHC string")

// parseHash reads a PHC string as HashPassword writes it. Everything is
// checked: the algorithm and version, the parameters (each present once,
// in order, in decimal without leading zeros, within bounds), and the
// salt and key (canonical base64 of a sane length). Any other spelling is
// an error, so a value that parses re-encodes to itself.
func parseHash(s string) (params, error) {
	bad := func(format string, a ...any) (params, error) {
		return params{}, fmt.Errorf("%w: %s", errHash, fmt.Sprintf(format, a...))
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want 5 fields separated by $, got %d", len(parts)-1)
	}
	if parts[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	if v, ok := strings.CutPrefix(parts[2], "v="); !ok {
		return bad("version field is not v=N")
	} else if n, err := decimal(v, 32); err != nil || n != argon2.Version {
		return bad("version is not %d", argon2.Version)
	}
	var p params
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("parameters: want m=,t=,p=")
	}
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return bad("parameter %d: want %s=", i+1, name)
		}
		n, err := decimal(v, 32)
		if err != nil {
			return bad("parameter %s: %v", name, err)
		}
		switch name {
		case "m":
			p.memory = uint32(n)
		case "t":
			if n < 1 || n > maxTime {
				return bad("t=%d: want 1..%d", n, maxTime)
			}
			p.time = uint32(n)
		case "p":
			if n < 1 || n > maxThreads {
				return bad("p=%d: want 1..%d", n, maxThreads)
			}
			p.threads = uint8(n)
		}
	}
	// argon2 needs 8 KiB per lane at least.
	if p.memory < 8*uint32(p.threads) || p.memory > maxMemoryKiB {
		return bad("m=%d: want %d..%d KiB", p.memory, 8*uint32(p.threads), maxMemoryKiB)
	}
	var err error
	if p.salt, err = unbase64(parts[4]); err != nil {
		return bad("salt is not base64")
	}
	if n := len(p.salt); n < minSaltBytes || n > maxSaltBytes {
		return bad("salt is %d bytes, want %d..%d", n, minSaltBytes, maxSaltBytes)
	}
	if p.key, err = unbase64(parts[5]); err != nil {
		return bad("hash is not base64")
	}
	if n := len(p.key); n < minKeyBytes || n > maxKeyBytes {
		return bad("hash is %d bytes, want %d..%d", n, minKeyBytes, maxKeyBytes)
	}
	return p, nil
}

// unbase64 decodes canonical unpadded standard base64. The decoder
// skips newlines, so the result is re-encoded to be sure it was spelled
// the one way.
func unbase64(s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err == nil && b64.EncodeToString(b) != s {
		err = errors.New("not canonical base64")
	}
	return b, err
}

// decimal parses a canonical unsigned decimal: digits only, no sign, no
// leading zero.
func decimal(s string, bits int) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, errors.New("not a plain decimal number")
	}
	return n, nil
}

// PasswordPolicy checks a new password: at least MinPasswordChars
// characters, at most MaxPasswordBytes bytes of valid UTF-8, and not one
// character repeated. The message says what to change and never echoes
// the password.
func PasswordPolicy(pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case !utf8.ValidString(pw):
		return errors.New("password is not valid UTF-8 text")
	case len(pw) > MaxPasswordBytes:
		return fmt.Errorf("password is %d bytes long, at most %d are allowed", len(pw), MaxPasswordBytes)
	case n < MinPasswordChars:
		return fmt.Errorf("password has %d characters, at least %d are required", n, MinPasswordChars)
	}
	first, _ := utf8.DecodeRuneInString(pw)
	if strings.Trim(pw, string(first)) == "" {
		return errors.New("password repeats one character: choose one that is harder to guess")
	}
	return nil
}
