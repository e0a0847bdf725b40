package uplink

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/sync/wire"
)

// chunkSink collects what OnGalleryRevision and OnConnect receive.
type chunkSink struct {
	mu       sync.Mutex
	chunks   []string
	connects int
}

func (c *chunkSink) chunk(p []byte) {
	c.mu.Lock()
	c.chunks = append(c.chunks, string(p))
	c.mu.Unlock()
}

func (c *chunkSink) connected() {
	c.mu.Lock()
	c.connects++
	c.mu.Unlock()
}

func (c *chunkSink) got() ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.chunks...), c.connects
}

// runGalleryUplink runs an uplink that takes gallery revisions into sink.
func runGalleryUplink(t *testing.T, cfg Config, ob *memOutbox, sink *chunkSink) *runningUplink {
	t.Helper()
	lb := &testenv.Buffer{}
	u, err := New(cfg, ob, slog.New(slog.NewTextHandler(lb, nil)), Options{OnGalleryRevision: sink.chunk, OnConnect: sink.connected})
	if err != nil {
		t.Fatal(err)
	}
	r := &runningUplink{Uplink: u, done: make(chan error, 1), log: lb}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- u.Run(ctx) }()
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("uplink log:\n%s", lb.String())
		}
	})
	return r
}

// TestGalleryRevisionSubscription runs the site's side of the gallery
// topic against a real broker with the site ACL of TOPICS.md: chunks the
// region publishes on the site's revision topic reach OnGalleryRevision
// in order and unchanged, another site's never do, OnConnect runs once
// per connect, and chunks published while the site is away are kept in
// its session and delivered after the next connect.
func TestGalleryRevisionSubscription(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "passwd")
	writePasswordFile(t, pwFile, map[string]string{testSite: "pw", "region": "rp"}, false)
	b := startBroker(t, brokerConfig{passwordFile: pwFile, aclFile: writeSecret(t, dir, "acl", siteACL)})
	region := regionClient(t, b.addr(), "region", "rp")
	own, _ := wire.GalleryRevisionTopic(testRegion, testSite)
	other, _ := wire.GalleryRevisionTopic(testRegion, "s2")

	cfg := testConfig("tcp://" + b.addr())
	cfg.Username, cfg.PasswordFile = testSite, writeSecret(t, dir, "site-pw", "pw")
	ob := newMemOutbox()
	sink := &chunkSink{}
	u := runGalleryUplink(t, cfg, ob, sink)
	if !waitUntil(20*time.Second, func() bool { return u.Stats().Connected }) {
		t.Fatalf("not connected; stats %+v", u.Stats())
	}
	publishRequest(t, region, other, []byte("chunk of s2"))
	const n = 5
	for i := range n {
		publishRequest(t, region, own, fmt.Appendf(nil, "chunk %d", i))
	}
	if !waitUntil(20*time.Second, func() bool { c, _ := sink.got(); return len(c) >= n }) {
		c, _ := sink.got()
		t.Fatalf("%d of %d chunks delivered; stats %+v", len(c), n, u.Stats())
	}
	chunks, connects := sink.got()
	for i, c := range chunks {
		if want := fmt.Sprintf("chunk %d", i); c != want {
			t.Errorf("chunk %d is %q, want %q", i, c, want)
		}
	}
	if connects != 1 || u.Stats().GalleryChunks != n || u.Stats().ResendIgnored != 0 {
		t.Errorf("%d connects, stats %+v; want 1 connect, %d gallery chunks, no resend request ignored", connects, u.Stats(), n)
	}

	// Away: the broker keeps the chunks in the site's session.
	u.stop(t)
	publishRequest(t, region, own, []byte("chunk while away"))
	u2 := runGalleryUplink(t, cfg, ob, sink)
	if !waitUntil(20*time.Second, func() bool { c, k := sink.got(); return len(c) >= n+1 && k >= 2 }) {
		t.Fatalf("the chunk published while away was not delivered; stats %+v", u2.Stats())
	}
	chunks, connects = sink.got()
	if len(chunks) != n+1 || chunks[n] != "chunk while away" || connects != 2 {
		t.Errorf("after the reconnect: chunks %q, %d connects; want the kept chunk once and 2 connects", chunks[n:], connects)
	}
}

// TestGalleryNotSubscribedWithoutHandler: an uplink without
// OnGalleryRevision takes no revision chunks; one published to its topic
// is not read as a resend request either.
func TestGalleryNotSubscribedWithoutHandler(t *testing.T) {
	checkLeaks(t)
	b := startBroker(t, brokerConfig{})
	region := regionClient(t, b.addr(), "", "")
	u := runUplink(t, testConfig("tcp://"+b.addr()), newMemOutbox(), nil)
	if !waitUntil(20*time.Second, func() bool { return u.Stats().Connected }) {
		t.Fatalf("not connected; stats %+v", u.Stats())
	}
	own, _ := wire.GalleryRevisionTopic(testRegion, testSite)
	publishRequest(t, region, own, []byte("chunk"))
	// A resend request published after the chunk is served: once it is
	// counted, the chunk before it would have been too.
	resend, _ := wire.ResendTopic(testRegion, testSite)
	publishRequest(t, region, resend, []byte("not a request"))
	if !waitUntil(20*time.Second, func() bool { return u.Stats().ResendIgnored == 1 }) {
		t.Fatalf("stats %+v", u.Stats())
	}
	if st := u.Stats(); st.GalleryChunks != 0 {
		t.Errorf("stats %+v: a chunk was taken without a handler", st)
	}
}
