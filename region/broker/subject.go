package broker

import (
	"fmt"
	"strings"
)

// Subject converts a concrete MQTT topic name (no wildcards) to the NATS
// subject nats-server's MQTT listener publishes it on: each topic level
// becomes one subject token ('/' -> '.'), and a '.' inside a level becomes
// "//". So dozor/v1/north/ik5.a/sighting is dozor.v1.north.ik5//a.sighting.
//
// The server also encodes empty levels (a leading, trailing or doubled
// '/'); the dozor tree never has them, so they are refused here, as are the
// characters the server refuses (whitespace, DEL) and the MQTT wildcards.
func Subject(topic string) (string, error) {
	if topic == "" {
		return "", fmt.Errorf("mqtt topic: empty")
	}
	levels := strings.Split(topic, "/")
	for i, l := range levels {
		if l == "" {
			return "", fmt.Errorf("mqtt topic %q: level %d is empty", topic, i+1)
		}
		if j := strings.IndexAny(l, " \t\n\r\f\x7f+#*>"); j >= 0 {
			return "", fmt.Errorf("mqtt topic %q: level %d contains %q, which has no NATS subject form", topic, i+1, l[j])
		}
		levels[i] = strings.ReplaceAll(l, ".", "//")
	}
	return strings.Join(levels, "."), nil
}

// Topic converts a NATS subject back to the MQTT topic an MQTT subscriber
// of nats-server sees it on; it is the inverse of Subject. A subject that
// no topic of Subject's domain maps to (an empty token, a wildcard, a '/'
// that is not part of a "//" pair) is an error.
func Topic(subject string) (string, error) {
	if subject == "" {
		return "", fmt.Errorf("nats subject: empty")
	}
	tokens := strings.Split(subject, ".")
	for i, tok := range tokens {
		if tok == "" {
			return "", fmt.Errorf("nats subject %q: token %d is empty", subject, i+1)
		}
		if j := strings.IndexAny(tok, " \t\n\r\f\x7f+#*>"); j >= 0 {
			return "", fmt.Errorf("nats subject %q: token %d contains %q, which has no MQTT topic form", subject, i+1, tok[j])
		}
		level := strings.ReplaceAll(tok, "//", ".")
		if strings.Contains(level, "/") {
			return "", fmt.Errorf("nats subject %q: token %d has a '/' outside a \"//\" pair", subject, i+1)
		}
		tokens[i] = level
	}
	return strings.Join(tokens, "/"), nil
}
