package camera

import (
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
)

func TestRedact(t *testing.T) {
	testenv.CheckFunc(t, "Redact", Redact, map[string]string{
		"rtsp://admin:hunter2@10.0.0.5:554/Streaming/101": "rtsp://admin:***@10.0.0.5:554/Streaming/101",
		"rtsp://admin:p%40ss@cam/x":                       "rtsp://admin:***@cam/x",
		"rtsp://user@cam/x":                               "rtsp://user@cam/x",
		"rtsp://cam:8554/cam1":                            "rtsp://cam:8554/cam1",
		"rtsp://a:b@[::1]:8554/p?q=1":                     "rtsp://a:***@[::1]:8554/p?q=1",
		"rtsp://us%20er:pw@cam/":                          "rtsp://us%20er:***@cam/",
		"rtsp://a:b@cam:bad port/":                        "rtsp://<unparsable>",
		"%zz":                                             "<unparsable URL>",
	})
}

func TestScrubber(t *testing.T) {
	s := newScrubber("rtsp://admin:s3cr%2Ft@cam/x")
	msg := "dial rtsp://admin:s3cr/t@cam: refused; password s3cr/t or s3cr%2Ft"
	got := s.clean(msg)
	if strings.Contains(got, "s3cr") {
		t.Fatalf("secret left in %q", got)
	}
	if newScrubber("rtsp://cam/x").clean(msg) != msg {
		t.Fatal("scrubber without secrets changed the text")
	}
}
