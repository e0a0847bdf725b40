package main

import (
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/dozor-edge/dozor/internal/progress"
	"github.com/dozor-edge/dozor/models"
	"github.com/dozor-edge/dozor/recognizer"
)

// featureCache holds, per image of a data set, what an extractor produced:
// the main face and its raw per-model vectors (plain and mirrored). Every
// flip and fusion variant is scored from it, so trying a variant costs
// seconds, not another pass over the photos.
type featureCache struct {
	Key    string
	Images map[string]imageFeatures
}

type imageFeatures struct {
	NoFace bool
	Err    string
	Face   recognizer.Face
	// Vecs is indexed by model name ("faceplugin", "dlibonnx", "gofacedlib").
	Vecs map[string]rawVec
}

type rawVec struct{ Plain, Flipped []float32 }

// extractor produces imageFeatures for one image; each worker gets its own.
type extractor interface {
	extract(path string) imageFeatures
	Close() error
}

func cachePath(datasetDir, key string) string {
	base := os.Getenv("DOZOR_CACHE")
	if base == "" {
		if d, err := os.UserCacheDir(); err == nil {
			base = filepath.Join(d, "dozor")
		} else {
			base = filepath.Join(os.TempDir(), "dozor-cache")
		}
	}
	abs, _ := filepath.Abs(datasetDir)
	h := sha256.Sum256([]byte(abs + "\x00" + key))
	return filepath.Join(base, "eval", filepath.Base(abs)+"-"+hex.EncodeToString(h[:6])+".gob")
}

func loadCache(path, key string) *featureCache {
	c := &featureCache{Key: key, Images: map[string]imageFeatures{}}
	f, err := os.Open(path)
	if err != nil {
		return c
	}
	defer f.Close()
	var got featureCache
	if err := gob.NewDecoder(f).Decode(&got); err != nil || got.Key != key {
		// A stale or damaged cache is only lost time: start afresh.
		return c
	}
	return &got
}

func saveCache(path string, c *featureCache) error {
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

// extractAll fills the cache for every image, in parallel, saving progress
// now and then so an interrupted run resumes where it stopped.
func extractAll(ctx context.Context, imagesDir string, paths []string, cache *featureCache, cacheFile string,
	workers int, newExtractor func() (extractor, error), label string) error {
	var todo []string
	for _, p := range paths {
		if _, ok := cache.Images[p]; !ok {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	workers = min(workers, len(todo))
	bar := progress.New(os.Stderr, label, int64(len(todo)), "")
	defer bar.Finish()
	jobs := make(chan string)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	done := 0
	for w := 0; w < workers; w++ {
		ex, err := newExtractor()
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ex.Close()
			for p := range jobs {
				feat := ex.extract(filepath.Join(imagesDir, p))
				mu.Lock()
				cache.Images[p] = feat
				done++
				if done%500 == 0 && firstErr == nil {
					if err := saveCache(cacheFile, cache); err != nil {
						firstErr = err
					}
				}
				mu.Unlock()
				bar.Add(1)
			}
		}()
	}
	for _, p := range todo {
		if ctx.Err() != nil {
			break
		}
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := saveCache(cacheFile, cache); err != nil {
		return err
	}
	return ctx.Err()
}

// mainFace picks the labelled subject of a data-set photo: the largest face,
// discounted by its distance from the centre, because LFW centres the
// subject and CelebA/CFP photos are mostly of one large face.
func mainFace(faces []recognizer.Face, w, h int) int {
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

// extractorVersion changes whenever extraction changes what it stores
// (detector settings, face choice, alignment), invalidating old caches.
const extractorVersion = "v1"

// extractorKey names an extraction: its kind, version and the exact model
// files (by sha256), so a cache is never reused across different weights.
func extractorKey(modelDir, kind string) (string, error) {
	names := []string{models.YuNet, models.FacePlugin, models.DlibONNX}
	if kind == "gofacedlib" {
		names = []string{models.YuNet, models.GoFaceResNet}
	}
	key := kind + "/" + extractorVersion
	for _, n := range names {
		f, ok := models.Lookup(n)
		if !ok {
			return "", fmt.Errorf("model %s missing from the manifest", n)
		}
		key += "/" + f.SHA256[:12]
	}
	return key, nil
}
