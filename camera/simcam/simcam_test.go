package simcam

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"

	"github.com/dozor-edge/dozor/camera"
)

func tinyClip() *camera.Clip {
	sps := []byte{0x67, 0x42, 0xc0, 0x1e, 0xda, 0x2, 0x80, 0xbf, 0xe5, 0xc0, 0x5a, 0x80, 0x80, 0x80, 0xa0, 0x0, 0x0, 0xc, 0x80, 0x0, 0x2, 0xed, 0x41, 0xe2, 0xc5, 0xd4}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	return &camera.Clip{Codec: camera.H264, Width: 640, Height: 360, FPS: 25, Params: [][]byte{sps, pps}, Period: 40 * time.Millisecond,
		Units: []camera.AccessUnit{{NALUs: [][]byte{sps, pps, {0x65, 1, 2, 3}}, Random: true}}}
}

func TestListenValidates(t *testing.T) {
	for name, tc := range map[string]struct {
		addr string
		cfg  Config
		want string
	}{
		"no clip":       {"127.0.0.1:0", Config{}, "clip"},
		"empty path":    {"127.0.0.1:0", Config{Clip: tinyClip(), Path: "/"}, "path"},
		"query in path": {"127.0.0.1:0", Config{Clip: tinyClip(), Path: "/a?b"}, "path"},
		"half creds":    {"127.0.0.1:0", Config{Clip: tinyClip(), User: "u"}, "password"},
		"odd UDP port":  {"127.0.0.1:0", Config{Clip: tinyClip(), UDP: true, UDPPort: 8001}, "even"},
		"bad address":   {"127.0.0.1:99999", Config{Clip: tinyClip()}, "listen"},
		"drop every":    {"127.0.0.1:0", Config{Clip: tinyClip(), DropEvery: -time.Second}, "drop"},
	} {
		s, err := Listen(tc.addr, tc.cfg)
		if err == nil {
			s.ln.Close()
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, tc.want)
		}
	}
}

func TestURLAndFaults(t *testing.T) {
	s, err := Listen("127.0.0.1:0", Config{Clip: tinyClip(), User: "op", Pass: "p@ss word"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.ln.Close()
	if u := s.URL(); !strings.HasPrefix(u, "rtsp://op:p%40ss%20word@127.0.0.1:") || !strings.HasSuffix(u, "/cam1") {
		t.Fatalf("URL %s", u)
	}
	if r := camera.Redact(s.URL()); strings.Contains(r, "word") {
		t.Fatalf("redacted URL %s", r)
	}
	for _, f := range []Fault{FaultNone, FaultSilent, FaultFreeze, FaultGarbage, FaultCorrupt} {
		g, err := ParseFault(f.String())
		if err != nil || g != f {
			t.Errorf("fault %v round trip: %v %v", f, g, err)
		}
		s.SetFault(f)
	}
	if _, err := ParseFault("explode"); err == nil {
		t.Fatal("unknown fault accepted")
	}
}

func TestCorruptKeepsParameterSets(t *testing.T) {
	au := tinyClip().Units[0].NALUs
	for n := uint64(0); n < 40; n += 4 {
		out := corrupt(camera.H264, au, n)
		if string(out[0]) != string(au[0]) || string(out[1]) != string(au[1]) {
			t.Fatalf("n=%d: parameter sets damaged", n)
		}
	}
}

// Ready stays open until Run serves the stream (a DESCRIBE before that
// gets a 503, or no answer before Run starts) and a DESCRIBE made as soon
// as it is closed gets the stream: what simcamtest.RunServer waits for.
func TestReadyOnceTheStreamIsServed(t *testing.T) {
	s, err := Listen("127.0.0.1:0", Config{Clip: tinyClip()})
	if err != nil {
		t.Fatal(err)
	}
	describe := func() error {
		u, err := base.ParseURL(s.URL())
		if err != nil {
			t.Fatal(err)
		}
		c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
		if err := c.Start2(); err != nil {
			return err
		}
		defer c.Close()
		_, _, err = c.Describe(u)
		return err
	}
	select {
	case <-s.Ready():
		t.Fatal("ready before Run")
	default:
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run ended before serving: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not ready within 10 s")
	}
	if err := describe(); err != nil {
		t.Fatalf("DESCRIBE once ready: %v", err)
	}
}
