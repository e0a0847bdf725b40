package webauth

import (
	"errors"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
)

func TestHashAndCheck(t *testing.T) {
	h := testHash()
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry the expected parameters", h)
	}
	other, err := HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if other == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	// A hash made with other parameters (an older setting) still verifies.
	old := params{memory: 64, time: 1, threads: 2, salt: []byte("0123456789abcdef")}
	old.key = derive(testPassword, old, 24)
	for _, c := range []struct {
		name, hash, pw string
		want           bool
	}{
		{"right", h, testPassword, true},
		{"wrong", h, testPassword + "!", false},
		{"empty", h, "", false},
		{"too long", h, strings.Repeat("a", MaxPasswordBytes+1), false},
		{"other parameters", old.encode(), testPassword, true},
		{"other parameters, wrong", old.encode(), "correct horse", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := CheckPassword(c.hash, c.pw)
			if err != nil || got != c.want {
				t.Fatalf("CheckPassword = %v, %v; want %v", got, err, c.want)
			}
		})
	}
	if _, err := HashPassword(strings.Repeat("a", MaxPasswordBytes+1)); err == nil {
		t.Fatal("a password beyond MaxPasswordBytes was hashed")
	}
}

// parseCases are PHC strings and the error each must give ("" parses).
// They seed FuzzParseHash.
var parseCases = []struct{ name, hash, err string }{
	{"ours", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", ""},
	{"small", "$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc$AAECAwQFBgcICQoLDA0ODw", ""},
	{"empty", "", "want 5 fields"},
	{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "not argon2id"},
	{"bcrypt", "$2b$10$abcdefghijklmnopqrstuv", "want 5 fields"},
	{"old version", "$argon2id$v=16$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "version"},
	{"no version", "$argon2id$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "want 5 fields"},
	{"version not a number", "$argon2id$v=x$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "version"},
	{"parameters reordered", "$argon2id$v=19$t=2,m=19456,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "want m="},
	{"parameter missing", "$argon2id$v=19$m=19456,t=2$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "want m=,t=,p="},
	{"leading zero", "$argon2id$v=19$m=019456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "plain decimal"},
	{"sign", "$argon2id$v=19$m=+19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "plain decimal"},
	{"memory overflow", "$argon2id$v=19$m=4294967296,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "plain decimal"},
	{"memory huge", "$argon2id$v=19$m=4194304,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "m=4194304"},
	{"memory below lanes", "$argon2id$v=19$m=15,t=1,p=2$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "m=15"},
	{"no passes", "$argon2id$v=19$m=19456,t=0,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "t=0"},
	{"many passes", "$argon2id$v=19$m=19456,t=1000,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "t=1000"},
	{"no lanes", "$argon2id$v=19$m=19456,t=2,p=0$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "p=0"},
	{"lanes overflow uint8", "$argon2id$v=19$m=19456,t=2,p=257$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "p=257"},
	{"salt padded", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "salt is not base64"},
	{"salt url alphabet", "$argon2id$v=19$m=19456,t=2,p=1$MDEy_zQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "salt is not base64"},
	{"salt short", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMw$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "salt is 4 bytes"},
	{"hash short", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAw", "hash is 4 bytes"},
	{"hash empty", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$", "hash is 0 bytes"},
	{"hash not canonical", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9", "hash is not base64"},
	{"newline in hash", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMU\nFRYXGBkaGxwdHh8", "hash is not base64"},
	{"trailing field", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8$", "want 5 fields"},
	{"leading text", "x$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "want 5 fields"},
}

func TestParseHash(t *testing.T) {
	for _, c := range parseCases {
		t.Run(c.name, func(t *testing.T) {
			p, err := parseHash(c.hash)
			if !testenv.ErrAsWanted(t, err, c.err) {
				if !errors.Is(err, errHash) {
					t.Errorf("error %v does not wrap errHash", err)
				}
				// The message must not quote the stored value.
				if fields := strings.Split(c.hash, "$"); len(fields) == 6 && fields[5] != "" && strings.Contains(err.Error(), fields[5]) {
					t.Errorf("error %q quotes the hash", err)
				}
				return
			}
			if got := p.encode(); got != c.hash {
				t.Errorf("re-encoded as %q, want %q", got, c.hash)
			}
		})
	}
	if _, err := CheckPassword(parseCases[2].hash, testPassword); err == nil {
		t.Error("CheckPassword accepted an empty hash")
	}
}

// Whatever a stored hash holds, parsing never panics, and what parses
// re-encodes to the same string (it has exactly one spelling).
func FuzzParseHash(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.hash)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseHash(s)
		if err != nil {
			return
		}
		if got := p.encode(); got != s {
			t.Fatalf("%q parsed but re-encodes as %q", s, got)
		}
		if p.memory > maxMemoryKiB || p.time > maxTime || p.threads > maxThreads || len(p.key) > maxKeyBytes {
			t.Fatalf("%q parsed beyond the bounds: %+v", s, p)
		}
	})
}

func TestPasswordPolicy(t *testing.T) {
	for _, c := range []struct{ name, pw, err string }{
		{"good", "correct horse", ""},
		{"exactly ten", "abcdefghij", ""},
		{"cyrillic ten characters", "пароль-для", ""},
		{"empty", "", "has 0 characters, at least 10"},
		{"nine", "abcdefghi", "has 9 characters, at least 10"},
		// Nine Cyrillic letters are 18 bytes but still nine characters.
		{"nine cyrillic", "парольдля", "has 9 characters"},
		{"one character", "aaaaaaaaaaaa", "repeats one character"},
		{"one cyrillic character", "жжжжжжжжжжжж", "repeats one character"},
		{"too long", strings.Repeat("ab", 129), "258 bytes long, at most 256"},
		{"not utf-8", "abcdefghij\xff", "not valid UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := PasswordPolicy(c.pw)
			testenv.ErrAsWanted(t, err, c.err)
			if err != nil && c.pw != "" && strings.Contains(err.Error(), c.pw) {
				t.Errorf("message %q echoes the password", err)
			}
		})
	}
}
