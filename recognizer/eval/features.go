package eval

import (
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/dozor-edge/dozor/recognizer"
)

// Features is what an extractor keeps of one data-set image: the labelled
// face and each model's raw vectors for it, before flip merging and
// fusion. Every engine variant is scored from them, so trying a variant
// costs seconds, not another pass over the photos.
type Features struct {
	// NoFace is set when no face was found, or the image could not be
	// read (then Err says why).
	NoFace bool
	Err    string
	Face   recognizer.Face
	// Vecs is indexed by model name ("faceplugin", "dlibonnx",
	// "gofacedlib").
	Vecs map[string]RawVec
}

// RawVec is one model's output for a face: the chip and, when the model
// embeds it, its mirror image.
type RawVec struct{ Plain, Flipped []float32 }

// Extractor turns one image file into Features. It is used by one
// goroutine at a time; an Extraction makes one per worker.
type Extractor interface {
	Extract(path string) Features
	Close() error
}

// FeatureCache holds a data set's features under the key of the
// extraction that made them. It is stored with encoding/gob.
type FeatureCache struct {
	Key    string
	Images map[string]Features
}

// CacheDir is where feature caches live: $DOZOR_CACHE, else dozor/ in the
// user's cache directory, else dozor-cache/ in the temporary directory.
func CacheDir() string {
	if d := os.Getenv("DOZOR_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "dozor")
	}
	return filepath.Join(os.TempDir(), "dozor-cache")
}

// CacheFile names the cache of one data set and extraction key under
// cacheDir. The name starts with the data set's folder name, for people
// looking at the directory; the hash keeps data sets of the same name and
// different extractions apart.
func CacheFile(cacheDir, datasetDir, key string) string {
	abs, _ := filepath.Abs(datasetDir)
	h := sha256.Sum256([]byte(abs + "\x00" + key))
	return filepath.Join(cacheDir, "eval", filepath.Base(abs)+"-"+hex.EncodeToString(h[:6])+".gob")
}

// LoadCache reads the cache at path. A missing, damaged or stale (other
// key) cache yields an empty one: it only costs the time to extract again.
func LoadCache(path, key string) *FeatureCache {
	c := &FeatureCache{Key: key, Images: map[string]Features{}}
	f, err := os.Open(path)
	if err != nil {
		return c
	}
	defer f.Close()
	var got FeatureCache
	if err := gob.NewDecoder(f).Decode(&got); err != nil || got.Key != key {
		return c
	}
	if got.Images == nil {
		got.Images = map[string]Features{}
	}
	return &got
}

// Save writes the cache to path atomically, so an interrupted run leaves
// either the old cache or the new one.
func (c *FeatureCache) Save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cache-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := gob.NewEncoder(tmp).Encode(c); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Extraction describes how to obtain a data set's features: which
// extractor, how many in parallel, and where the cache lives.
type Extraction struct {
	// Key names the extractor and the exact model files it uses; a cache
	// made under another key is discarded.
	Key string
	// New makes one extractor; each worker gets its own.
	New func() (Extractor, error)
	// Workers is the number of parallel extractors; 0 means one per CPU.
	Workers int
	// CacheDir holds the cache files; "" means CacheDir().
	CacheDir string
	// Progress, when set, is called with done 0 before the first image
	// is extracted (never when the cache has them all) and after each
	// one, total being the number of images left at the start. Calls do
	// not overlap.
	Progress func(done, total int)
}

// saveEvery is how many extracted images go between cache saves, so an
// interrupted run resumes close to where it stopped.
const saveEvery = 500

// Features returns the features of every image the data set's protocols
// use, indexed as Dataset.Images names them, extracting only those the
// cache lacks. On cancellation it saves what it has and returns ctx.Err().
func (x Extraction) Features(ctx context.Context, ds *Dataset) (map[string]Features, error) {
	dir := x.CacheDir
	if dir == "" {
		dir = CacheDir()
	}
	file := CacheFile(dir, ds.Dir, x.Key)
	cache := LoadCache(file, x.Key)
	var todo []string
	for _, p := range ds.Images() {
		if _, ok := cache.Images[p]; !ok {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return cache.Images, nil
	}
	if err := x.extract(ctx, ds, todo, cache, file); err != nil {
		return nil, err
	}
	return cache.Images, nil
}

func (x Extraction) extract(ctx context.Context, ds *Dataset, todo []string, cache *FeatureCache, file string) error {
	workers := x.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	workers = min(workers, len(todo))
	progress := x.Progress
	if progress == nil {
		progress = func(int, int) {}
	}
	extractors := make([]Extractor, 0, workers)
	closeAll := func() {
		for _, ex := range extractors {
			ex.Close()
		}
	}
	for range workers {
		ex, err := x.New()
		if err != nil {
			closeAll()
			return err
		}
		extractors = append(extractors, ex)
	}
	progress(0, len(todo))

	jobs := make(chan string)
	var (
		mu      sync.Mutex
		done    int
		saveErr error
		wg      sync.WaitGroup
	)
	for _, ex := range extractors {
		wg.Go(func() {
			for p := range jobs {
				feat := ex.Extract(ds.ImageFile(p))
				mu.Lock()
				cache.Images[p] = feat
				done++
				if done%saveEvery == 0 && saveErr == nil {
					saveErr = cache.Save(file)
				}
				progress(done, len(todo))
				mu.Unlock()
			}
		})
	}
feed:
	for _, p := range todo {
		select {
		case jobs <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	closeAll()
	if saveErr != nil {
		return saveErr
	}
	if err := cache.Save(file); err != nil {
		return err
	}
	return ctx.Err()
}

// MainFace picks the labelled subject of a data-set photo among the faces
// found in a w×h image: the largest face, discounted by its distance from
// the centre, because LFW centres the subject and CelebA and CFP photos
// are mostly of one large face. It returns -1 when there is no face.
func MainFace(faces []recognizer.Face, w, h int) int {
	best, bestScore := -1, -1.0
	diag := math.Hypot(float64(w), float64(h))
	for i, f := range faces {
		c := f.Box.Center()
		d := math.Hypot(float64(c.X)-float64(w)/2, float64(c.Y)-float64(h)/2) / diag
		s := float64(f.Box.Area()) * (1 - d)
		if s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}
