package hw

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/beevik/ntp"

	"github.com/dozor-edge/dozor/internal/testenv"
)

// ntpEra0 is the NTP epoch (1900-01-01) in Unix seconds.
const ntpEra0 = -2208988800

// toNTP encodes t as a 64-bit NTP timestamp; the seconds wrap at 2^32, so
// times from 2036-02-07 on land in era 1.
func toNTP(t time.Time) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint32(b, uint32(t.Unix()-ntpEra0))
	binary.BigEndian.PutUint32(b[4:], uint32(uint64(t.Nanosecond())<<32/1e9))
	return b
}

// startFakeNTP answers each query with whatever reply returns for it (nil:
// stay silent) until the test ends.
func startFakeNTP(t *testing.T, reply func(req []byte, now time.Time) []byte) string {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return // closed by the cleanup below
			}
			now := time.Now()
			req := buf[:n]
			if n != 48 || req[0] != 0x23 || bytes.Equal(req[40:48], make([]byte, 8)) {
				t.Errorf("query % x is not an SNTP v4 client request", req)
				continue
			}
			if resp := reply(bytes.Clone(req), now); resp != nil {
				_, _ = conn.WriteToUDP(resp, from)
			}
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return conn.LocalAddr().String()
}

// serverReply answers as a stratum-2 server whose clock runs ahead by
// offset.
func serverReply(req []byte, now time.Time, offset time.Duration) []byte {
	b := make([]byte, 48)
	b[0] = 4<<3 | 4
	b[1] = 2
	b[2] = 6
	b[3] = 0xec // precision 2^-20 s
	copy(b[12:16], []byte{192, 0, 2, 1})
	server := now.Add(offset)
	copy(b[16:24], toNTP(server.Add(-time.Minute)))
	copy(b[24:32], req[40:48])
	copy(b[32:40], toNTP(server))
	copy(b[40:48], toNTP(server.Add(30*time.Microsecond)))
	return b
}

func TestSNTPOffset(t *testing.T) {
	cases := []struct {
		name    string
		offset  time.Duration
		mutate  func(b []byte) []byte
		wantErr string
		is      error // the library's verdict, where it gives one
	}{
		{name: "ahead", offset: 2500 * time.Millisecond},
		{name: "behind", offset: -90 * time.Second},
		{name: "server in NTP era 1", offset: time.Until(time.Date(2040, 3, 1, 0, 0, 0, 0, time.UTC))},
		{name: "version 3 server", offset: time.Second, mutate: func(b []byte) []byte { b[0] = 3<<3 | 4; return b }},
		{name: "wrong mode", mutate: func(b []byte) []byte { b[0] = 4<<3 | 3; return b }, wantErr: "not a server-mode (4) reply", is: ntp.ErrInvalidMode},
		{name: "broadcast mode", mutate: func(b []byte) []byte { b[0] = 4<<3 | 5; return b }, wantErr: "not a server-mode (4) reply", is: ntp.ErrInvalidMode},
		{name: "old version", mutate: func(b []byte) []byte { b[0] = 2<<3 | 4; return b }, wantErr: "reply version 2"},
		{
			name:    "kiss of death",
			mutate:  func(b []byte) []byte { b[0] = 3<<6 | 4<<3 | 4; b[1] = 0; copy(b[12:16], "RATE"); return b },
			wantErr: `kiss-of-death "RATE"`,
			is:      ntp.ErrKissOfDeath,
		},
		{name: "unsynchronized stratum", mutate: func(b []byte) []byte { b[1] = 16; return b }, wantErr: "stratum 16: the server is not synchronized", is: ntp.ErrInvalidStratum},
		{name: "alarm leap indicator", mutate: func(b []byte) []byte { b[0] |= 3 << 6; return b }, wantErr: "leap indicator 3", is: ntp.ErrInvalidLeapSecond},
		{name: "origin mismatch", mutate: func(b []byte) []byte { b[31]++; return b }, wantErr: "origin timestamp differs", is: ntp.ErrServerResponseMismatch},
		{name: "short packet", mutate: func(b []byte) []byte { return b[:20] }, wantErr: "short reply"},
		{name: "zero transmit", mutate: func(b []byte) []byte { clear(b[40:48]); return b }, wantErr: "zero transmit timestamp", is: ntp.ErrInvalidTransmitTime},
		{name: "zero receive", mutate: func(b []byte) []byte { clear(b[32:40]); return b }, wantErr: "zero receive timestamp"},
		{
			name:    "transmit before receive",
			mutate:  func(b []byte) []byte { copy(b[40:48], b[32:40]); b[39]++; return b },
			wantErr: "transmit time is before receive time",
			is:      ntp.ErrServerTickedBackwards,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := startFakeNTP(t, func(req []byte, now time.Time) []byte {
				b := serverReply(req, now, c.offset)
				if c.mutate != nil {
					b = c.mutate(b)
				}
				return b
			})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			off, rtt, err := SNTPOffset(ctx, addr)
			took := time.Since(start)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "sntp "+addr+": ") {
					t.Fatalf("err = %v, want it to name %s and contain %q", err, addr, c.wantErr)
				}
				if c.is != nil && !errors.Is(err, c.is) {
					t.Fatalf("err = %v, want it to wrap %v", err, c.is)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The round trip happened within the call, and the offset is
			// exact to within half of it (the server's clock was read
			// somewhere between query and reply), give or take a
			// millisecond for the fake server's 30 µs and the rounding.
			if rtt < 0 || rtt > took {
				t.Errorf("rtt %v, in a call of %v", rtt, took)
			}
			if d := (off - c.offset).Abs(); d > rtt/2+time.Millisecond {
				t.Errorf("offset %v, want %v within half the %v round trip", off, c.offset, rtt)
			}
		})
	}
}

func TestSNTPOffsetNoAnswer(t *testing.T) {
	silent := func([]byte, time.Time) []byte { return nil }
	t.Run("deadline", func(t *testing.T) {
		addr := startFakeNTP(t, silent)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, _, err := SNTPOffset(ctx, addr)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "sntp "+addr+": no reply") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// Cancelled once the query has arrived: while the answer is awaited.
		addr := startFakeNTP(t, func([]byte, time.Time) []byte { cancel(); return nil })
		_, _, err := SNTPOffset(ctx, addr)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("nobody listening", func(t *testing.T) {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		addr := conn.LocalAddr().String()
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, _, err := SNTPOffset(ctx, addr); err == nil || !strings.Contains(err.Error(), addr) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSNTPOffsetWithoutDeadline(t *testing.T) {
	addr := startFakeNTP(t, func(req []byte, now time.Time) []byte { return serverReply(req, now, 0) })
	if _, _, err := SNTPOffset(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
}

func TestSNTPAddr(t *testing.T) {
	cases := []struct{ in, want, wantErr string }{
		{in: "pool.ntp.org", want: "pool.ntp.org:123"},
		{in: "10.0.0.1:1123", want: "10.0.0.1:1123"},
		{in: "::1", want: "[::1]:123"},
		{in: "[::1]", want: "[::1]:123"},
		{in: "[fe80::1]:5", want: "[fe80::1]:5"},
		{in: "", wantErr: "empty server address"},
		{in: "[]", wantErr: "no host"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := sntpAddr(c.in)
			if testenv.ErrAsWanted(t, err, c.wantErr) && got != c.want {
				t.Errorf("sntpAddr(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}
