package hw

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/beevik/ntp"
)

// DefaultSNTPTimeout bounds SNTPOffset when ctx has no deadline, so a
// server that never answers cannot hang the caller.
const DefaultSNTPTimeout = 5 * time.Second

// SNTPOffset sends one SNTP v4 query (RFC 4330) to server ("host" or
// "host:port", port 123 by default) and returns how far the server's clock
// is ahead of this one, and the network round trip. It rejects replies
// that are not server-mode answers to this very query, kiss-of-death
// packets (stratum 0), and servers that are themselves unsynchronized
// (stratum above 15 or leap indicator 3).
//
// github.com/beevik/ntp does the exchange and validates the reply;
// SNTPOffset adds ctx, names the server in its errors, says what a
// rejection means, and also rejects what the library lets through: a
// reply version other than 3 or 4, a zero receive timestamp.
func SNTPOffset(ctx context.Context, server string) (offset, rtt time.Duration, err error) {
	addr, err := sntpAddr(server)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("sntp %s: %w", addr, err)
		}
	}()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultSNTPTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	timeout := time.Until(deadline)
	if timeout <= 0 || ctx.Err() != nil {
		return 0, 0, noReply(ctx, context.DeadlineExceeded)
	}
	var stop func() bool
	opts := ntp.QueryOptions{
		Timeout: timeout,
		Dialer: func(_, remote string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "udp", remote)
			if err != nil {
				return nil, err
			}
			// The library's socket deadline covers expiry; cancellation
			// has to unblock the read too.
			stop = context.AfterFunc(ctx, func() { conn.Close() })
			return conn, nil
		},
	}
	r, err := ntp.QueryWithOptions(addr, opts)
	if stop != nil {
		stop()
	}
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, 0, noReply(ctx, err)
		}
		return 0, 0, explainReply(err, nil)
	}
	if err := r.Validate(); err != nil {
		return 0, 0, explainReply(err, r)
	}
	// The library takes any version the server claims.
	if r.Version < 3 || r.Version > 4 {
		return 0, 0, fmt.Errorf("reply version %d, want 3 or 4", r.Version)
	}
	// The library compares the raw timestamps only; a zero receive
	// timestamp reads as the start of NTP era 1 and would put the server
	// decades ahead.
	if r.Timestamps.ServerRecv.Equal(ntpEra1) {
		return 0, 0, errors.New("zero receive timestamp")
	}
	return r.ClockOffset, r.RTT, nil
}

// ntpEra1 is when NTP era 1 begins, 2^32 s after 1900-01-01.
var ntpEra1 = time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)

func sntpAddr(server string) (string, error) {
	if server == "" {
		return "", errors.New("sntp: empty server address")
	}
	if _, _, err := net.SplitHostPort(server); err == nil {
		return server, nil
	}
	host := strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")
	if host == "" {
		return "", fmt.Errorf("sntp %s: no host", server)
	}
	return net.JoinHostPort(host, "123"), nil
}

// noReply reports a query that ctx ended (deadline or cancellation) as
// ctx's own error, so callers can test for context.DeadlineExceeded or
// context.Canceled.
func noReply(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("no reply: %w", cerr)
	}
	// The socket deadline can fire a hair before ctx's own timer.
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no reply: %w", context.DeadlineExceeded)
	}
	return err
}

// explainReply says what the library's rejection of a reply means for
// this box; r is nil when the reply was rejected before validation. The
// library's error stays wrapped for errors.Is.
func explainReply(err error, r *ntp.Response) error {
	var why string
	switch {
	case errors.Is(err, ntp.ErrInvalidMode):
		why = "not a server-mode (4) reply"
	case errors.Is(err, ntp.ErrServerResponseMismatch):
		why = "origin timestamp differs from the one sent: not a reply to this query"
	case errors.Is(err, ntp.ErrInvalidTransmitTime):
		why = "zero transmit timestamp"
	case errors.Is(err, ntp.ErrServerTickedBackwards):
		why = "transmit time is before receive time"
	case errors.Is(err, ntp.ErrInvalidTime) && r == nil:
		why = "short reply: under 48 bytes"
	case errors.Is(err, ntp.ErrKissOfDeath):
		why = fmt.Sprintf("kiss-of-death %q: the server refuses to serve", r.KissCode)
	case errors.Is(err, ntp.ErrInvalidStratum):
		why = fmt.Sprintf("stratum %d: the server is not synchronized", r.Stratum)
	case errors.Is(err, ntp.ErrInvalidLeapSecond):
		why = "leap indicator 3: the server is not synchronized"
	default:
		return err
	}
	return fmt.Errorf("%s (%w)", why, err)
}
