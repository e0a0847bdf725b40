package eval

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
	"go.uber.org/goleak"
)

// fakeExtractors makes extractors that derive an image's features from
// its file name, and records what they did.
type fakeExtractors struct {
	mu        sync.Mutex
	made      int
	closed    int
	extracted []string
	failAfter int // New fails once this many exist; 0: never
	onExtract func(path string)
}

func (f *fakeExtractors) New() (Extractor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAfter > 0 && f.made == f.failAfter {
		return nil, errors.New("no more engines")
	}
	f.made++
	return &fakeExtractor{f}, nil
}

func (f *fakeExtractors) paths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.extracted))
}

type fakeExtractor struct{ f *fakeExtractors }

func (x *fakeExtractor) Extract(path string) Features {
	rel := filepath.ToSlash(path[strings.Index(path, "/images/")+len("/images/"):])
	x.f.mu.Lock()
	x.f.extracted = append(x.f.extracted, rel)
	x.f.mu.Unlock()
	if x.f.onExtract != nil {
		x.f.onExtract(rel)
	}
	if strings.HasPrefix(rel, "C/") {
		return Features{NoFace: true}
	}
	return Features{Face: recognizer.Face{Score: 0.9}, Vecs: map[string]RawVec{"m": {Plain: []float32{float32(len(rel)), 1}}}}
}

func (x *fakeExtractor) Close() error {
	x.f.mu.Lock()
	x.f.closed++
	x.f.mu.Unlock()
	return nil
}

func (f *fakeExtractors) extraction(key, cacheDir string, progress func(done, total int)) Extraction {
	return Extraction{Key: key, New: f.New, Workers: 3, CacheDir: cacheDir, Progress: progress}
}

func TestExtractionFillsAndReusesTheCache(t *testing.T) {
	defer goleak.VerifyNone(t)
	ds := loadFake(t, "tiny", baseFiles())
	cacheDir := t.TempDir()
	var calls [][2]int
	ex := &fakeExtractors{}
	feats, err := ex.extraction("k1", cacheDir, func(done, total int) { calls = append(calls, [2]int{done, total}) }).Features(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	all := slices.Sorted(slices.Values(ds.Images()))
	if got := ex.paths(); !slices.Equal(got, all) {
		t.Fatalf("extracted %v, want each of %v once", got, all)
	}
	if ex.made != 3 || ex.closed != 3 {
		t.Errorf("%d extractors made, %d closed; want 3 and 3", ex.made, ex.closed)
	}
	if want := [][2]int{{0, 5}, {1, 5}, {2, 5}, {3, 5}, {4, 5}, {5, 5}}; !reflect.DeepEqual(calls, want) {
		t.Errorf("progress calls %v, want %v", calls, want)
	}
	if !feats["C/C_0001.jpg"].NoFace || feats["A/A_0001.jpg"].Vecs["m"].Plain[0] != 12 {
		t.Errorf("features not those extracted: %+v", feats)
	}
	if _, err := os.Stat(CacheFile(cacheDir, ds.Dir, "k1")); err != nil {
		t.Fatalf("no cache file: %v", err)
	}

	// The same key: everything comes from the cache, no extractor is made
	// and progress is not reported.
	cached, err := Extraction{Key: "k1", CacheDir: cacheDir, New: func() (Extractor, error) {
		t.Fatal("an extractor was made though the cache has every image")
		return nil, nil
	}, Progress: func(int, int) { t.Error("progress reported for a cached data set") }}.Features(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cached, feats) {
		t.Errorf("cached features differ:\n%+v\n%+v", cached, feats)
	}

	// Another key (other model files) extracts afresh.
	other := &fakeExtractors{}
	if _, err := other.extraction("k2", cacheDir, nil).Features(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	if got := other.paths(); !slices.Equal(got, all) {
		t.Errorf("under a new key extracted %v, want %v", got, all)
	}
}

// An interrupted extraction keeps what it did; the next run extracts only
// the rest.
func TestExtractionResumesAfterCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	ds := loadFake(t, "tiny", baseFiles())
	cacheDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	first := &fakeExtractors{onExtract: func(string) { cancel() }}
	x := first.extraction("k", cacheDir, nil)
	x.Workers = 1
	if _, err := x.Features(ctx, ds); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	done := first.paths()
	if len(done) == 0 || len(done) == len(ds.Images()) {
		t.Fatalf("extracted %v before stopping", done)
	}
	rest := &fakeExtractors{}
	if _, err := rest.extraction("k", cacheDir, nil).Features(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	both := slices.Sorted(slices.Values(append(done, rest.paths()...)))
	if want := slices.Sorted(slices.Values(ds.Images())); !slices.Equal(both, want) {
		t.Errorf("first run %v and second run %v, want each of %v once", done, rest.paths(), want)
	}
}

func TestExtractionExtractorError(t *testing.T) {
	defer goleak.VerifyNone(t)
	ds := loadFake(t, "tiny", baseFiles())
	ex := &fakeExtractors{failAfter: 2}
	if _, err := ex.extraction("k", t.TempDir(), nil).Features(context.Background(), ds); err == nil || !strings.Contains(err.Error(), "no more engines") {
		t.Fatalf("err %v, want the extractor's", err)
	}
	if ex.made != 2 || ex.closed != 2 || len(ex.paths()) != 0 {
		t.Errorf("%d made, %d closed, %d extracted; want 2, 2, 0", ex.made, ex.closed, len(ex.paths()))
	}
}

func TestLoadCache(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eval", "c.gob")
	c := &FeatureCache{Key: "k", Images: map[string]Features{"A/A_0001.jpg": {Err: "boom", NoFace: true}}}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	if got := LoadCache(path, "k"); !reflect.DeepEqual(got, c) {
		t.Errorf("loaded %+v, saved %+v", got, c)
	}
	damaged := filepath.Join(dir, "damaged.gob")
	os.WriteFile(damaged, []byte("not gob"), 0o644)
	for name, p := range map[string][2]string{
		"other key": {path, "k2"},
		"damaged":   {damaged, "k"},
		"missing":   {filepath.Join(dir, "none.gob"), "k"},
	} {
		got := LoadCache(p[0], p[1])
		if got.Key != p[1] || got.Images == nil || len(got.Images) != 0 {
			t.Errorf("%s: got %+v, want an empty cache under key %s", name, got, p[1])
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("saving left %d files, want only the cache", len(entries))
	}
}

func TestCacheFile(t *testing.T) {
	a := CacheFile("/cache", "/data/lfw-dev", "opencv/v1/x")
	if filepath.Dir(a) != "/cache/eval" || !strings.HasPrefix(filepath.Base(a), "lfw-dev-") || filepath.Ext(a) != ".gob" {
		t.Errorf("cache file %s", a)
	}
	if a != CacheFile("/cache", "/data/lfw-dev/", "opencv/v1/x") {
		t.Errorf("a trailing slash changed the cache file")
	}
	for _, b := range []string{CacheFile("/cache", "/data/lfw-dev", "opencv/v1/y"), CacheFile("/cache", "/other/lfw-dev", "opencv/v1/x")} {
		if a == b {
			t.Errorf("two extractions share %s", a)
		}
	}
	t.Setenv("DOZOR_CACHE", "/somewhere")
	if d := CacheDir(); d != "/somewhere" {
		t.Errorf("CacheDir %s ignores DOZOR_CACHE", d)
	}
}

func TestMainFace(t *testing.T) {
	face := func(x, y, w, h float32) recognizer.Face {
		return recognizer.Face{Box: recognizer.Rect{X: x, Y: y, W: w, H: h}}
	}
	cases := []struct {
		name  string
		faces []recognizer.Face
		want  int
	}{
		{"none", nil, -1},
		{"one", []recognizer.Face{face(0, 0, 10, 10)}, 0},
		{"larger wins", []recognizer.Face{face(40, 40, 20, 20), face(35, 35, 30, 30)}, 1},
		{"centred beats a slightly larger face in the corner", []recognizer.Face{face(0, 0, 32, 32), face(35, 35, 30, 30)}, 1},
		{"a much larger face wins off centre", []recognizer.Face{face(45, 45, 10, 10), face(0, 0, 50, 50)}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := MainFace(c.faces, 100, 100); got != c.want {
				t.Errorf("MainFace = %d, want %d", got, c.want)
			}
		})
	}
}
