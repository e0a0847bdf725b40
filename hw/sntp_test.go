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
)

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
			if n != 48 || req[0] != 0x23 || isZero(req[40:48]) {
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
	}{
		{name: "ahead", offset: 2500 * time.Millisecond},
		{name: "behind", offset: -90 * time.Second},
		{name: "version 3 server", offset: time.Second, mutate: func(b []byte) []byte { b[0] = 3<<3 | 4; return b }},
		{name: "wrong mode", mutate: func(b []byte) []byte { b[0] = 4<<3 | 3; return b }, wantErr: "reply mode 3, want 4 (server)"},
		{name: "broadcast mode", mutate: func(b []byte) []byte { b[0] = 4<<3 | 5; return b }, wantErr: "reply mode 5"},
		{name: "old version", mutate: func(b []byte) []byte { b[0] = 2<<3 | 4; return b }, wantErr: "reply version 2"},
		{
			name:    "kiss of death",
			mutate:  func(b []byte) []byte { b[0] = 3<<6 | 4<<3 | 4; b[1] = 0; copy(b[12:16], "RATE"); return b },
			wantErr: `kiss-of-death "RATE"`,
		},
		{name: "unsynchronized stratum", mutate: func(b []byte) []byte { b[1] = 16; return b }, wantErr: "stratum 16: the server is not synchronized"},
		{name: "alarm leap indicator", mutate: func(b []byte) []byte { b[0] |= 3 << 6; return b }, wantErr: "leap indicator 3"},
		{name: "origin mismatch", mutate: func(b []byte) []byte { b[31]++; return b }, wantErr: "origin timestamp differs"},
		{name: "short packet", mutate: func(b []byte) []byte { return b[:20] }, wantErr: "short reply: 20 bytes"},
		{name: "zero transmit", mutate: func(b []byte) []byte { clear(b[40:48]); return b }, wantErr: "zero transmit timestamp"},
		{name: "zero receive", mutate: func(b []byte) []byte { clear(b[32:40]); return b }, wantErr: "zero receive timestamp"},
		{
			name:    "transmit before receive",
			mutate:  func(b []byte) []byte { copy(b[40:48], b[32:40]); b[39]++; return b },
			wantErr: "is before receive time",
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
			off, rtt, err := SNTPOffset(ctx, addr)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "sntp "+addr+": ") {
					t.Fatalf("err = %v, want it to name %s and contain %q", err, addr, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Loopback takes microseconds; the tolerance only absorbs a
			// loaded machine.
			if d := (off - c.offset).Abs(); d > time.Second {
				t.Errorf("offset %v, want %v", off, c.offset)
			}
			if rtt < 0 || rtt > 5*time.Second {
				t.Errorf("rtt %v", rtt)
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
		addr := startFakeNTP(t, silent)
		ctx, cancel := context.WithCancel(context.Background())
		stop := time.AfterFunc(100*time.Millisecond, cancel)
		defer stop.Stop()
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
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("sntpAddr(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func TestNTPTimestamps(t *testing.T) {
	cases := []struct {
		name string
		t    time.Time
		secs uint32
	}{
		{"unix epoch", time.Unix(0, 0), 2208988800},
		{"2024", time.Date(2024, 1, 1, 0, 0, 0, 500_000_000, time.UTC), 3913056000},
		{"last second of era 0", time.Date(2036, 2, 7, 6, 28, 15, 0, time.UTC), 0xffffffff},
		{"first second of era 1", time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC), 0},
		{"2100", time.Date(2100, 6, 1, 12, 0, 0, 123_456_789, time.UTC), uint32(time.Date(2100, 6, 1, 12, 0, 0, 0, time.UTC).Unix() - ntpEra0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := toNTP(c.t)
			if s := binary.BigEndian.Uint32(b); s != c.secs {
				t.Errorf("seconds %d, want %d", s, c.secs)
			}
			if back := fromNTP(b); back.Sub(c.t).Abs() > time.Nanosecond {
				t.Errorf("round trip %v, want %v", back.UTC(), c.t)
			}
		})
	}
}
