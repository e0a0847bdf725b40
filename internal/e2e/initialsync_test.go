//go:build cgo

package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	_ "image/png" // the clip's enrolment photos
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/internal/testenv"
	rconfig "github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/store"
)

// initialSyncPersons is the size of the facility a new box joins.
const initialSyncPersons = 5000

// TestInitialSync measures a new facility box receiving its whole gallery:
// the region holds initialSyncPersons persons assigned to site ik9, each
// with one booking photo (a face photo made distinct per person) and one
// template of the region's model; the site starts with an empty store and
// gets one full revision in chunks, applies it in one transaction and
// acknowledges it. The test prints the time from the site's start to the
// region seeing the acknowledgement, and the bytes published.
func TestInitialSync(t *testing.T) {
	modelDir := testenv.ModelDir(t)
	videoDir := testenv.TestData(t, "video")
	ctx := context.Background()

	rg := startRegion(t)
	rg.cfg.Models.Dir = modelDir
	rg.cfg.Gallery.ResendAfter = time.Minute // a full revision takes a while to apply: no early re-send
	pw, err := rconfig.AddSite(rg.cfg.Broker.SitesFile, "ik9")
	if err != nil {
		t.Fatal(err)
	}
	rg.run(t)

	// One real enrolment gives the model and the template's size.
	photo := filepath.Join(videoDir, "enroll", "lin-manuel-miranda.png")
	enrolAtRegion(t, rg, "lin-manuel-miranda", "ik9", photo)
	_, tmpls, err := rg.st.PersonBiometrics(ctx, "test-supervisor", "lin-manuel-miranda")
	if err != nil || len(tmpls) == 0 {
		t.Fatalf("templates of the enrolled person: %d, %v", len(tmpls), err)
	}
	model, dim := tmpls[0].Model, len(tmpls[0].Vec)

	face := faceOf(t, photo)
	rnd := rand.New(rand.NewPCG(1, 2))
	began := time.Now()
	var photoBytes int
	for i := 1; i < initialSyncPersons; i++ {
		jpg := distinctPhoto(t, face, i)
		photoBytes += len(jpg)
		sum := sha256Hex(jpg)
		_, err := rg.st.Enrol(ctx, "test-supervisor", store.Enrolment{
			Person:    store.Person{ID: fmt.Sprintf("p%05d", i), DisplayName: fmt.Sprintf("Person %d", i), Facility: "ik9", Status: store.PersonActive},
			Photos:    []store.NewPhoto{{JPEG: jpg, Source: "booking photo"}},
			Templates: []store.Template{{PhotoSHA256: sum, Model: model, Vec: randomUnit(rnd, dim), Quality: 0.9, Source: "booking photo"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	g := siteGallery(t, rg, "ik9")
	t.Logf("region: %d persons enrolled for ik9 in %v (photos %.1f KiB on average, templates of %s with %d dimensions); revision %d issued",
		initialSyncPersons, time.Since(began).Round(time.Second), float64(photoBytes)/float64(initialSyncPersons-1)/1024, model, dim, g.Issued)

	before := rg.d.Publisher().Stats()
	cfg := edgeConfig(t, "ik9", rg.d.MQTTURL(), pw, startCamera(t, hamilton(t, videoDir)).URL(), modelDir)
	cfg.Gallery.RegionPublicKey = rg.publicKey(t)
	start := time.Now()
	ik9 := startSite(t, cfg)
	ready := time.Now()
	waitUntil(t, 10*time.Minute, "ik9 running the full revision", func() bool {
		g := siteGallery(t, rg, "ik9")
		return g.InForce == g.Issued
	})
	took := time.Since(start)
	after := rg.d.Publisher().Stats()
	if n := len(personsAt(t, ik9)); n != initialSyncPersons {
		t.Errorf("ik9 holds %d persons; want %d", n, initialSyncPersons)
	}
	// The site swaps its gallery once the revision is committed.
	var templates int
	waitUntil(t, time.Minute, "ik9 searching the new gallery", func() bool {
		templates = edgeHealth(t, ik9.d.HTTPAddr()).Gallery.Templates
		return templates >= initialSyncPersons
	})
	t.Logf("initial sync of %d persons: %v from the site's start (%v of it starting the daemon) to the region holding its acknowledgement, %d revisions (%d full), %d chunks, %.1f MiB published (%.1f KiB a person); the site searched %d templates %v after its start",
		initialSyncPersons, took.Round(100*time.Millisecond), ready.Sub(start).Round(100*time.Millisecond),
		after.Revisions-before.Revisions, after.Full-before.Full, after.Chunks-before.Chunks,
		float64(after.Bytes-before.Bytes)/(1<<20), float64(after.Bytes-before.Bytes)/initialSyncPersons/1024,
		templates, time.Since(start).Round(100*time.Millisecond))
	if after.Full-before.Full != 1 {
		t.Errorf("the new site was sent %d full revisions; want one", after.Full-before.Full)
	}
	ik9.stop(t)
	rg.stop(t)
}

// faceOf reads a photo as an RGBA image.
func faceOf(t *testing.T, path string) *image.RGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := image.NewRGBA(img.Bounds())
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Src)
	return out
}

// distinctPhoto is the face with person i's number written as a row of
// dark and light squares along the bottom edge, as a JPEG: every person's
// photo is a different file of a realistic size.
func distinctPhoto(t *testing.T, face *image.RGBA, i int) []byte {
	t.Helper()
	img := image.NewRGBA(face.Bounds())
	copy(img.Pix, face.Pix)
	b := img.Bounds()
	const cell = 6
	for bit := 0; bit < 16; bit++ {
		c := color.RGBA{20, 20, 20, 255}
		if i>>bit&1 == 1 {
			c = color.RGBA{235, 235, 235, 255}
		}
		r := image.Rect(b.Min.X+bit*cell, b.Max.Y-cell, b.Min.X+(bit+1)*cell, b.Max.Y)
		draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// randomUnit is a random unit vector.
func randomUnit(rnd *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := rnd.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
