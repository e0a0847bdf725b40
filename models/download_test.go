package models

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// mirror serves the shared folder under /mirror/, with per-file overrides,
// and counts the requests for each file.
type mirror struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newMirror(t *testing.T, shared string, serve map[string]http.HandlerFunc) *mirror {
	t.Helper()
	m := &mirror{hits: map[string]int{}}
	files := http.StripPrefix("/mirror", http.FileServer(http.Dir(shared)))
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rel := strings.TrimPrefix(r.URL.Path, "/mirror/")
		m.mu.Lock()
		m.hits[rel]++
		m.mu.Unlock()
		if h, ok := serve[rel]; ok {
			h(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(m.srv.Close)
	if !strings.HasPrefix(m.srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server is not on the loopback address: %s", m.srv.URL)
	}
	return m
}

func (m *mirror) base() string { return m.srv.URL + "/mirror" }

func (m *mirror) requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.hits {
		n += c
	}
	return n
}

func body(b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.Write(b) }
}

// progressLog records what Download reports: the last count per file, and
// any count that went backwards or past the file's size.
type progressLog struct {
	last map[string]int64
	bad  []string
}

func newProgressLog() *progressLog { return &progressLog{last: map[string]int64{}} }

func (p *progressLog) report(name string, done, total int64) {
	if f, ok := Lookup(name); ok && total != f.Size {
		p.bad = append(p.bad, fmt.Sprintf("%s: total %d, want the manifest's %d", name, total, f.Size))
	}
	if done < p.last[name] || done > total {
		p.bad = append(p.bad, fmt.Sprintf("%s: %d of %d after %d", name, done, total, p.last[name]))
	}
	p.last[name] = done
}

func (p *progressLog) check(t *testing.T, complete []string) {
	t.Helper()
	for _, b := range p.bad {
		t.Errorf("progress: %s", b)
	}
	for _, name := range complete {
		f, _ := Lookup(name)
		if p.last[name] != f.Size {
			t.Errorf("progress of %s ended at %d of %d bytes", name, p.last[name], f.Size)
		}
	}
}

func TestDownload(t *testing.T) {
	shared := sharedModels(t)
	yunet := readFile(t, Path(shared, YuNet))
	short := yunet[:len(yunet)-1000]
	pointer := []byte("version https://git-lfs.github.com/spec/v1\n" +
		"oid sha256:ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0\nsize 229738\n")

	tests := []struct {
		name  string
		names []string
		serve map[string]http.HandlerFunc
		// base picks the base URL; nil: the mirror.
		base func(m *mirror) string
		// prepare fills the target before the download.
		prepare func(t *testing.T, to string)
		// wantErr maps each failing file to its kind and message text.
		wantErr map[string]want
		// wantOther is text a non-file error must contain.
		wantOther []string
		// valid lists the files that must verify afterwards, licence
		// texts included.
		valid       []string
		maxRequests int // -1: no limit
		// complete lists the files whose progress must reach their size.
		complete []string
		// wantLog is text the log must contain.
		wantLog []string
	}{
		{
			name:        "every required file from a mirror",
			valid:       RequiredNames(),
			maxRequests: -1,
			complete:    []string{YuNet, DlibONNX, FacePlugin},
		},
		{
			name:        "one file",
			names:       []string{YuNet},
			valid:       []string{YuNet},
			maxRequests: 2, // the file and its licence text
		},
		{
			name:        "HTTP 404",
			names:       []string{YuNet},
			serve:       map[string]http.HandlerFunc{YuNet: http.NotFound},
			wantErr:     map[string]want{YuNet: {ErrHTTP, []string{"404", "/mirror/" + YuNet}}},
			maxRequests: -1,
		},
		{
			name:        "tampered file",
			names:       []string{YuNet},
			serve:       map[string]http.HandlerFunc{YuNet: body(flipByte(yunet, len(yunet)/3))},
			wantErr:     map[string]want{YuNet: {ErrChecksum, []string{"sha256", "ebafce4e3c118d65"}}},
			maxRequests: -1,
		},
		{
			name:  "short body, announced",
			names: []string{YuNet},
			serve: map[string]http.HandlerFunc{YuNet: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(short)))
				w.Write(short)
			}},
			wantErr:     map[string]want{YuNet: {ErrSize, []string{strconv.Itoa(len(short)), "229738"}}},
			maxRequests: -1,
		},
		{
			name:        "short body, chunked",
			names:       []string{YuNet},
			serve:       map[string]http.HandlerFunc{YuNet: body(short)},
			wantErr:     map[string]want{YuNet: {ErrSize, []string{"truncated", strconv.Itoa(len(short)), "229738"}}},
			maxRequests: -1,
		},
		{
			name:        "Git LFS pointer instead of the file",
			names:       []string{YuNet},
			serve:       map[string]http.HandlerFunc{YuNet: body(pointer)},
			wantErr:     map[string]want{YuNet: {ErrSize, []string{"Git LFS pointer"}}},
			maxRequests: -1,
		},
		{
			name:        "one failure does not stop the others",
			serve:       map[string]http.HandlerFunc{FacePlugin: http.NotFound},
			wantErr:     map[string]want{FacePlugin: {ErrHTTP, []string{"404"}}},
			valid:       []string{YuNet, DlibONNX},
			maxRequests: -1,
		},
		{
			name:  "present valid files are not fetched again",
			names: []string{YuNet},
			prepare: func(t *testing.T, to string) {
				if err := Install(shared, to, InstallOptions{Link: true}); err != nil {
					t.Fatal(err)
				}
			},
			valid:       []string{YuNet},
			maxRequests: 0,
			wantLog:     []string{YuNet + ": already present and verified"},
		},
		{
			name:        "no official URL and no mirror",
			base:        func(*mirror) string { return "" },
			wantOther:   []string{DlibONNX, FacePlugin, "mirror"},
			maxRequests: 0,
		},
		{
			name:        "not an http URL",
			base:        func(*mirror) string { return "file:///tmp/models" },
			wantOther:   []string{"file:///tmp/models", "http"},
			maxRequests: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMirror(t, shared, tc.serve)
			base := m.base()
			if tc.base != nil {
				base = tc.base(m)
			}
			to := t.TempDir()
			if tc.prepare != nil {
				tc.prepare(t, to)
			}
			var log bytes.Buffer
			progress := newProgressLog()
			err := Download(context.Background(), to, DownloadOptions{BaseURL: base, Log: &log, Progress: progress.report}, tc.names...)

			switch {
			case len(tc.wantOther) > 0:
				if err == nil {
					t.Fatal("Download succeeded")
				}
				for _, s := range tc.wantOther {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error lacks %q: %v", s, err)
					}
				}
			case len(tc.wantErr) > 0:
				if err == nil {
					t.Fatal("Download succeeded")
				}
				checkFileErrors(t, err, tc.wantErr)
				for name := range tc.wantErr {
					// The bad bytes must never sit under the final name.
					assertAbsent(t, Path(to, name))
				}
			default:
				if err != nil {
					t.Fatalf("Download: %v", err)
				}
			}
			if len(tc.valid) > 0 {
				if err := Verify(to, tc.valid...); err != nil {
					t.Errorf("downloaded files do not verify: %v", err)
				}
				if err := VerifyLicenses(to, tc.valid...); err != nil {
					t.Errorf("downloaded licence texts do not verify: %v", err)
				}
			}
			if tc.maxRequests >= 0 && m.requests() > tc.maxRequests {
				t.Errorf("%d requests, want at most %d: %v", m.requests(), tc.maxRequests, m.hits)
			}
			progress.check(t, tc.complete)
			for _, s := range tc.wantLog {
				if !strings.Contains(log.String(), s) {
					t.Errorf("log lacks %q:\n%s", s, log.String())
				}
			}
			assertNoTemp(t, to)
		})
	}
}

// An interrupted download must leave neither the partial file under its
// final name nor its temporary file.
func TestDownloadInterrupted(t *testing.T) {
	shared := sharedModels(t)
	yunet := readFile(t, Path(shared, YuNet))
	m := newMirror(t, shared, map[string]http.HandlerFunc{
		YuNet: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(yunet)))
			w.Write(yunet[:len(yunet)/2])
			w.(http.Flusher).Flush()
			select { // the rest never comes; the client gives up
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancelled once the first half has been read, on its way to the
	// temporary file.
	half := func(_ string, done, total int64) {
		if done >= total/2 {
			cancel()
		}
	}
	to := t.TempDir()
	err := Download(ctx, to, DownloadOptions{BaseURL: m.base(), Progress: half}, YuNet)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Download = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), YuNet) {
		t.Errorf("error does not name the file: %v", err)
	}
	assertAbsent(t, Path(to, YuNet))
	assertNoTemp(t, to)
}
