package testenv

import (
	"bytes"
	"sync"
)

// Buffer collects output that several goroutines write at once (a
// logger, a child process's stdout and stderr) and that the test reads
// while they run.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
