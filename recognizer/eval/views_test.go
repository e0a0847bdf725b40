package eval

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

func TestViews(t *testing.T) {
	for name, want := range map[string][]int{
		"frontal": {15},
		"booking": {7, 14, 15, 16, 23},
		"nine":    {10, 11, 12, 14, 15, 16, 18, 19, 20},
	} {
		if got, err := Views(name); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Views(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := Views("all"); err == nil {
		t.Error("unknown views accepted")
	}
	for _, c := range []struct{ yaw, pitch, n int }{{-135, 60, 1}, {135, -30, 28}, {0, 0, 15}, {-90, 0, 7}, {90, 0, 23}} {
		if n, err := MugshotNumber(c.yaw, c.pitch); err != nil || n != c.n {
			t.Errorf("MugshotNumber(%d, %d) = %d, %v; want %d", c.yaw, c.pitch, n, err, c.n)
		}
	}
	for _, bad := range [][2]int{{180, 0}, {10, 0}, {0, 90}, {0, -60}, {0, 15}} {
		if n, err := MugshotNumber(bad[0], bad[1]); err == nil {
			t.Errorf("MugshotNumber%v = %d, want an error", bad, n)
		}
	}
}

// rigFiles is a rig data set of two enrolled people with three mugshots
// each and one impostor.
func rigFiles() map[string]string {
	files := map[string]string{
		"pairs.txt":                          "1\t1\nA\t15\t29\nA\t15\tC\t29\n",
		"identification/gallery.txt":         "A\tA/A_0015.jpg\nB\tB/B_0015.jpg\n",
		"identification/probes_genuine.txt":  "A\tA/A_0029.jpg\nB\tB/B_0029.jpg\n",
		"identification/probes_impostor.txt": "C\tC/C_0029.jpg\n",
	}
	for _, id := range []string{"A", "B", "C"} {
		for _, n := range []int{7, 14, 15, 16, 23, 29} {
			files["images/"+ImagePath(id, n)] = "x"
		}
	}
	return files
}

func TestViewsGallery(t *testing.T) {
	ds := loadFake(t, "frmdb-tiny", rigFiles())
	if !HasRig(ds.Dir) || HasRig("/data/lfw-dev") {
		t.Fatal("HasRig")
	}
	got, err := ds.ViewsGallery("booking")
	if err != nil {
		t.Fatal(err)
	}
	var want []Labeled
	for _, id := range []string{"A", "B"} {
		for _, n := range []int{7, 14, 15, 16, 23} {
			want = append(want, Labeled{ID: id, Path: ImagePath(id, n)})
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("booking gallery %v", got)
	}
	// The nine views name mugshots this set lacks.
	if _, err := ds.ViewsGallery("nine"); !containsParts(err, "A_0010.jpg does not exist") {
		t.Errorf("missing mugshot: %v", err)
	}
	ds.UseGallery(got)
	if imgs := ds.Images(); len(imgs) != 13 {
		t.Errorf("images %v", imgs)
	}
}

func TestLoadGallery(t *testing.T) {
	ds := loadFake(t, "frmdb-tiny", rigFiles())
	write := func(text string) string {
		f := filepath.Join(t.TempDir(), "g.txt")
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	got, err := ds.LoadGallery(write("A\tA/A_0015.jpg\nA\tA/A_0007.jpg\n\nB\tB/B_0015.jpg\nB\tB/B_0023.jpg\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[1] != (Labeled{"A", "A/A_0007.jpg"}) {
		t.Errorf("gallery %v", got)
	}
	for text, want := range map[string]string{
		"":                  "is empty",
		"A\tA/A_0015.jpg\n": `genuine probe identity "B" is not in the gallery`,
		"A\tA/A_0015.jpg\nB\tB/B_0015.jpg\nC\tC/C_0015.jpg\n": `impostor identity "C" is enrolled`,
		"A\tA/A_0015.jpg\nB\tB/B_0029.jpg\n":                  "probe image B/B_0029.jpg is also a gallery image",
		"A\tA/A_0015.jpg\nB\tB/B_0099.jpg\n":                  "B_0099.jpg does not exist",
		"A\tA/A_0015.jpg\nA\tA/A_0015.jpg\n":                  "already listed on line 1",
		"A A/A_0015.jpg\n":                                    "expected 2 tab-separated fields",
	} {
		if _, err := ds.LoadGallery(write(text)); !containsParts(err, want) {
			t.Errorf("%q: got %v, want %q", text, err, want)
		}
	}
}

// TestIdentifyMultiView enrols two people from several images each: the
// maximum lets the impostor win on one lucky template, the default
// aggregation does not; the gate keeps unusable probes out.
func TestIdentifyMultiView(t *testing.T) {
	ds := loadFake(t, "frmdb-tiny", rigFiles())
	list, err := ds.ViewsGallery("booking")
	if err != nil {
		t.Fatal(err)
	}
	ds.UseGallery(list)
	embs := map[string][]float32{}
	for _, l := range list {
		embs[l.Path] = unit(1, 0, 0, 0)
		if l.ID == "B" {
			embs[l.Path] = unit(0, 1, 0, 0)
		}
	}
	// The impostor C resembles one of B's profiles closely.
	embs["B/B_0023.jpg"] = unit(0, 0.6, 0, 0.8)
	embs["A/A_0029.jpg"] = unit(0.9, 0, 0.43589, 0)
	embs["B/B_0029.jpg"] = unit(0, 0.9, 0.43589, 0)
	embs["C/C_0029.jpg"] = unit(0, 0.6, 0.05, 0.8)
	maxed, err := IdentifyDataset(ds, "test", embs, IdentifyOptions{Aggregation: gallery.Aggregation{Kind: gallery.AggMax}})
	if err != nil {
		t.Fatal(err)
	}
	agg, err := IdentifyDataset(ds, "test", embs, IdentifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if maxed.AtFPIR1pct.FNIR != 1 || agg.AtFPIR1pct.FNIR != 0 || agg.Rank1 != 1 {
		t.Errorf("FNIR max %v, default %v (rank-1 %v)", maxed.AtFPIR1pct.FNIR, agg.AtFPIR1pct.FNIR, agg.Rank1)
	}
	// B's probe is too small to identify: a miss in the totals, left out
	// of the usable figures.
	faces := map[string]recognizer.Face{}
	for p := range embs {
		faces[p] = recognizer.Face{Box: recognizer.Rect{W: 100, H: 100}}
	}
	faces["B/B_0029.jpg"] = recognizer.Face{Box: recognizer.Rect{W: 10, H: 10}}
	gated, err := IdentifyDataset(ds, "test", embs, IdentifyOptions{Faces: faces, Usable: func(f recognizer.Face) bool { return f.Box.W >= 50 }})
	if err != nil {
		t.Fatal(err)
	}
	if !gated.Gated || gated.UsableProbes != 2 || gated.Rank1 != 0.5 || gated.OverUsable == nil || gated.OverUsable.Rank1 != 1 || gated.OverUsable.Genuine != 1 {
		t.Errorf("gated %+v, over usable %+v", gated, gated.OverUsable)
	}
	rep := NewReport(nil, &gated)
	if *rep.UsableFraction != 2.0/3 || *rep.OverUsable.Rank1 != 1 {
		t.Errorf("report %+v", rep)
	}
}
