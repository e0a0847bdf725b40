package hw

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"
)

// DefaultSNTPTimeout bounds SNTPOffset when ctx has no deadline, so a
// server that never answers cannot hang the caller.
const DefaultSNTPTimeout = 5 * time.Second

// ntpEra0 is the NTP epoch (1900-01-01) in Unix seconds.
const ntpEra0 = -2208988800

// SNTPOffset sends one SNTP v4 query (RFC 4330) to server ("host" or
// "host:port", port 123 by default) and returns how far the server's clock
// is ahead of this one, and the network round trip. It rejects replies
// that are not server-mode answers to this very query, kiss-of-death
// packets (stratum 0), and servers that are themselves unsynchronized
// (stratum above 15 or leap indicator 3).
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
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return 0, 0, err
	}
	// A deadline only covers expiry; cancellation has to unblock the read
	// too.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req := make([]byte, 48)
	req[0] = 4<<3 | 3 // leap 0, version 4, mode 3 (client)
	t1 := time.Now()
	// The server echoes the transmit timestamp as the reply's origin. Its
	// fraction is random rather than the clock, so a forged or stray reply
	// cannot pass by guessing the time; t1 itself is kept locally.
	binary.BigEndian.PutUint32(req[40:], uint32(t1.Unix()-ntpEra0))
	binary.BigEndian.PutUint32(req[44:], rand.Uint32())
	if _, err := conn.Write(req); err != nil {
		return 0, 0, timeoutErr(ctx, err)
	}
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	t4 := time.Now()
	if err != nil {
		return 0, 0, timeoutErr(ctx, err)
	}
	t2, t3, err := checkSNTPReply(buf[:n], req[40:48])
	if err != nil {
		return 0, 0, err
	}
	// t1 and t4 carry monotonic readings, so the local interval survives a
	// clock step during the query; the offset needs wall time, which Sub
	// uses as soon as one side (the server's) has no monotonic reading.
	offset = (t2.Sub(t1) + t3.Sub(t4)) / 2
	rtt = max(t4.Sub(t1)-t3.Sub(t2), 0)
	return offset, rtt, nil
}

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

// timeoutErr turns the socket deadline that ctx set into ctx's own error,
// so callers can test for context.DeadlineExceeded or context.Canceled.
func timeoutErr(ctx context.Context, err error) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("no reply: %w", cerr)
	}
	// The socket deadline can fire a hair before ctx's own timer.
	return fmt.Errorf("no reply: %w", context.DeadlineExceeded)
}

// checkSNTPReply validates a reply as RFC 4330 section 5 asks and returns
// the server's receive and transmit times.
func checkSNTPReply(b, origin []byte) (recv, xmit time.Time, err error) {
	if len(b) < 48 {
		return time.Time{}, time.Time{}, fmt.Errorf("short reply: %d bytes, want at least 48", len(b))
	}
	leap, version, mode := b[0]>>6, b[0]>>3&7, b[0]&7
	stratum := b[1]
	switch {
	case mode != 4:
		return time.Time{}, time.Time{}, fmt.Errorf("reply mode %d, want 4 (server)", mode)
	case version < 3 || version > 4:
		return time.Time{}, time.Time{}, fmt.Errorf("reply version %d, want 3 or 4", version)
	case stratum == 0:
		return time.Time{}, time.Time{}, fmt.Errorf("kiss-of-death %q: the server refuses to serve", kissCode(b[12:16]))
	case stratum > 15:
		return time.Time{}, time.Time{}, fmt.Errorf("stratum %d: the server is not synchronized", stratum)
	case leap == 3:
		return time.Time{}, time.Time{}, errors.New("leap indicator 3: the server is not synchronized")
	case !bytes.Equal(b[24:32], origin):
		return time.Time{}, time.Time{}, errors.New("origin timestamp differs from the one sent: not a reply to this query")
	case isZero(b[40:48]):
		return time.Time{}, time.Time{}, errors.New("zero transmit timestamp")
	case isZero(b[32:40]):
		return time.Time{}, time.Time{}, errors.New("zero receive timestamp")
	}
	recv, xmit = fromNTP(b[32:40]), fromNTP(b[40:48])
	if xmit.Before(recv) {
		return time.Time{}, time.Time{}, fmt.Errorf("transmit time %v is before receive time %v", xmit, recv)
	}
	return recv, xmit, nil
}

func kissCode(b []byte) string {
	return strings.TrimRight(strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return -1
		}
		return r
	}, string(b)), " ")
}

func isZero(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

// fromNTP decodes a 64-bit NTP timestamp. Seconds with the top bit clear
// belong to era 1 (from 2036-02-07), as RFC 4330 section 3 suggests; this
// covers 1968 to 2104.
func fromNTP(b []byte) time.Time {
	secs := int64(binary.BigEndian.Uint32(b))
	if secs&0x80000000 == 0 {
		secs += 1 << 32
	}
	frac := uint64(binary.BigEndian.Uint32(b[4:]))
	return time.Unix(secs+ntpEra0, int64(frac*1e9>>32))
}
