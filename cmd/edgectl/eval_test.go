package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer/eval"
)

func TestChooseGallery(t *testing.T) {
	ds, err := eval.LoadDataset(testenv.TestData(t, "frmdb-dev"))
	if err != nil {
		t.Fatal(err)
	}
	list, label, err := chooseGallery(ds, "", "")
	if list != nil || label != "" || err != nil {
		t.Errorf("no choice: %v, %q, %v", list, label, err)
	}
	list, label, err = chooseGallery(ds, "", "nine")
	if err != nil {
		t.Fatal(err)
	}
	if label != "/nine" || len(list) != 9*21 || list[0].Path != "s040/s040_0010.jpg" {
		t.Errorf("nine views: %q, %d images, first %v", label, len(list), list[0])
	}
	// The data set's own list, given as a file, enrols the same people.
	own := filepath.Join(ds.Dir, eval.IdentificationDir, eval.GalleryFile)
	list, label, err = chooseGallery(ds, own, "")
	if err != nil || label != "/gallery" || len(list) != 21 {
		t.Errorf("gallery file: %q, %d images, %v", label, len(list), err)
	}
	lfw, err := eval.LoadDataset(testenv.TestData(t, "lfw-dev"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, views, want string }{
		{own, "nine", "exclusive"},
		{"", "all", `--views: views "all"`},
		{filepath.Join(t.TempDir(), "none.txt"), "", "--gallery: open"},
	} {
		if _, _, err := chooseGallery(ds, c.file, c.views); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q/%q: %v, want %q", c.file, c.views, err, c.want)
		}
	}
	if _, _, err := chooseGallery(lfw, "", "booking"); err == nil || !strings.Contains(err.Error(), "not a rig-mugshot") {
		t.Errorf("views on lfw-dev: %v", err)
	}
}

func TestEvalGalleryArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "identify", "--dataset", testenv.TestData(t, "lfw-dev"), "--views", "booking"}, "not a rig-mugshot"},
		{[]string{"eval", "identify", "--dataset", testenv.TestData(t, "frmdb-dev"), "--agg", "median"}, "--agg"},
		{[]string{"eval", "table", "--dataset", "x", "--engines", "fused:agg=top:0"}, "top:K"},
	} {
		_, stderr, err := edgectl(t, t.TempDir(), c.args...)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: err %v, stderr %q, want %q", c.args, err, stderr, c.want)
		}
	}
}
