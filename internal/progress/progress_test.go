package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPlainOutputEndsWithOneFinalLine(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "extract", 10, "")
	clock := time.Unix(0, 0)
	b.now = func() time.Time { return clock }
	b.start = clock
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); b.Add(1) }()
	}
	wg.Wait()
	b.Finish()
	b.Finish()
	out := buf.String()
	if n := strings.Count(out, "100.0%"); n != 1 {
		t.Fatalf("final state printed %d times:\n%s", n, out)
	}
	if !strings.Contains(out, "extract [") || !strings.Contains(out, "10/10") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}

func TestBytesAndUnfinished(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "download", 3<<20, "B")
	if _, err := b.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	b.Finish()
	if out := buf.String(); !strings.Contains(out, "1.0MiB/3.0MiB") {
		t.Fatalf("byte counts not shown:\n%s", out)
	}
	New(nil, "discard", 1, "").Add(1) // a nil writer is allowed
}
