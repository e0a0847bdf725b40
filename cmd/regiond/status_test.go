package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// healthServer serves body as /healthz with code, as regiond does.
func healthServer(t *testing.T, code int, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStatus(t *testing.T) {
	recorded, err := os.ReadFile("testdata/healthz.json")
	if err != nil {
		t.Fatal(err)
	}
	unhealthy := bytes.Replace(recorded, []byte(`"healthy": true,`),
		[]byte(`"healthy": false, "problems": ["not connected to NATS: events are not being received"],`), 1)
	for _, tc := range []struct {
		name  string
		code  int
		body  []byte
		args  []string
		exit  int
		want  []string // lines or fragments of standard output
		error string   // a fragment of standard error
	}{
		{
			name: "healthy", code: 200, body: recorded, exit: 0,
			want: []string{
				"region north: healthy (version 1.4.0, started 2026-03-01T08:00:00Z)",
				"SITE   STATE    LAST SEEN             CAMERAS  SEQ (CONTIGUOUS/HIGHEST)  OPEN GAPS       GALLERY (IN FORCE/ISSUED)",
				"ik5    online   2026-03-01T12:00:05Z  3/4      9120/9120                 0               17/17",
				"ik6.a  offline  2026-03-01T11:42:10Z  0/2      6042/6110                 2 (23 missing)  21/24 (behind) last ack failed: bad signature",
				"ik7    —        —                     0/0      0/0                       0               0/3 (behind)",
				"gallery: sent 41 revisions (2 full), 388 chunks, 98304512 bytes; errors 0",
				"gallery signing key: ed25519:",
				"enrolment at the region: on (model fused(faceplugin+dlibonnx)/flip)",
				"ingest (2 workers): received 15240, stored 15201, duplicates 31, quarantined 2, store errors 6, resend requests 4",
				"stream DOZOR_north: 15234 messages, 12 pending, 3 unacked",
			},
		},
		{
			name: "unhealthy", code: 503, body: unhealthy, exit: 1,
			want: []string{"region north: UNHEALTHY", "problem: not connected to NATS", "ik6.a  offline"},
		},
		{name: "not a health document", code: 200, body: []byte(`{"ok":true}`), exit: 1, error: "region: missing"},
		{name: "not JSON", code: 200, body: []byte(`<html>`), exit: 1, error: "not a /healthz document"},
		{name: "other status", code: 404, body: nil, exit: 1, error: "404 Not Found"},
		{name: "bad url", args: []string{"-url", "127.0.0.1:8090"}, exit: 2, error: "-url"},
		{name: "extra argument", args: []string{"now"}, exit: 2, error: "usage: regiond status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if args == nil {
				args = []string{"-url", healthServer(t, tc.code, tc.body).URL}
			}
			var stdout, stderr bytes.Buffer
			if got := run(append([]string{"status"}, args...), &stdout, &stderr); got != tc.exit {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", got, tc.exit, stdout.String(), stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tc.error) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.error)
			}
		})
	}
}

// TestUsageListsSubcommands keeps the usage text and the package doc in
// step with the sub-commands run dispatches.
func TestUsageListsSubcommands(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	run([]string{"-h"}, &bytes.Buffer{}, &stderr)
	for _, sub := range []string{"site add", "site list", "user add", "status", "loadgen", "bench-ingest"} {
		if !strings.Contains(stderr.String(), "regiond "+sub+" ") {
			t.Errorf("usage lacks regiond %s:\n%s", sub, stderr.String())
		}
		if !strings.Contains(string(doc), "regiond "+sub+" ") {
			t.Errorf("doc.go lacks regiond %s", sub)
		}
	}
}
