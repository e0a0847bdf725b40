package enroll

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

const (
	actor    = "supervisor-1"
	facility = "facility-7"
)

// decode is the production decoder at the size edgectl uses for stills.
func decode(b []byte) (*recognizer.Image, error) { return opencv.DecodeImage(b, 1280) }

// newStore opens a new store file in a temporary folder, with a generated
// key kept in another one, as production keeps them apart.
func newStore(t *testing.T) *store.Store {
	t.Helper()
	key := filepath.Join(t.TempDir(), "store.key")
	if _, err := store.GenerateKeyFile(key); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "facility.db"), store.Options{SQLite: sqlite.Binding{}, KeyFile: key,
		Region: "north", Site: "ik5"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newEngine builds a real engine from the shared models, with the
// detector set for still photos as edgectl sets it.
func newEngine(t *testing.T, name string) recognizer.Engine {
	t.Helper()
	det := opencv.DefaultDetectorConfig
	det.RetryUpscale = true
	e, err := engines.New(testenv.ModelDir(t), name, det)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newEnroller(t *testing.T, st Store, eng recognizer.Engine, mod func(*Options)) *Enroller {
	t.Helper()
	opt := Options{Actor: actor, Facility: facility, Decode: decode}
	if mod != nil {
		mod(&opt)
	}
	e, err := New(context.Background(), st, eng, opt)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// photos are the real test photos by role.
type photos struct {
	lin, alex, obama   string // one frontal face each, enrolment quality
	group              string // ten faces
	clooneyA, clooneyB string // two different photos of one man
	tiny, blurred      string // derived from lin: too small, too blurred
	corrupt, truncated string
}

func testPhotos(t *testing.T) photos {
	t.Helper()
	enrol := testenv.TestData(t, "video/enroll")
	clooney := filepath.Join(testenv.TestData(t, "lfw-dev"), "images", "George_Clooney")
	dir := t.TempDir()
	p := photos{
		lin:      filepath.Join(enrol, "lin-manuel-miranda.png"),
		alex:     filepath.Join(enrol, "alex-lacamoire.png"),
		obama:    filepath.Join(enrol, "obama.jpg"),
		group:    filepath.Join(testenv.TestData(t, "faces"), "pristin.jpg"),
		clooneyA: filepath.Join(clooney, "George_Clooney_0007.jpg"),
		clooneyB: filepath.Join(clooney, "George_Clooney_0005.jpg"),
	}
	src := readPNG(t, p.lin)
	p.tiny = writePNG(t, dir, "tiny.png", shrink(src, 4))
	p.blurred = writePNG(t, dir, "blurred.png", boxBlur(boxBlur(boxBlur(src, 10), 10), 10))
	p.corrupt = filepath.Join(dir, "corrupt.jpg")
	if err := os.WriteFile(p.corrupt, []byte("\xff\xd8\xff\xe0 not really a JPEG"), 0o644); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(p.obama)
	if err != nil {
		t.Fatal(err)
	}
	p.truncated = filepath.Join(dir, "truncated.jpg")
	if err := os.WriteFile(p.truncated, whole[:len(whole)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readPNG reads a PNG file as RGBA pixels from (0, 0).
func readPNG(t *testing.T, path string) *image.RGBA {
	t.Helper()
	m := testenv.ReadPNG(t, path)
	b := m.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			out.Set(x, y, m.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

func writePNG(t *testing.T, dir, name string, m image.Image) string {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// shrink averages k×k blocks: the face keeps its look at 1/k the size.
func shrink(m *image.RGBA, k int) *image.RGBA {
	w, h := m.Rect.Dx()/k, m.Rect.Dy()/k
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			for c := range 4 {
				sum := 0
				for dy := range k {
					for dx := range k {
						sum += int(m.Pix[(y*k+dy)*m.Stride+(x*k+dx)*4+c])
					}
				}
				out.Pix[y*out.Stride+x*4+c] = uint8(sum / (k * k))
			}
		}
	}
	return out
}

// boxBlur averages each pixel with its (2r+1)² neighbourhood, as a row
// pass and then a column pass.
func boxBlur(m *image.RGBA, r int) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	pass := func(src *image.RGBA, dx, dy int) *image.RGBA {
		out := image.NewRGBA(src.Rect)
		for y := range h {
			for x := range w {
				for c := range 4 {
					sum, n := 0, 0
					for i := -r; i <= r; i++ {
						xx, yy := x+i*dx, y+i*dy
						if xx < 0 || yy < 0 || xx >= w || yy >= h {
							continue
						}
						sum += int(src.Pix[yy*src.Stride+xx*4+c])
						n++
					}
					out.Pix[y*out.Stride+x*4+c] = uint8(sum / n)
				}
			}
		}
		return out
	}
	return pass(pass(m, 1, 0), 0, 1)
}

func byPerson(rs []Result) map[string]Result {
	out := map[string]Result{}
	for _, r := range rs {
		out[r.Person] = r
	}
	return out
}

func mustTemplates(t *testing.T, st *store.Store, m recognizer.ModelID) []store.Template {
	t.Helper()
	ts, err := st.Templates(context.Background(), m, store.SystemActor)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func auditActions(t *testing.T, st *store.Store) []store.AuditEntry {
	t.Helper()
	es, err := st.AuditEntries(context.Background(), 0, store.MaxBatch)
	if err != nil {
		t.Fatal(err)
	}
	return es
}
