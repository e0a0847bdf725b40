//go:build cgo

package recognizer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/engines/features"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/eval"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// The data tests of the usability gate run the default engine on the
// development sets in ../shared/testdata. They fail when the data or the
// models are missing. Features come from the evaluation's feature cache
// (eval.CacheDir), so they cost an extraction only the first time.

// Kinds of calibration probe.
const (
	kindRight    = iota // genuine, the top match is the person
	kindWrong           // genuine, the top match is someone else
	kindImpostor        // not enrolled: any top match is someone else
)

// devProbe is one identification probe of a development set: the gate's
// inputs (the face with the sharpness the engine measured) and what the
// default engine's matcher made of it.
type devProbe struct {
	set, path string
	kind      int
	noFace    bool
	face      recognizer.Face
	top       string
	score     float32
}

// devSet names a group of probes: a data set, optionally with extra
// probes beyond its identification lists.
type devSet struct {
	name, dir string
	// extra, when set, lists the probes instead of probes_genuine.txt
	// and probes_impostor.txt, labelled like them.
	extra func(*testing.T, *eval.Dataset) []eval.Labeled
	// photos marks the sets of press photos, where the gate must keep
	// nearly everything the matcher gets right.
	photos bool
}

// group names the rows a probe is reported in: the set, or for the
// frmdb-dev mugshots their horizontal angle.
func (s devSet) group(path string) string {
	if s.extra == nil {
		return s.name
	}
	return s.name + " " + mugshotView(path)
}

// mugshotView names the horizontal view of an frmdb-dev mugshot from its
// number n = 4·X + Y (README): X = 0..6 is -135° + 45°·X.
func mugshotView(path string) string {
	var n int
	base := filepath.Base(path)
	if _, err := fmt.Sscanf(base[strings.LastIndexByte(base, '_')+1:], "%04d", &n); err != nil {
		return "unknown view"
	}
	switch (n - 1) / 4 {
	case 0, 6:
		return "±135°"
	case 1, 5:
		return "±90°"
	}
	return "within 45°"
}

// frmdbMugshots lists every mugshot of frmdb-dev that is not enrolled:
// the 27 other views of the enrolled people and all 28 of the others.
func frmdbMugshots(t *testing.T, ds *eval.Dataset) []eval.Labeled {
	enrolled := map[string]string{}
	for _, g := range ds.Gallery {
		enrolled[g.Path] = g.ID
	}
	dirs, err := os.ReadDir(filepath.Join(ds.Dir, eval.ImagesDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []eval.Labeled
	for _, d := range dirs {
		for n := 1; n <= 28; n++ {
			p := fmt.Sprintf("%s/%s_%04d.jpg", d.Name(), d.Name(), n)
			if _, ok := enrolled[p]; !ok {
				out = append(out, eval.Labeled{ID: d.Name(), Path: p})
			}
		}
	}
	return out
}

// loadDevProbes extracts (or loads) the features of a set's gallery and
// probes and matches every probe against the gallery with the default
// engine: the top match is the template of highest cosine similarity.
func loadDevProbes(t *testing.T, s devSet) []devProbe {
	t.Helper()
	ds, err := eval.LoadDataset(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	probes := append(append([]eval.Labeled(nil), ds.Genuine...), ds.Impostor...)
	if s.extra != nil {
		probes = s.extra(t, ds)
	}
	all := *ds
	all.Impostor = probes
	x, err := features.NewExtraction(testenv.ModelDir(t), "default")
	if err != nil {
		t.Fatal(err)
	}
	// A fresh machine extracts each set once (cfp-dev: about 4,000
	// photos); every core helps.
	x.Workers = runtime.NumCPU()
	feats, err := features.Extract(context.Background(), &all, x)
	if err != nil {
		t.Fatal(err)
	}
	v, err := features.NewVariant("default", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	type template struct {
		id  string
		vec []float32
	}
	var gallery []template
	enrolled := map[string]bool{}
	for _, g := range ds.Gallery {
		enrolled[g.ID] = true
		if vec := v.Embed(feats[g.Path]); vec != nil {
			gallery = append(gallery, template{g.ID, vec})
		}
	}
	out := make([]devProbe, 0, len(probes))
	for _, p := range probes {
		f := feats[p.Path]
		dp := devProbe{set: s.name, path: p.Path, face: f.Face, noFace: f.NoFace}
		if vec := v.Embed(f); vec != nil {
			dp.score = -2
			for _, g := range gallery {
				if sc := recognizer.Dot(vec, g.vec); sc > dp.score {
					dp.top, dp.score = g.id, sc
				}
			}
		} else {
			dp.noFace = true
		}
		switch {
		case !enrolled[p.ID]:
			dp.kind = kindImpostor
		case dp.top == p.ID:
			dp.kind = kindRight
		default:
			dp.kind = kindWrong
		}
		out = append(out, dp)
	}
	return out
}

func devSets(t *testing.T) []devSet {
	frmdb := testenv.TestData(t, "frmdb-dev")
	return []devSet{
		{name: "frmdb-dev", dir: frmdb},
		{name: "frmdb-dev mugshots", dir: frmdb, extra: frmdbMugshots},
		{name: "cfp-dev", dir: testenv.TestData(t, "cfp-dev"), photos: true},
		{name: "celeba-dev", dir: testenv.TestData(t, "celeba-dev"), photos: true},
		{name: "lfw-dev", dir: testenv.TestData(t, "lfw-dev"), photos: true},
	}
}

// dropped is what the gate drops of one kind of probe: a probe without a
// face counts as dropped.
type dropped struct{ n, dropped int }

func (d dropped) String() string {
	if d.n == 0 {
		return "    none"
	}
	return fmt.Sprintf("%5.1f%% of %4d", 100*d.share(), d.n)
}

func (d dropped) share() float64 { return float64(d.dropped) / float64(max(d.n, 1)) }

// TestUsableCalibration prints, per development set, what
// DefaultUsablePolicy costs: the share of right top matches it drops and
// the share of wrong ones, and writes every probe's measurements to
// usable-calibration.tsv in the artifact folder for choosing the limits.
// It fails when the gate drops more than a little of what the matcher gets
// right on the photo sets, or drops right matches as readily as wrong ones
// on the surveillance crops.
func TestUsableCalibration(t *testing.T) {
	p := recognizer.DefaultUsablePolicy
	var tsv strings.Builder
	tsv.WriteString("set\tpath\tkind\tnoface\tdet\tiod\tsharp\tyaw\tpitch\troll\tspan\ttop\tscore\tusable\n")
	table := []string{fmt.Sprintf("%-32s %-16s %-16s %-16s", "probes", "right dropped", "wrong dropped", "impostor dropped")}
	for _, s := range devSets(t) {
		t.Run(s.name, func(t *testing.T) {
			groups := map[string]*[3]dropped{}
			var names []string
			for _, pr := range loadDevProbes(t, s) {
				f := pr.face
				u := !pr.noFace && p.Check(f, f.Quality.Sharpness).Usable
				g := s.group(pr.path)
				if groups[g] == nil {
					groups[g] = &[3]dropped{}
					names = append(names, g)
				}
				d := &groups[g][pr.kind]
				d.n++
				if !u {
					d.dropped++
				}
				yaw, pitch, roll := recognizer.EstimatePose(f.Landmarks)
				fmt.Fprintf(&tsv, "%s\t%s\t%d\t%v\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t%s\t%.4f\t%v\n",
					s.name, pr.path, pr.kind, pr.noFace, f.Score, f.InterOcular(), f.Quality.Sharpness,
					yaw, pitch, roll, eyeSpan(f), pr.top, pr.score, u)
			}
			for _, g := range names {
				d := groups[g]
				table = append(table, fmt.Sprintf("%-32s %-16s %-16s %-16s", g, d[kindRight], d[kindWrong], d[kindImpostor]))
			}
			for _, g := range names {
				right, wrong := groups[g][kindRight], groups[g][kindWrong]
				if s.photos && right.share() > 0.01 {
					t.Errorf("%s: the gate drops %s right matches, want at most 1%%", g, right)
				}
				if s.extra == nil && wrong.n > 0 && wrong.share() < 2*right.share() {
					t.Errorf("%s: the gate drops %s wrong matches and %s right ones: not selective", g, wrong, right)
				}
			}
		})
	}
	t.Logf("DefaultUsablePolicy %+v on the default engine's top matches:\n%s", p, strings.Join(table, "\n"))
	out := filepath.Join(testenv.ArtifactDir(t), "usable-calibration.tsv")
	if err := os.WriteFile(out, []byte(tsv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func eyeSpan(f recognizer.Face) float32 {
	if f.Box.W <= 0 {
		return 0
	}
	return f.InterOcular() / f.Box.W
}

// TestUsableRejectsBacksAndProfiles runs the real detector on the frmdb-dev
// mugshots of all 28 people and the default gate on the face each shows
// (eval.MainFace, as the evaluation picks it). An image where the detector
// finds no face at all counts as rejected: the daemon never sees a face
// there to name. The gate must reject the backs of heads (±135°, images
// 1-4 and 25-28) and most full profiles (±90°, images 5-8 and 21-24),
// where the matcher is mostly wrong (TestUsableCalibration), and keep the
// frontal mugshot (15) of everyone and the views within 30° of it.
func TestUsableRejectsBacksAndProfiles(t *testing.T) {
	det := opencv.DefaultDetectorConfig
	det.RetryUpscale = true // the detector the evaluation runs on stills
	eng, err := engines.NewOpenCV(testenv.ModelDir(t), engines.Default, det)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	dir := filepath.Join(testenv.TestData(t, "frmdb-dev"), eval.ImagesDir)
	people, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != 28 {
		t.Fatalf("%s holds %d people, want the 28 of frmdb-dev", dir, len(people))
	}
	type tally struct{ n, rejected, noFace int }
	views := []struct {
		name    string
		numbers []int
		// least and most share of the images the gate may reject
		minRejected, maxRejected float64
	}{
		{"back of the head (±135°)", []int{1, 2, 3, 4, 25, 26, 27, 28}, 0.9, 1},
		{"full profile (±90°)", []int{5, 6, 7, 8, 21, 22, 23, 24}, 0.6, 1},
		{"frontal at eye level", []int{15}, 0, 0},
		{"frontal, 30° above or below", []int{14, 16}, 0, 0.05},
	}
	for _, v := range views {
		var got tally
		for _, p := range people {
			for _, n := range v.numbers {
				path := filepath.Join(dir, p.Name(), fmt.Sprintf("%s_%04d.jpg", p.Name(), n))
				img, faces, err := engines.DetectFile(eng, path)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				got.n++
				i := eval.MainFace(faces, img.W, img.H)
				if i < 0 {
					got.noFace++
					got.rejected++
					continue
				}
				f := faces[i]
				u := recognizer.DefaultUsablePolicy.Check(f, f.Quality.Sharpness)
				if !u.Usable {
					got.rejected++
					if v.maxRejected == 0 {
						t.Errorf("%s rejected: %s", filepath.Base(path), u.Reason)
					}
				}
			}
		}
		share := float64(got.rejected) / float64(got.n)
		t.Logf("%-28s %3d images, %3d rejected (%5.1f%%), %d of them without a face", v.name, got.n, got.rejected, 100*share, got.noFace)
		if share < v.minRejected || share > v.maxRejected {
			t.Errorf("%s: %.1f%% rejected, want %.0f%%..%.0f%%", v.name, 100*share, 100*v.minRejected, 100*v.maxRejected)
		}
	}
}
