package eval

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
)

var pairsCases = []struct {
	name   string
	input  string
	subset SubsetFunc
	want   []Pair
	folds  int
	err    string // substring of the error; "" when the input is valid
}{
	{
		name:  "one fold",
		input: "1\t1\nAl_Gore\t1\t2\nAl_Gore\t1\tBo_Derek\t3\n",
		want: []Pair{
			{A: "Al_Gore/Al_Gore_0001.jpg", B: "Al_Gore/Al_Gore_0002.jpg", Same: true},
			{A: "Al_Gore/Al_Gore_0001.jpg", B: "Bo_Derek/Bo_Derek_0003.jpg"},
		},
		folds: 1,
	},
	{
		name:  "two folds, spaces, CRLF, blank lines, no final newline",
		input: "2 1\r\n\r\nA 1 2\r\nA 1 B 1\r\n  \nC\t10\t12\nC\t3\tD\t1234",
		want: []Pair{
			{A: "A/A_0001.jpg", B: "A/A_0002.jpg", Same: true, Fold: 0},
			{A: "A/A_0001.jpg", B: "B/B_0001.jpg", Fold: 0},
			{A: "C/C_0010.jpg", B: "C/C_0012.jpg", Same: true, Fold: 1},
			{A: "C/C_0003.jpg", B: "D/D_1234.jpg", Fold: 1},
		},
		folds: 2,
	},
	{
		name:   "cfp subsets",
		input:  "1\t2\nA\t1\t2\nA\t3\t11\nA\t4\tB\t5\nA\t12\tB\t6\n",
		subset: CFPSubset,
		want: []Pair{
			{A: "A/A_0001.jpg", B: "A/A_0002.jpg", Same: true, Subset: "FF"},
			{A: "A/A_0003.jpg", B: "A/A_0011.jpg", Same: true, Subset: "FP"},
			{A: "A/A_0004.jpg", B: "B/B_0005.jpg", Subset: "FF"},
			{A: "A/A_0012.jpg", B: "B/B_0006.jpg", Subset: "FP"},
		},
		folds: 1,
	},
	{name: "empty file", input: "", err: "pairs.txt: empty file"},
	{name: "only blank lines", input: "\n \n", err: "pairs.txt: empty file"},
	{name: "header with one field", input: "10\nA\t1\t2\n", err: "pairs.txt:1: header \"10\": expected 2 fields"},
	{name: "header not a number", input: "ten\t1\n", err: "pairs.txt:1: header: folds: \"ten\" is not a decimal number"},
	{name: "header zero folds", input: "0\t1\n", err: "pairs.txt:1: header: folds: \"0\" must be at least 1"},
	{name: "header zero pairs", input: "1\t0\n", err: "pairs.txt:1: header: pairs per half fold: \"0\" must be at least 1"},
	{name: "header too large", input: "9999999\t9999999\n", err: "pairs.txt:1: header: 9999999 folds x 2 x 9999999 pairs exceeds the limit"},
	{name: "header overflow", input: "99999999999999999999\t1\n", err: "is larger than"},
	{name: "file too short", input: "1\t2\nA\t1\t2\nB\t1\t2\nA\t1\tB\t1\n", err: "pairs.txt: file ends after 3 pairs, header declares 4 (1 folds x 2 x 2)"},
	{name: "extra line", input: "1\t1\nA\t1\t2\nA\t1\tB\t1\n\nC\t1\t2\n", err: "pairs.txt:5: unexpected line \"C\\t1\\t2\" after the 2 pairs"},
	{name: "matched line with 4 fields", input: "1\t1\nA\t1\tB\t2\nA\t1\tB\t1\n", err: "pairs.txt:2: fold 1 of 1, matched pair 1: expected 3 fields"},
	{name: "mismatched line with 3 fields", input: "2\t1\nA\t1\t2\nA\t1\tB\t1\nC\t1\t2\nC\t1\t2\n", err: "pairs.txt:5: fold 2 of 2, mismatched pair 1: expected 4 fields"},
	{name: "image number zero", input: "1\t1\nA\t0\t2\nA\t1\tB\t1\n", err: "pairs.txt:2: image number \"0\": numbers are 1-based"},
	{name: "negative image number", input: "1\t1\nA\t1\t2\nA\t-1\tB\t1\n", err: "pairs.txt:3: image number: \"-1\" is not a decimal number"},
	{name: "signed image number", input: "1\t1\nA\t+1\t2\nA\t1\tB\t1\n", err: "pairs.txt:2: image number: \"+1\" is not a decimal number"},
	{name: "huge image number", input: "1\t1\nA\t1\t10000000\nA\t1\tB\t1\n", err: "pairs.txt:2: image number: \"10000000\" is larger than 999999"},
	{name: "matched pair of one image", input: "1\t1\nA\t2\t2\nA\t1\tB\t1\n", err: "pairs.txt:2: matched pair compares image 2 with itself"},
	{name: "mismatched pair of one identity", input: "1\t1\nA\t1\t2\nA\t1\tA\t3\n", err: "pairs.txt:3: mismatched pair names the same identity \"A\" twice"},
	{name: "identity with a slash", input: "1\t1\nA/B\t1\t2\nA\t1\tB\t1\n", err: "pairs.txt:2: identity \"A/B\" cannot be used as a directory name"},
	{name: "identity dot-dot", input: "1\t1\nA\t1\t2\nA\t1\t..\t1\n", err: "pairs.txt:3: identity \"..\" cannot be used"},
	{name: "identity with a backslash", input: "1\t1\nA\t1\t2\nA\t1\tx\\y\t1\n", err: "pairs.txt:3: identity"},
}

func TestParsePairs(t *testing.T) {
	for _, tc := range pairsCases {
		t.Run(tc.name, func(t *testing.T) {
			pairs, folds, err := ParsePairs(strings.NewReader(tc.input), "pairs.txt", tc.subset)
			if !testenv.ErrAsWanted(t, err, tc.err) {
				return
			}
			if folds != tc.folds {
				t.Errorf("folds = %d, want %d", folds, tc.folds)
			}
			if !reflect.DeepEqual(pairs, tc.want) {
				t.Errorf("pairs\n got %+v\nwant %+v", pairs, tc.want)
			}
		})
	}
}

func FuzzParsePairs(f *testing.F) {
	for _, tc := range pairsCases {
		f.Add([]byte(tc.input))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pairs, folds, err := ParsePairs(bytes.NewReader(data), "pairs.txt", CFPSubset)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "pairs.txt") {
				t.Fatalf("error does not name the file: %v", err)
			}
			if pairs != nil || folds != 0 {
				t.Fatalf("error %v returned with %d pairs, %d folds", err, len(pairs), folds)
			}
			return
		}
		if folds < 1 || len(pairs) == 0 || len(pairs)%(2*folds) != 0 {
			t.Fatalf("%d pairs in %d folds", len(pairs), folds)
		}
		n := len(pairs) / (2 * folds)
		for k, p := range pairs {
			if p.Fold != k/(2*n) || p.Same != (k%(2*n) < n) {
				t.Fatalf("pair %d: fold %d same %v, out of LFW order", k, p.Fold, p.Same)
			}
			for _, path := range []string{p.A, p.B} {
				if err := checkRelPath(path); err != nil {
					t.Fatalf("pair %d: %v", k, err)
				}
			}
			if p.A == p.B {
				t.Fatalf("pair %d compares %s with itself", k, p.A)
			}
			if p.Subset != "FF" && p.Subset != "FP" {
				t.Fatalf("pair %d: subset %q", k, p.Subset)
			}
		}
	})
}

var listCases = []struct {
	name  string
	input string
	want  []Labeled
	err   string
}{
	{
		name:  "two lines",
		input: "A\tA/A_0001.jpg\nB\tB/B_0001.jpg\n",
		want:  []Labeled{{"A", "A/A_0001.jpg"}, {"B", "B/B_0001.jpg"}},
	},
	{
		name:  "CRLF, blank lines and padding",
		input: "A \t A/x.jpg\r\n\r\n\nB\tsub/dir/y.jpg",
		want:  []Labeled{{"A", "A/x.jpg"}, {"B", "sub/dir/y.jpg"}},
	},
	{name: "empty", input: "", want: nil},
	{name: "one field", input: "A\tA/x.jpg\nB B/y.jpg\n", err: "list.txt:2: expected 2 tab-separated fields"},
	{name: "three fields", input: "A\tA/x.jpg\textra\n", err: "list.txt:1: expected 2 tab-separated fields"},
	{name: "empty identity", input: "\tA/x.jpg\n", err: "list.txt:1: empty identity"},
	{name: "empty path", input: "A\t\n", err: "list.txt:1: empty image path"},
	{name: "absolute path", input: "A\t/etc/passwd\n", err: "list.txt:1: image path \"/etc/passwd\" must be a clean relative path"},
	{name: "parent directory", input: "A\t../secret.jpg\n", err: "list.txt:1: image path"},
	{name: "unclean path", input: "A\tA/../B/x.jpg\n", err: "list.txt:1: image path"},
	{name: "double slash", input: "A\tA//x.jpg\n", err: "list.txt:1: image path"},
	{name: "backslash", input: "A\tA\\x.jpg\n", err: "list.txt:1: image path"},
	{name: "dot", input: "A\t.\n", err: "list.txt:1: image path"},
	{name: "duplicate image", input: "A\tA/x.jpg\n\nB\tA/x.jpg\n", err: "list.txt:3: image A/x.jpg is already listed on line 1"},
}

func TestParseList(t *testing.T) {
	for _, tc := range listCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseList(strings.NewReader(tc.input), "list.txt")
			if !testenv.ErrAsWanted(t, err, tc.err) {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseList(f *testing.F) {
	for _, tc := range listCases {
		f.Add([]byte(tc.input))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := ParseList(bytes.NewReader(data), "list.txt")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "list.txt") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for k, l := range list {
			if l.ID == "" || strings.TrimSpace(l.ID) != l.ID {
				t.Fatalf("entry %d: identity %q", k, l.ID)
			}
			if err := checkRelPath(l.Path); err != nil {
				t.Fatalf("entry %d: %v", k, err)
			}
			if seen[l.Path] {
				t.Fatalf("entry %d: %s twice", k, l.Path)
			}
			seen[l.Path] = true
		}
	})
}

func TestSubsetFor(t *testing.T) {
	tests := []struct {
		dir string
		cfp bool
	}{
		{"/data/cfp-dev", true},
		{"/data/CFP", true},
		{"cfp-dev/", true},
		{"/data/lfw-dev", false},
		{"/data/cfp-dev/../celeba-dev", false},
		{"/data/my-cfp", false},
	}
	for _, tc := range tests {
		if got := SubsetFor(tc.dir) != nil; got != tc.cfp {
			t.Errorf("SubsetFor(%q) set = %v, want %v", tc.dir, got, tc.cfp)
		}
	}
}

// fakeDataset writes a small dataset: files maps a path relative to root to
// its content; every images/ entry gets placeholder bytes.
func fakeDataset(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	testenv.WriteFiles(t, root, files)
	return root
}

// loadFake writes the data set files describes and loads it.
func loadFake(t *testing.T, name string, files map[string]string) *Dataset {
	t.Helper()
	d, err := LoadDataset(fakeDataset(t, name, files))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func baseFiles() map[string]string {
	return map[string]string{
		"images/A/A_0001.jpg":                    "x",
		"images/A/A_0002.jpg":                    "x",
		"images/A/A_0011.jpg":                    "x",
		"images/B/B_0001.jpg":                    "x",
		"images/C/C_0001.jpg":                    "x",
		"pairs.txt":                              "1\t2\nA\t1\t2\nA\t1\t11\nA\t1\tB\t1\nA\t2\tC\t1\n",
		"identification/gallery.txt":             "A\tA/A_0001.jpg\nB\tB/B_0001.jpg\n",
		"identification/probes_genuine.txt":      "A\tA/A_0002.jpg\nA\tA/A_0011.jpg\n",
		"identification/probes_genuine_max5.txt": "A\tA/A_0002.jpg\n",
		"identification/probes_impostor.txt":     "C\tC/C_0001.jpg\n",
	}
}

func TestLoadDatasetSynthetic(t *testing.T) {
	d := loadFake(t, "tiny", baseFiles())
	if d.Folds != 1 || len(d.Pairs) != 4 || len(d.Gallery) != 2 || len(d.Genuine) != 2 || len(d.Impostor) != 1 {
		t.Fatalf("folds %d pairs %d gallery %d genuine %d impostor %d",
			d.Folds, len(d.Pairs), len(d.Gallery), len(d.Genuine), len(d.Impostor))
	}
	if subs := d.Subsets(); len(subs) != 0 {
		t.Errorf("a non-CFP dataset got subsets %v", subs)
	}
	wantImages := []string{"A/A_0001.jpg", "A/A_0002.jpg", "A/A_0011.jpg", "B/B_0001.jpg", "C/C_0001.jpg"}
	if got := d.Images(); !reflect.DeepEqual(got, wantImages) {
		t.Errorf("Images() = %v, want %v", got, wantImages)
	}
	if got, want := d.ImageFile("A/A_0001.jpg"), filepath.Join(d.Dir, "images", "A", "A_0001.jpg"); got != want {
		t.Errorf("ImageFile = %s, want %s", got, want)
	}
	max5, err := d.LoadGenuine(GenuineMax5File)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(max5, []Labeled{{"A", "A/A_0002.jpg"}}) {
		t.Errorf("max5 = %v", max5)
	}
	if len(d.Genuine) != 2 {
		t.Errorf("LoadGenuine changed the dataset")
	}

	cfp := loadFake(t, "cfp-tiny", baseFiles())
	var subs []string
	for _, p := range cfp.Pairs {
		subs = append(subs, p.Subset)
	}
	if want := []string{"FF", "FP", "FF", "FF"}; !slices.Equal(subs, want) {
		t.Errorf("cfp subsets %v, want %v", subs, want)
	}
}

func TestLoadDatasetVerifyOnly(t *testing.T) {
	files := baseFiles()
	for k := range files {
		if strings.HasPrefix(k, "identification/") {
			delete(files, k)
		}
	}
	d := loadFake(t, "tiny", files)
	if d.Gallery != nil || d.Genuine != nil || d.Impostor != nil {
		t.Errorf("identification lists loaded from nowhere: %+v", d)
	}
	if len(d.Images()) != 5 {
		t.Errorf("Images() = %v", d.Images())
	}
	if _, err := d.LoadGenuine(GenuineMax5File); err == nil || !strings.Contains(err.Error(), "has no gallery") {
		t.Errorf("LoadGenuine without a gallery: %v", err)
	}
}

func TestLoadDatasetErrors(t *testing.T) {
	tests := []struct {
		name   string
		change map[string]string // "" deletes the file
		err    string
	}{
		{"no pairs file", map[string]string{"pairs.txt": ""}, "pairs.txt: no such file"},
		{"missing pair image", map[string]string{"images/A/A_0011.jpg": ""}, "pairs.txt:3: image …" + filepath.Join("tiny", "images", "A", "A_0011.jpg") + " does not exist"},
		{"bad pairs file", map[string]string{"pairs.txt": "1\t1\nA\t1\t2\n"}, "pairs.txt: file ends after 1 pairs"},
		{"missing gallery image", map[string]string{"identification/gallery.txt": "A\tA/A_0001.jpg\nB\tB/B_0009.jpg\n"}, "gallery.txt:2: image …" + filepath.Join("tiny", "images", "B", "B_0009.jpg") + " does not exist"},
		{"missing impostor list", map[string]string{"identification/probes_impostor.txt": ""}, "probes_impostor.txt: no such file"},
		{"empty gallery", map[string]string{"identification/gallery.txt": "\n"}, "gallery.txt is empty"},
		{"genuine not enrolled", map[string]string{"identification/probes_genuine.txt": "C\tC/C_0001.jpg\n"}, "probes_genuine.txt: entry 1: genuine probe identity \"C\" is not in the gallery"},
		{"impostor enrolled", map[string]string{"identification/probes_impostor.txt": "C\tC/C_0001.jpg\nB\tA/A_0002.jpg\n"}, "probes_impostor.txt: entry 2: impostor identity \"B\" is enrolled"},
		{"probe is a gallery image", map[string]string{"identification/probes_genuine.txt": "A\tA/A_0001.jpg\n"}, "probe image A/A_0001.jpg is also a gallery image"},
		{"image is a directory", map[string]string{"images/A/A_0001.jpg": "", "images/A/A_0001.jpg/x": "x"}, "is not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := baseFiles()
			for k, v := range tc.change {
				if v == "" {
					delete(files, k)
				} else {
					files[k] = v
				}
			}
			_, err := LoadDataset(fakeDataset(t, "tiny", files))
			if !containsParts(err, tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}

	t.Run("identification is a file", func(t *testing.T) {
		files := baseFiles()
		for k := range files {
			if strings.HasPrefix(k, "identification/") {
				delete(files, k)
			}
		}
		files["identification"] = "not a directory"
		_, err := LoadDataset(fakeDataset(t, "tiny", files))
		if err == nil || !strings.Contains(err.Error(), "is not a directory") {
			t.Fatalf("error %v", err)
		}
	})

	t.Run("LoadGenuine", func(t *testing.T) {
		files := baseFiles()
		files["identification/bad.txt"] = "A\tA/A_0002.jpg\nA\tA/A_0003.jpg\n"
		d := loadFake(t, "tiny", files)
		for name, want := range map[string]string{
			"../pairs.txt":        "expected a file name",
			"":                    "expected a file name",
			"missing.txt":         "missing.txt: no such file",
			"bad.txt":             "bad.txt:2: image …" + filepath.Join("tiny", "images", "A", "A_0003.jpg") + " does not exist",
			GalleryFile:           "is also a gallery image",
			"probes_impostor.txt": "genuine probe identity \"C\" is not in the gallery",
		} {
			if _, err := d.LoadGenuine(name); !containsParts(err, want) {
				t.Errorf("LoadGenuine(%q): error %v, want one containing %q", name, err, want)
			}
		}
	})
}

// sharedDir finds the project's shared directory. The real-data tests are
// the only check that the loader agrees with the data the project is
// measured on, so a missing directory fails rather than skips.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, fromEnv := os.Getenv("DOZOR_SHARED"), true
	if dir == "" {
		dir, fromEnv = filepath.Join("..", "..", "..", "shared"), false
	}
	if st, err := os.Stat(filepath.Join(dir, "testdata")); err != nil || !st.IsDir() {
		if fromEnv {
			t.Fatalf("DOZOR_SHARED=%s has no testdata directory (%v)", dir, err)
		}
		abs, _ := filepath.Abs(dir)
		t.Fatalf("shared test data not found at %s (%v); set DOZOR_SHARED to the shared directory that holds testdata/", abs, err)
	}
	return dir
}

func TestLoadDatasetReal(t *testing.T) {
	shared := sharedDir(t)
	tests := []struct {
		name                                   string
		pairs, folds, gallery, genuine, impost int
		max5                                   int // -1: the list does not exist
		images                                 int
		subsets                                map[string]int
	}{
		{name: "lfw-dev", pairs: 228, folds: 2, gallery: 52, genuine: 81, impost: 200, max5: 78, images: 333},
		{name: "cfp-dev", pairs: 3480, folds: 10, gallery: 232, genuine: 3016, impost: 812, max5: 1160, images: 4060,
			subsets: map[string]int{"FF": 1740, "FP": 1740}},
		{name: "celeba-dev", pairs: 600, folds: 2, gallery: 80, genuine: 320, impost: 100, max5: -1, images: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := LoadDataset(filepath.Join(shared, "testdata", tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Pairs) != tc.pairs || d.Folds != tc.folds || len(d.Gallery) != tc.gallery ||
				len(d.Genuine) != tc.genuine || len(d.Impostor) != tc.impost {
				t.Fatalf("pairs %d folds %d gallery %d genuine %d impostor %d, want %d %d %d %d %d",
					len(d.Pairs), d.Folds, len(d.Gallery), len(d.Genuine), len(d.Impostor),
					tc.pairs, tc.folds, tc.gallery, tc.genuine, tc.impost)
			}
			// Every fold holds the same number of matched and mismatched
			// pairs.
			perFold := tc.pairs / tc.folds
			counts := map[[2]int]int{}
			for _, p := range d.Pairs {
				same := 0
				if p.Same {
					same = 1
				}
				counts[[2]int{p.Fold, same}]++
			}
			for f := range tc.folds {
				if counts[[2]int{f, 1}] != perFold/2 || counts[[2]int{f, 0}] != perFold/2 {
					t.Errorf("fold %d: %d matched, %d mismatched, want %d each", f, counts[[2]int{f, 1}], counts[[2]int{f, 0}], perFold/2)
				}
			}
			subs := map[string]int{}
			for _, p := range d.Pairs {
				if p.Subset != "" {
					subs[p.Subset]++
				}
			}
			if len(subs) == 0 {
				subs = nil
			}
			if !reflect.DeepEqual(subs, tc.subsets) {
				t.Errorf("subsets %v, want %v", subs, tc.subsets)
			}
			imgs := d.Images()
			if len(imgs) != tc.images {
				t.Errorf("%d distinct images, want %d", len(imgs), tc.images)
			}
			max5, err := d.LoadGenuine(GenuineMax5File)
			switch {
			case tc.max5 < 0 && err == nil:
				t.Errorf("LoadGenuine(%s) succeeded on a dataset without it", GenuineMax5File)
			case tc.max5 >= 0 && err != nil:
				t.Errorf("LoadGenuine(%s): %v", GenuineMax5File, err)
			case tc.max5 >= 0 && len(max5) != tc.max5:
				t.Errorf("%d max5 probes, want %d", len(max5), tc.max5)
			}
		})
	}
}

func TestVerifyOnRealLayout(t *testing.T) {
	// Synthetic scores on the real CFP pair layout: frontal-frontal pairs
	// are perfectly separated, frontal-profile ones are not separable at
	// all, so the subsets must come out at 100% and 50%.
	d, err := LoadDataset(filepath.Join(sharedDir(t), "testdata", "cfp-dev"))
	if err != nil {
		t.Fatal(err)
	}
	scores := make([]float64, len(d.Pairs))
	for k, p := range d.Pairs {
		switch {
		case p.Subset == "FF" && p.Same:
			scores[k] = 0.75
		case p.Subset == "FF":
			scores[k] = 0.25
		default:
			scores[k] = 0.5
		}
	}
	r, err := Verify(d.Pairs, scores, d.Folds)
	if err != nil {
		t.Fatal(err)
	}
	ff, fp := r.Subsets["FF"], r.Subsets["FP"]
	if ff.Pairs != 1740 || fp.Pairs != 1740 || ff.AccuracyMean != 1 || fp.AccuracyMean != 0.5 {
		t.Errorf("FF %d pairs acc %v, FP %d pairs acc %v", ff.Pairs, ff.AccuracyMean, fp.Pairs, fp.AccuracyMean)
	}
	if r.Folds != 10 || len(r.FoldAccuracy) != 10 {
		t.Errorf("folds %d, %d accuracies", r.Folds, len(r.FoldAccuracy))
	}
}
