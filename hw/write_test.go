package hw

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
)

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind: %s", e.Name())
	}
}

// statfsOnly skips tests that need ReadDisk's real statfs.
func statfsOnly(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ReadDisk is Linux-only")
	}
}

func TestMeasureWrite(t *testing.T) {
	statfsOnly(t)
	dir := t.TempDir()
	// Past one fsync interval and not a whole number of chunks.
	const size = (fsyncEvery+1)*writeChunk + 5
	ws, err := MeasureWrite(context.Background(), dir, size)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Bytes != size || ws.Elapsed <= 0 || ws.BytesPerSec <= 0 || ws.FsyncMax <= 0 || ws.FsyncMax > ws.Elapsed {
		t.Errorf("odd result %+v", ws)
	}
	assertEmptyDir(t, dir)
}

func TestMeasureWriteRefuses(t *testing.T) {
	const mb = 1 << 20
	disk := func(total, free uint64) func(string) (Disk, error) {
		return func(p string) (Disk, error) { return Disk{Path: p, Total: total, Free: free}, nil }
	}
	cases := []struct {
		name      string
		size      int64
		stat      func(string) (Disk, error)
		wantErr   string
		wantNoSpc bool
	}{
		{name: "zero", size: 0, stat: disk(1<<40, 1<<40), wantErr: "write test size 0 is outside 1..4294967296 bytes"},
		{name: "negative", size: -1, stat: disk(1<<40, 1<<40), wantErr: "write test size -1 is outside"},
		{name: "too large", size: MaxWriteSize + 1, stat: disk(1<<40, 1<<40), wantErr: "write test size 4294967297 is outside"},
		{
			// 64 MiB floor: 100 - 40 leaves 60.
			name: "small disk", size: 40 * mb, stat: disk(1024*mb, 100*mb), wantNoSpc: true,
			wantErr: "a 40.0 MiB write test needs 104.0 MiB free (64.0 MiB must stay free), but only 100.0 MiB of 1024.0 MiB is free",
		},
		{
			// 5 % of 10 GiB is 512 MiB: 600 - 100 leaves 500.
			name: "large disk", size: 100 * mb, stat: disk(10240*mb, 600*mb), wantNoSpc: true,
			wantErr: "needs 612.0 MiB free (512.0 MiB must stay free)",
		},
		{name: "size above free", size: 300 * mb, stat: disk(1024*mb, 200*mb), wantNoSpc: true, wantErr: "only 200.0 MiB"},
		{
			name: "stat fails", size: mb,
			stat:    func(p string) (Disk, error) { return Disk{}, errors.New(p + ": statfs: input/output error") },
			wantErr: "statfs: input/output error",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := measureWrite(context.Background(), dir, c.size, writeHooks{stat: c.stat})
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v, want it to name %s and contain %q", err, dir, c.wantErr)
			}
			if errors.Is(err, ErrNoSpace) != c.wantNoSpc {
				t.Errorf("errors.Is(err, ErrNoSpace) = %v", !c.wantNoSpc)
			}
			assertEmptyDir(t, dir)
		})
	}
}

func TestMeasureWriteEnoughSpace(t *testing.T) {
	// 64 MiB floor: 200 - 40 leaves 160.
	dir := t.TempDir()
	stat := func(p string) (Disk, error) { return Disk{Path: p, Total: 1 << 30, Free: 200 << 20}, nil }
	ws, err := measureWrite(context.Background(), dir, 2<<20, writeHooks{stat: stat})
	if err != nil || ws.Bytes != 2<<20 {
		t.Fatalf("%+v, %v", ws, err)
	}
	assertEmptyDir(t, dir)
}

func TestMeasureWriteCancel(t *testing.T) {
	t.Run("mid-way", func(t *testing.T) {
		statfsOnly(t)
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var seen bool
		h := writeHooks{stat: ReadDisk, afterChunk: func(written int64) {
			if written == 3*writeChunk {
				// The file exists while the test runs.
				ents, _ := os.ReadDir(dir)
				seen = len(ents) == 1
				cancel()
			}
		}}
		ws, err := measureWrite(ctx, dir, 10*writeChunk, h)
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped after 3145728 bytes") {
			t.Fatalf("err = %v", err)
		}
		if ws != (WriteSpeed{}) {
			t.Errorf("partial result %+v returned with the error", ws)
		}
		if !seen {
			t.Error("no temporary file while writing")
		}
		assertEmptyDir(t, dir)
	})
	t.Run("before start", func(t *testing.T) {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := MeasureWrite(ctx, dir, writeChunk); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		assertEmptyDir(t, dir)
	})
}

func TestReadDisk(t *testing.T) {
	statfsOnly(t)
	dir := t.TempDir()
	d, err := ReadDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Path != dir || d.Total == 0 || d.Free > d.Total {
		t.Errorf("odd result %+v", d)
	}
	missing := dir + "/missing"
	if _, err := ReadDisk(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("err = %v, want it to name %s", err, missing)
	}
	if _, err := MeasureWrite(context.Background(), missing, writeChunk); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("err = %v, want it to name %s", err, missing)
	}
}
