package camera

import (
	"time"

	"github.com/dozor-edge/dozor/internal/backoff"
)

// DefaultBackoff is the reconnection policy when Config.Backoff is zero:
// the n-th consecutive failure waits 1 s doubled n times, capped at 60 s,
// up to 20% shorter so that cameras behind one switch that went down
// together do not reconnect in lockstep (see internal/backoff).
var DefaultBackoff = backoff.Policy{Min: time.Second, Max: time.Minute, Jitter: 0.2}
