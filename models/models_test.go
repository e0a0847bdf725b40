package models

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sharedEnv points the tests at the real weight files when they are not
// beside the repository.
const sharedEnv = "DOZOR_SHARED_MODELS"

// sharedModels returns the directory with the real files. The tests exist
// to check those bytes, so their absence is a failure, not a skip.
func sharedModels(t *testing.T) string {
	t.Helper()
	dir, from := os.Getenv(sharedEnv), "$"+sharedEnv
	if dir == "" {
		dir, from = filepath.Join("..", "..", "shared", "models"), "the default ../../shared/models"
	}
	for _, name := range AllNames() {
		if _, err := os.Stat(Path(dir, name)); err != nil {
			t.Fatalf("the real model files are needed and %s is not usable (%s): %v\n"+
				"set %s to the directory that holds them (the shared models folder)", dir, from, err, sharedEnv)
		}
	}
	return dir
}

// linkSet makes a models directory of symlinks to the shared files and
// licence texts (without the optional files when withOptional is false):
// a valid set that cases then damage one file at a time.
func linkSet(t *testing.T, shared string, withOptional bool) string {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs(shared)
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, f := range manifest {
		if f.Optional && !withOptional {
			continue
		}
		rels = append(rels, f.Name)
	}
	for _, l := range licenseTexts {
		rels = append(rels, l.name)
	}
	for _, rel := range rels {
		dst := Path(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(Path(abs, rel), dst); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replace puts data under rel in dir as a new regular file.
func replace(t *testing.T, dir, rel string, data []byte) {
	t.Helper()
	p := Path(dir, rel)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func flipByte(b []byte, at int) []byte {
	c := slices.Clone(b)
	c[at] ^= 0x01
	return c
}

// fileErrors flattens a joined error into its *FileError parts.
func fileErrors(t *testing.T, err error) map[string]*FileError {
	t.Helper()
	out := map[string]*FileError{}
	var walk func(error)
	walk = func(e error) {
		if fe, ok := e.(*FileError); ok {
			out[fe.Name] = fe
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		if c := errors.Unwrap(e); c != nil {
			walk(c)
		}
	}
	walk(err)
	return out
}

func TestManifestMatchesSHA256SUMS(t *testing.T) {
	shared := sharedModels(t)
	f, err := os.Open(filepath.Join(shared, "SHA256SUMS"))
	if err != nil {
		t.Fatalf("%v (set %s to the shared models folder)", err, sharedEnv)
	}
	defer f.Close()
	listed := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(strings.TrimSpace(sc.Text()), "  ")
		if !ok {
			continue
		}
		listed[name] = sum
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for name, sum := range listed {
		m, ok := Lookup(name)
		if !ok {
			t.Errorf("SHA256SUMS lists %s, the manifest does not", name)
			continue
		}
		if m.SHA256 != sum {
			t.Errorf("%s: manifest sha256 %s, SHA256SUMS %s", name, m.SHA256, sum)
		}
		fi, err := os.Stat(Path(shared, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != m.Size {
			t.Errorf("%s: manifest size %d, file %d", name, m.Size, fi.Size())
		}
	}
	for _, m := range Files() {
		if _, ok := listed[m.Name]; !ok {
			t.Errorf("manifest lists %s, SHA256SUMS does not", m.Name)
		}
		if len(m.LicenseFiles) == 0 {
			t.Errorf("%s: no licence texts", m.Name)
		}
		for _, l := range m.LicenseFiles {
			if _, ok := licenseTexts[l]; !ok {
				t.Errorf("%s: licence text %s is not pinned", m.Name, l)
			}
		}
		if m.Role == RoleEmbedder && (m.Dim == 0 || m.Metric == MetricNone || len(m.Templates) == 0 || m.Blob.Scale == 0) {
			t.Errorf("%s: embedder without dim, metric, template or blob parameters", m.Name)
		}
		for _, tpl := range m.Templates {
			p := tpl.Points
			if !(p[0].X < p[1].X && p[3].X < p[4].X && p[0].Y < p[2].Y && p[2].Y < p[3].Y) {
				t.Errorf("%s: template %s is not in YuNet point order: %v", m.Name, tpl.Name, p)
			}
			for _, q := range p {
				if q.X <= 0 || q.Y <= 0 || q.X >= float32(tpl.Size) || q.Y >= float32(tpl.Size) {
					t.Errorf("%s: template %s point %v outside the %d chip", m.Name, tpl.Name, q, tpl.Size)
				}
			}
		}
	}
	if got, want := RequiredNames(), []string{YuNet, DlibONNX, FacePlugin}; !slices.Equal(got, want) {
		t.Errorf("RequiredNames() = %v, want %v", got, want)
	}
}

func TestFilesReturnsACopy(t *testing.T) {
	fs := Files()
	fs[0].LicenseFiles[0] = "changed"
	fs[1].Templates[0].Points[0] = Point{}
	a, _ := Lookup(fs[0].Name)
	b, _ := Lookup(fs[1].Name)
	if a.LicenseFiles[0] == "changed" || b.Templates[0].Points[0] == (Point{}) {
		t.Fatal("changing the result of Files changed the manifest")
	}
}

func TestVerifySharedFiles(t *testing.T) {
	shared := sharedModels(t)
	if err := Verify(shared); err != nil {
		t.Fatalf("Verify(required): %v", err)
	}
	if err := Verify(shared, AllNames()...); err != nil {
		t.Fatalf("Verify(all): %v", err)
	}
	if err := VerifyLicenses(shared, AllNames()...); err != nil {
		t.Fatalf("VerifyLicenses: %v", err)
	}
}

func TestVerifyBadFiles(t *testing.T) {
	shared := sharedModels(t)
	yunet := readFile(t, Path(shared, YuNet))
	m, _ := Lookup(YuNet)

	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		names []string
		// want maps each bad file to its kind and to text its message
		// must contain.
		want map[string]want
	}{
		{
			name:  "good set of symlinks",
			setup: func(*testing.T, string) {},
		},
		{
			name: "truncated",
			setup: func(t *testing.T, dir string) {
				replace(t, dir, YuNet, yunet[:len(yunet)-1000])
			},
			want: map[string]want{YuNet: {ErrSize, []string{"truncated", strconv.Itoa(len(yunet) - 1000), "229738"}}},
		},
		{
			name: "one extra byte",
			setup: func(t *testing.T, dir string) {
				replace(t, dir, YuNet, append(slices.Clone(yunet), 0))
			},
			want: map[string]want{YuNet: {ErrSize, []string{"too large", "229739", "229738"}}},
		},
		{
			name: "one byte altered",
			setup: func(t *testing.T, dir string) {
				replace(t, dir, YuNet, flipByte(yunet, len(yunet)/2))
			},
			want: map[string]want{YuNet: {ErrChecksum, []string{"sha256", m.SHA256[:16]}}},
		},
		{
			name: "missing",
			setup: func(t *testing.T, dir string) {
				os.Remove(Path(dir, FacePlugin))
			},
			want: map[string]want{FacePlugin: {ErrMissing, []string{"missing", "does not exist"}}},
		},
		{
			name: "dangling symlink",
			setup: func(t *testing.T, dir string) {
				p := Path(dir, FacePlugin)
				os.Remove(p)
				if err := os.Symlink(filepath.Join(dir, "nowhere"), p); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string]want{FacePlugin: {ErrMissing, []string{"symlink", "nowhere"}}},
		},
		{
			name: "directory in place of a file",
			setup: func(t *testing.T, dir string) {
				p := Path(dir, DlibONNX)
				os.Remove(p)
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string]want{DlibONNX: {ErrNotRegular, []string{"is a directory"}}},
		},
		{
			name: "every bad file is reported",
			setup: func(t *testing.T, dir string) {
				replace(t, dir, YuNet, yunet[:100])
				os.Remove(Path(dir, FacePlugin))
				p := Path(dir, DlibONNX)
				os.Remove(p)
				os.Mkdir(p, 0o755)
			},
			want: map[string]want{
				YuNet:      {ErrSize, []string{"truncated"}},
				FacePlugin: {ErrMissing, nil},
				DlibONNX:   {ErrNotRegular, nil},
			},
		},
		{
			name: "optional files are not needed by default",
			setup: func(t *testing.T, dir string) {
				if err := os.RemoveAll(Path(dir, GoFaceDir)); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "optional file is checked when named",
			setup: func(t *testing.T, dir string) {
				os.Remove(Path(dir, GoFaceMMOD))
			},
			names: []string{GoFaceResNet, GoFaceMMOD},
			want:  map[string]want{GoFaceMMOD: {ErrMissing, nil}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := linkSet(t, shared, true)
			tc.setup(t, dir)
			err := Verify(dir, tc.names...)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Verify passed a bad set")
			}
			checkFileErrors(t, err, tc.want)
		})
	}

	t.Run("unknown name", func(t *testing.T) {
		err := Verify(shared, "nope.onnx")
		if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "nope.onnx") {
			t.Fatalf("Verify(unknown) = %v", err)
		}
	})
}

// want is what a file's error must be: of kind, with text in its
// message.
type want struct {
	kind error
	text []string
}

// checkFileErrors fails t unless err holds one *FileError for each file
// of want and no other, each of the wanted kind and with a message that
// names the file and holds the wanted text.
func checkFileErrors(t *testing.T, err error, want map[string]want) {
	t.Helper()
	got := fileErrors(t, err)
	if len(got) != len(want) {
		t.Errorf("got %d file errors, want %d:\n%v", len(got), len(want), err)
	}
	for name, w := range want {
		fe := got[name]
		if fe == nil {
			t.Errorf("no error for %s in:\n%v", name, err)
			continue
		}
		if !errors.Is(fe, w.kind) {
			t.Errorf("%s: kind %v, want %v (%v)", name, fe.Kind, w.kind, fe)
		}
		msg := fe.Error()
		for _, s := range append([]string{name}, w.text...) {
			if !strings.Contains(msg, s) {
				t.Errorf("%s: message %q lacks %q", name, msg, s)
			}
		}
	}
}

func TestVerifyCache(t *testing.T) {
	shared := sharedModels(t)
	yunet := readFile(t, Path(shared, YuNet))
	dir := t.TempDir()
	p := Path(dir, YuNet)
	if err := os.WriteFile(p, yunet, 0o644); err != nil {
		t.Fatal(err)
	}

	verify := func(wantHashes int64, wantErr error) {
		t.Helper()
		before := hashes.Load()
		err := Verify(dir, YuNet)
		if wantErr == nil && err != nil || wantErr != nil && !errors.Is(err, wantErr) {
			t.Fatalf("Verify = %v, want %v", err, wantErr)
		}
		if got := hashes.Load() - before; got != wantHashes {
			t.Fatalf("Verify hashed %d times, want %d", got, wantHashes)
		}
	}
	verify(1, nil)
	verify(0, nil) // unchanged: answered from the cache

	// Same size, same inode, new mtime: must be hashed again.
	fi, _ := os.Stat(p)
	if err := os.WriteFile(p, flipByte(yunet, 7), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, time.Time{}, fi.ModTime().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	verify(1, ErrChecksum)

	// Same size and mtime as the good file once was, but a new inode.
	tmp := p + ".new"
	if err := os.WriteFile(tmp, yunet, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, time.Time{}, fi.ModTime().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	verify(1, nil)
	verify(0, nil)
}

func TestLocate(t *testing.T) {
	shared := sharedModels(t)
	yunet, err := filepath.Abs(Path(shared, YuNet))
	if err != nil {
		t.Fatal(err)
	}
	// root/work is the working directory; root/shared/models is the
	// development fallback ../shared/models.
	modelsIn := func(t *testing.T, dir string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(yunet, Path(dir, YuNet)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		flag    string
		env     string
		empty   []string // folders made empty, relative to root
		models  []string // folders made holding the model, relative to root
		want    string   // relative to root; "" when an error is expected
		wantErr []string // text the error must contain
	}{
		{
			name:   "flag wins",
			flag:   "../flagdir",
			env:    "../envdir",
			empty:  []string{"flagdir"},
			models: []string{"work/var/models"},
			want:   "flagdir",
		},
		{
			name:    "missing flag directory does not fall through",
			flag:    "../nope",
			models:  []string{"work/var/models"},
			wantErr: []string{"../nope", "does not exist"},
		},
		{
			name:   "environment next",
			env:    "../envdir",
			empty:  []string{"envdir"},
			models: []string{"work/var/models"},
			want:   "envdir",
		},
		{
			name:    "missing environment directory does not fall through",
			env:     "../nope",
			models:  []string{"work/var/models"},
			wantErr: []string{"../nope", EnvDir},
		},
		{
			name:   "var/models next",
			models: []string{"work/var/models", "shared/models"},
			want:   "work/var/models",
		},
		{
			name:   "empty var/models falls through to ../shared/models",
			empty:  []string{"work/var/models"},
			models: []string{"shared/models"},
			want:   "shared/models",
		},
		{
			name:    "nothing found lists what was tried",
			wantErr: []string{EnvDir, "./var/models: does not exist", "../shared/models: does not exist"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.Mkdir(filepath.Join(root, "work"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, dir := range tc.empty {
				if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, dir := range tc.models {
				modelsIn(t, filepath.Join(root, dir))
			}
			t.Chdir(filepath.Join(root, "work"))
			t.Setenv(EnvDir, tc.env)
			got, err := Locate(tc.flag)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Locate = %s, want an error", got)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _ := filepath.EvalSymlinks(filepath.Join(root, tc.want))
			gotReal, _ := filepath.EvalSymlinks(got)
			if gotReal != want || !filepath.IsAbs(got) {
				t.Fatalf("Locate = %s, want %s", got, want)
			}
		})
	}
}

// assertNoTemp fails when an interrupted or failed write left a temporary
// file behind.
func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func assertAbsent(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists (err %v); a failed write must leave no file under the final name", p, err)
	}
}

func TestInstall(t *testing.T) {
	shared := sharedModels(t)
	absShared, _ := filepath.Abs(shared)
	yunet := readFile(t, Path(shared, YuNet))

	tests := []struct {
		name string
		// from returns the source directory; nil: the shared one.
		from func(t *testing.T) string
		// prepare damages the target before the install.
		prepare func(t *testing.T, to string)
		link    bool
		wantErr []string
		// wantLog must appear in the install log.
		wantLog []string
		// installed lists the files that must verify afterwards.
		installed []string
	}{
		{
			name:      "copy",
			installed: AllNames(),
			wantLog:   []string{"copied " + YuNet, "copied licenses/LICENSE.yunet.MIT.txt", "installed 5 model files and 5 licence texts"},
		},
		{
			name:      "link",
			link:      true,
			installed: AllNames(),
			wantLog:   []string{"linked " + YuNet},
		},
		{
			name:      "absent optional files are skipped",
			from:      func(t *testing.T) string { return linkSet(t, shared, false) },
			installed: RequiredNames(),
			wantLog:   []string{"skipped " + GoFaceResNet, "skipped " + GoFaceMMOD, "installed 3 model files"},
		},
		{
			name: "tampered target is replaced",
			prepare: func(t *testing.T, to string) {
				os.MkdirAll(to, 0o755)
				replace(t, to, YuNet, flipByte(yunet, 10))
			},
			installed: AllNames(),
		},
		{
			name: "bad source installs nothing",
			from: func(t *testing.T) string {
				d := linkSet(t, shared, true)
				replace(t, d, YuNet, flipByte(yunet, 10))
				os.Remove(Path(d, FacePlugin))
				return d
			},
			wantErr: []string{"nothing was installed", YuNet, "sha256", FacePlugin, "missing"},
		},
		{
			name: "missing licence text in source",
			from: func(t *testing.T) string {
				d := linkSet(t, shared, true)
				os.Remove(Path(d, "licenses/LICENSE.yunet.MIT.txt"))
				return d
			},
			wantErr: []string{"licenses/LICENSE.yunet.MIT.txt", "missing"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := shared
			if tc.from != nil {
				from = tc.from(t)
			}
			to := filepath.Join(t.TempDir(), "var", "models")
			if tc.prepare != nil {
				tc.prepare(t, to)
			}
			var log bytes.Buffer
			err := Install(from, to, InstallOptions{Link: tc.link, Log: &log})
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("Install succeeded from a bad source")
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error lacks %q:\n%v", s, err)
					}
				}
				for _, n := range AllNames() {
					assertAbsent(t, Path(to, n))
				}
				return
			}
			if err != nil {
				t.Fatalf("Install: %v\nlog:\n%s", err, log.String())
			}
			for _, s := range tc.wantLog {
				if !strings.Contains(log.String(), s) {
					t.Errorf("log lacks %q:\n%s", s, log.String())
				}
			}
			if err := Verify(to, tc.installed...); err != nil {
				t.Errorf("installed set does not verify: %v", err)
			}
			if err := VerifyLicenses(to, tc.installed...); err != nil {
				t.Errorf("installed licence texts do not verify: %v", err)
			}
			for _, n := range AllNames() {
				if !slices.Contains(tc.installed, n) {
					assertAbsent(t, Path(to, n))
				}
			}
			for _, n := range tc.installed {
				fi, err := os.Lstat(Path(to, n))
				if err != nil {
					t.Fatal(err)
				}
				isLink := fi.Mode()&fs.ModeSymlink != 0
				if isLink != tc.link {
					t.Errorf("%s: symlink %v, want %v", n, isLink, tc.link)
				}
				if tc.link {
					target, _ := os.Readlink(Path(to, n))
					if target != Path(absShared, n) {
						t.Errorf("%s links to %s, want %s", n, target, Path(absShared, n))
					}
				}
			}
			assertNoTemp(t, to)
		})
	}

	t.Run("onto its own source", func(t *testing.T) {
		d := linkSet(t, shared, true)
		if err := Install(d, d+"/.", InstallOptions{Link: true}); err == nil || !strings.Contains(err.Error(), "same directory") {
			t.Fatalf("Install onto the source = %v", err)
		}
	})
}
