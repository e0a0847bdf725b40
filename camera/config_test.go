package camera

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"

	"github.com/dozor-edge/dozor/internal/backoff"
)

func TestConfigValidate(t *testing.T) {
	good := Config{ID: "c1", URL: "rtsp://u:secret@10.0.0.1:554/s"}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no id", func(c *Config) { c.ID = "" }, "id is empty"},
		{"http", func(c *Config) { c.URL = "http://u:secret@h/x" }, "scheme"},
		{"no host", func(c *Config) { c.URL = "rtsp:///x" }, "no host"},
		{"garbage url", func(c *Config) { c.URL = "rtsp://u:secret@h:99999999999/x%" }, "url"},
		{"transport", func(c *Config) { c.Transport = "sctp" }, "transport"},
		{"rate", func(c *Config) { c.SampleRate = 5000 }, "sample rate"},
		{"max side", func(c *Config) { c.MaxSide = 100000 }, "max side"},
		{"chip max side", func(c *Config) { c.ChipMaxSide = 100000 }, "chip max side"},
		{"stall after packet timeout", func(c *Config) { c.StallAfter = time.Minute }, "timeouts"},
		{"backoff", func(c *Config) { c.Backoff = backoff.Policy{Min: time.Second, Max: time.Millisecond} }, "backoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			c.setDefaults()
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error quotes the password: %v", err)
			}
		})
	}
	c := good
	c.setDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Transport != TransportTCP || c.PacketTimeout != 10*time.Second || c.PictureTimeout != 15*time.Second || c.Backoff != DefaultBackoff {
		t.Fatalf("defaults: %+v", c)
	}
	if _, err := New(good, Options{Out: NewLatest()}); err == nil {
		t.Fatal("New without a decoder factory")
	}
	if _, err := New(good, Options{Decoders: func(Codec) (Decoder, error) { return nil, nil }}); err == nil {
		t.Fatal("New without a hand-off")
	}
}

func TestClassify(t *testing.T) {
	c := &Camera{scrub: newScrubber("rtsp://u:pw123@h/x")}
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		err    error
		reason Reason
		status int
	}{
		{fmt.Errorf("describe: %w", liberrors.ErrClientBadStatusCode{Code: 401, Message: "Unauthorized"}), ReasonUnauthorized, 401},
		{liberrors.ErrClientBadStatusCode{Code: 403}, ReasonForbidden, 403},
		{liberrors.ErrClientBadStatusCode{Code: 404}, ReasonNotFound, 404},
		{liberrors.ErrClientBadStatusCode{Code: 503}, ReasonStatus, 503},
		{fmt.Errorf("x: %w", ErrUnsupportedCodec), ReasonUnsupportedCodec, 0},
		{fmt.Errorf("describe: %w", dial), ReasonUnreachable, 0},
		{liberrors.ErrClientTCPTimeout{}, ReasonNoPackets, 0},
		{liberrors.ErrClientRequestTimedOut{}, ReasonTimeout, 0},
		{context.DeadlineExceeded, ReasonTimeout, 0},
		{io.EOF, ReasonDisconnected, 0},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, ReasonDisconnected, 0},
		{liberrors.ErrClientSDPInvalid{Err: errors.New("bad")}, ReasonProtocol, 0},
		{nil, ReasonDisconnected, 0},
		{errors.New("pw123 something odd"), ReasonDisconnected, 0},
	} {
		r := c.classify(tc.err)
		if r.reason != tc.reason || r.status != tc.status {
			t.Errorf("%v: %q/%d, want %q/%d", tc.err, r.reason, r.status, tc.reason, tc.status)
		}
		if strings.Contains(r.detail, "pw123") {
			t.Errorf("detail leaks the password: %q", r.detail)
		}
	}
	for _, r := range []Reason{ReasonUnauthorized, ReasonNotFound, ReasonUnsupportedCodec} {
		if !r.failed() {
			t.Errorf("%q should need a person", r)
		}
	}
	for _, r := range []Reason{ReasonUnreachable, ReasonNoPackets, ReasonNoPictures, ReasonDisconnected} {
		if r.failed() {
			t.Errorf("%q should be retried patiently", r)
		}
	}
	if StateBackingOff.String() != "backing off" || State(99).String() != "unknown" {
		t.Fatal("state names")
	}
}

func TestParseCodec(t *testing.T) {
	for in, want := range map[string]Codec{"h264": H264, "H265": H265, "hevc": H265} {
		if got, err := ParseCodec(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	if _, err := ParseCodec("mjpeg"); !errors.Is(err, ErrUnsupportedCodec) {
		t.Fatal(err)
	}
}

// Stream errors are summarised once per period, never logged one by one.
func TestErrorSummary(t *testing.T) {
	var buf bytes.Buffer
	c, err := New(Config{ID: "c1", URL: "rtsp://u:pw123@h/x"}, Options{
		Logger: slog.New(slog.NewTextHandler(&buf, nil)), Out: NewLatest(),
		Decoders: func(Codec) (Decoder, error) { return nil, ErrUnsupportedCodec },
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum errSummary
	c.summarise(&sum, epoch)
	for i := range 700 {
		c.base.RTPErrors++
		c.noteErr(fmt.Errorf("depacketise: bad packet %d from rtsp://u:pw123@h/x", i))
		c.summarise(&sum, epoch.Add(time.Duration(i)*100*time.Millisecond))
	}
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 1 {
		t.Fatalf("%d log lines for 700 errors over 70 s, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "rtp_errors=") || !strings.Contains(out, "bad packet") || strings.Contains(out, "pw123") {
		t.Fatalf("summary: %s", out)
	}
	t.Log(strings.TrimSpace(out))
}
