package eval

import (
	"math"
	"strings"
)

var nan = math.NaN()

// containsParts reports whether err's message contains the parts of want,
// split at "…", in order; "…" stands for text that varies between runs,
// such as a temporary directory.
func containsParts(err error, want string) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	for _, part := range strings.Split(want, "…") {
		k := strings.Index(msg, part)
		if k < 0 {
			return false
		}
		msg = msg[k+len(part):]
	}
	return true
}
