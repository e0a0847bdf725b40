package eval

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// File and directory names inside a dataset directory.
const (
	PairsFile         = "pairs.txt"
	ImagesDir         = "images"
	IdentificationDir = "identification"
	GalleryFile       = "gallery.txt"
	GenuineFile       = "probes_genuine.txt"
	GenuineMax5File   = "probes_genuine_max5.txt"
	ImpostorFile      = "probes_impostor.txt"
)

// Subset labels that CFPSubset assigns.
const (
	SubsetFrontalFrontal = "FF"
	SubsetFrontalProfile = "FP"
)

// Pair is one verification pair. A and B are slash-separated paths relative
// to the dataset's images/ directory.
type Pair struct {
	A, B string
	// Same is true for a matched (same person) pair.
	Same bool
	// Fold is the 0-based cross-validation fold.
	Fold int
	// Subset names a slice of the protocol that is also reported on its
	// own (for CFP: "FF" or "FP"); empty when the dataset has none.
	Subset string
}

// Labeled is one line of an identification list: an identity and a
// slash-separated image path relative to images/.
type Labeled struct {
	ID   string
	Path string
}

// Dataset is a loaded evaluation directory.
type Dataset struct {
	// Dir is the directory that was loaded.
	Dir   string
	Pairs []Pair
	Folds int
	// Gallery, Genuine and Impostor are empty when the dataset has no
	// identification/ directory, i.e. it only supports verification.
	Gallery  []Labeled
	Genuine  []Labeled
	Impostor []Labeled
}

// SubsetFunc labels a pair from its two identities and 1-based image
// numbers. It returns "" when the pair belongs to no subset.
type SubsetFunc func(nameA string, a int, nameB string, b int) string

// CFPSubset implements the CFP convention, where images 1-10 of a person are
// frontal and 11-14 are profile: a pair with a profile image on either side
// is frontal-profile ("FP"), otherwise frontal-frontal ("FF"). Checking both
// sides rather than only the second keeps a reordered pair in the right
// subset.
func CFPSubset(_ string, a int, _ string, b int) string {
	if a >= 11 || b >= 11 {
		return SubsetFrontalProfile
	}
	return SubsetFrontalFrontal
}

// SubsetFor returns the subset labelling for a dataset directory: CFPSubset
// when the directory's base name starts with "cfp" (any case), nil
// otherwise. The image-number convention is specific to CFP, so applying it
// to an LFW-style set, whose people can have dozens of images, would invent
// meaningless subsets.
func SubsetFor(dir string) SubsetFunc {
	base := strings.ToLower(filepath.Base(filepath.Clean(dir)))
	if strings.HasPrefix(base, "cfp") {
		return CFPSubset
	}
	return nil
}

// ImagePath returns the path, relative to images/, of image number n
// (1-based) of identity name, following the LFW naming scheme.
func ImagePath(name string, n int) string {
	return fmt.Sprintf("%s/%s_%04d.jpg", name, name, n)
}

// maxImageNumber bounds image numbers so that parsing can never overflow and
// absurd values are rejected as corrupt input.
const maxImageNumber = 999999

// maxPairs bounds the pair count declared by a header; the official LFW file
// has 6,000 pairs, so this leaves ample room while keeping a corrupt header
// from implying an impossible amount of work.
const maxPairs = 1 << 24

// ParsePairs reads an LFW-format pairs file. Line 1 is "<folds>\t<n>"; each
// fold then has n matched lines "Name\ti\tj" followed by n mismatched lines
// "NameA\ti\tNameB\tj". Fields may be separated by tabs or spaces. Blank
// lines are ignored. file is used only in error messages. subset may be nil.
// It returns the pairs in file order and the number of folds.
func ParsePairs(r io.Reader, file string, subset SubsetFunc) ([]Pair, int, error) {
	pairs, _, folds, err := parsePairs(r, file, subset)
	return pairs, folds, err
}

// parsePairs is ParsePairs that also returns each pair's line number, so a
// later check can point at the line that names a missing image.
func parsePairs(r io.Reader, file string, subset SubsetFunc) ([]Pair, []int, int, error) {
	sc := bufio.NewScanner(r)
	lineNo := 0
	next := func() (string, bool) {
		for sc.Scan() {
			lineNo++
			if line := strings.TrimSpace(sc.Text()); line != "" {
				return line, true
			}
		}
		return "", false
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, lineNo, fmt.Sprintf(format, args...))
	}

	header, ok := next()
	if !ok {
		if err := sc.Err(); err != nil {
			return nil, nil, 0, fmt.Errorf("%s: %w", file, err)
		}
		return nil, nil, 0, fmt.Errorf("%s: empty file, expected a header line \"<folds>\\t<pairs per half fold>\"", file)
	}
	hf := strings.Fields(header)
	if len(hf) != 2 {
		return nil, nil, 0, fail("header %q: expected 2 fields \"<folds>\\t<pairs per half fold>\", got %d", header, len(hf))
	}
	folds, err := parseCount(hf[0])
	if err != nil {
		return nil, nil, 0, fail("header: folds: %v", err)
	}
	n, err := parseCount(hf[1])
	if err != nil {
		return nil, nil, 0, fail("header: pairs per half fold: %v", err)
	}
	if folds > maxPairs/2/n {
		return nil, nil, 0, fail("header: %d folds x 2 x %d pairs exceeds the limit of %d pairs", folds, n, maxPairs)
	}
	total := folds * 2 * n

	// The header alone must not decide the allocation size: a short file
	// with a large header is an error, found only at the end.
	pairs := make([]Pair, 0, min(total, 1<<12))
	lines := make([]int, 0, cap(pairs))
	for k := 0; k < total; k++ {
		line, ok := next()
		fold, within := k/(2*n), k%(2*n)
		same := within < n
		if !ok {
			if err := sc.Err(); err != nil {
				return nil, nil, 0, fmt.Errorf("%s:%d: %w", file, lineNo+1, err)
			}
			return nil, nil, 0, fmt.Errorf("%s: file ends after %d pairs, header declares %d (%d folds x 2 x %d)",
				file, k, total, folds, n)
		}
		f := strings.Fields(line)
		var p Pair
		var nameA, nameB string
		var a, b int
		if same {
			if len(f) != 3 {
				return nil, nil, 0, fail("fold %d of %d, matched pair %d: expected 3 fields \"Name\\ti\\tj\", got %d", fold+1, folds, within+1, len(f))
			}
			nameA, nameB = f[0], f[0]
			if a, err = parseImageNumber(f[1]); err == nil {
				b, err = parseImageNumber(f[2])
			}
			if err == nil && a == b {
				err = fmt.Errorf("matched pair compares image %d with itself", a)
			}
		} else {
			if len(f) != 4 {
				return nil, nil, 0, fail("fold %d of %d, mismatched pair %d: expected 4 fields \"NameA\\ti\\tNameB\\tj\", got %d", fold+1, folds, within-n+1, len(f))
			}
			nameA, nameB = f[0], f[2]
			if a, err = parseImageNumber(f[1]); err == nil {
				b, err = parseImageNumber(f[3])
			}
			if err == nil && nameA == nameB {
				err = fmt.Errorf("mismatched pair names the same identity %q twice", nameA)
			}
		}
		if err == nil {
			err = checkName(nameA)
		}
		if err == nil && nameB != nameA {
			err = checkName(nameB)
		}
		if err != nil {
			return nil, nil, 0, fail("%v", err)
		}
		p.A, p.B = ImagePath(nameA, a), ImagePath(nameB, b)
		p.Same, p.Fold = same, fold
		if subset != nil {
			p.Subset = subset(nameA, a, nameB, b)
		}
		pairs = append(pairs, p)
		lines = append(lines, lineNo)
	}
	if line, ok := next(); ok {
		return nil, nil, 0, fail("unexpected line %q after the %d pairs the header declares", truncate(line), total)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("%s:%d: %w", file, lineNo+1, err)
	}
	return pairs, lines, folds, nil
}

// ParseList reads an identification list: one "<identity>\t<path>" per line,
// the path slash-separated and relative to images/. Surrounding spaces of
// each field and blank lines are ignored; a line naming the same image twice
// is an error because it would count one probe twice. file is used only in
// error messages.
func ParseList(r io.Reader, file string) ([]Labeled, error) {
	list, _, err := parseList(r, file)
	return list, err
}

// parseList is ParseList that also returns each entry's line number.
func parseList(r io.Reader, file string) ([]Labeled, []int, error) {
	sc := bufio.NewScanner(r)
	var list []Labeled
	var lines []int
	seen := map[string]int{}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		raw := sc.Text()
		if strings.TrimSpace(raw) == "" {
			continue
		}
		f := strings.Split(raw, "\t")
		if len(f) != 2 {
			return nil, nil, fmt.Errorf("%s:%d: expected 2 tab-separated fields \"<identity>\\t<path>\", got %d in %q",
				file, lineNo, len(f), truncate(raw))
		}
		id, p := strings.TrimSpace(f[0]), strings.TrimSpace(f[1])
		if id == "" {
			return nil, nil, fmt.Errorf("%s:%d: empty identity", file, lineNo)
		}
		if err := checkRelPath(p); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %v", file, lineNo, err)
		}
		if prev, dup := seen[p]; dup {
			return nil, nil, fmt.Errorf("%s:%d: image %s is already listed on line %d", file, lineNo, p, prev)
		}
		seen[p] = lineNo
		list = append(list, Labeled{ID: id, Path: p})
		lines = append(lines, lineNo)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s:%d: %w", file, lineNo+1, err)
	}
	return list, lines, nil
}

// LoadDataset reads dir/pairs.txt and, when dir/identification exists, its
// gallery, genuine-probe and impostor-probe lists, and checks that every
// image they reference exists under dir/images. Pairs get subsets as chosen
// by SubsetFor(dir). It also checks the identification lists against each
// other: genuine probes must be enrolled, impostors must not be, and no
// probe may be a gallery image.
func LoadDataset(dir string) (*Dataset, error) {
	d := &Dataset{Dir: dir}
	var checks []imageRef

	pf := filepath.Join(dir, PairsFile)
	f, err := os.Open(pf)
	if err != nil {
		return nil, fmt.Errorf("load dataset %s: %w", dir, err)
	}
	pairs, lines, folds, err := parsePairs(f, pf, SubsetFor(dir))
	f.Close()
	if err != nil {
		return nil, err
	}
	d.Pairs, d.Folds = pairs, folds
	for i, p := range pairs {
		checks = append(checks, imageRef{p.A, pf, lines[i]}, imageRef{p.B, pf, lines[i]})
	}

	idDir := filepath.Join(dir, IdentificationDir)
	if st, err := os.Stat(idDir); errors.Is(err, fs.ErrNotExist) {
		return d, checkImages(dir, checks)
	} else if err != nil {
		return nil, fmt.Errorf("load dataset %s: %w", dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("load dataset %s: %s is not a directory", dir, idDir)
	}

	for _, l := range []struct {
		name string
		dst  *[]Labeled
	}{{GalleryFile, &d.Gallery}, {GenuineFile, &d.Genuine}, {ImpostorFile, &d.Impostor}} {
		list, refs, err := readList(filepath.Join(idDir, l.name))
		if err != nil {
			return nil, err
		}
		*l.dst = list
		checks = append(checks, refs...)
	}
	if len(d.Gallery) == 0 {
		return nil, fmt.Errorf("load dataset %s: %s is empty", dir, filepath.Join(idDir, GalleryFile))
	}
	if err := d.checkProbes(d.Genuine, filepath.Join(idDir, GenuineFile), true); err != nil {
		return nil, err
	}
	if err := d.checkProbes(d.Impostor, filepath.Join(idDir, ImpostorFile), false); err != nil {
		return nil, err
	}
	if err := checkImages(dir, checks); err != nil {
		return nil, err
	}
	return d, nil
}

// LoadGenuine reads another genuine-probe list from the identification
// directory, such as GenuineMax5File, with the same checks LoadDataset
// applies to probes_genuine.txt. name must be a plain file name. The
// dataset itself is left unchanged; assign the result to d.Genuine to
// evaluate with it.
func (d *Dataset) LoadGenuine(name string) ([]Labeled, error) {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return nil, fmt.Errorf("genuine list %q: expected a file name inside %s", name, IdentificationDir)
	}
	if len(d.Gallery) == 0 {
		return nil, fmt.Errorf("genuine list %s: dataset %s has no gallery", name, d.Dir)
	}
	file := filepath.Join(d.Dir, IdentificationDir, name)
	list, refs, err := readList(file)
	if err != nil {
		return nil, err
	}
	if err := d.checkProbes(list, file, true); err != nil {
		return nil, err
	}
	if err := checkImages(d.Dir, refs); err != nil {
		return nil, err
	}
	return list, nil
}

// Images returns every image the dataset's protocols use, each once, in
// order of first use: pair images, then gallery, genuine and impostor
// probes. Paths are relative to images/ (see ImageFile).
func (d *Dataset) Images() []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range d.Pairs {
		add(p.A)
		add(p.B)
	}
	for _, list := range [][]Labeled{d.Gallery, d.Genuine, d.Impostor} {
		for _, l := range list {
			add(l.Path)
		}
	}
	return out
}

// ImageFile turns a path relative to images/ into a file path.
func (d *Dataset) ImageFile(rel string) string {
	return filepath.Join(d.Dir, ImagesDir, filepath.FromSlash(rel))
}

// Subsets returns the distinct non-empty subset labels of the pairs, in
// order of first appearance.
func (d *Dataset) Subsets() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range d.Pairs {
		if p.Subset != "" && !seen[p.Subset] {
			seen[p.Subset] = true
			out = append(out, p.Subset)
		}
	}
	return out
}

// imageRef records where an image was referenced, for error messages.
type imageRef struct {
	path string
	file string
	line int
}

func readList(file string) ([]Labeled, []imageRef, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	list, lines, err := parseList(f, file)
	if err != nil {
		return nil, nil, err
	}
	refs := make([]imageRef, len(list))
	for i, l := range list {
		refs[i] = imageRef{l.Path, file, lines[i]}
	}
	return list, refs, nil
}

// checkProbes verifies a probe list against the gallery. A genuine probe of
// an identity that is not enrolled could never be identified, and an
// enrolled "impostor" would be a correct match counted as a false positive,
// so either means the lists are inconsistent.
func (d *Dataset) checkProbes(list []Labeled, file string, genuine bool) error {
	enrolled := map[string]bool{}
	galleryImage := map[string]bool{}
	for _, g := range d.Gallery {
		enrolled[g.ID] = true
		galleryImage[g.Path] = true
	}
	for i, l := range list {
		switch {
		case galleryImage[l.Path]:
			return fmt.Errorf("%s: entry %d: probe image %s is also a gallery image", file, i+1, l.Path)
		case genuine && !enrolled[l.ID]:
			return fmt.Errorf("%s: entry %d: genuine probe identity %q is not in the gallery", file, i+1, l.ID)
		case !genuine && enrolled[l.ID]:
			return fmt.Errorf("%s: entry %d: impostor identity %q is enrolled in the gallery", file, i+1, l.ID)
		}
	}
	return nil
}

// checkImages reports the first referenced image that is missing or is not
// a regular file, naming where it was referenced.
func checkImages(dir string, refs []imageRef) error {
	checked := map[string]bool{}
	for _, r := range refs {
		if checked[r.path] {
			continue
		}
		checked[r.path] = true
		file := filepath.Join(dir, ImagesDir, filepath.FromSlash(r.path))
		st, err := os.Stat(file)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s:%d: image %s does not exist", r.file, r.line, file)
			}
			return fmt.Errorf("%s:%d: image %s: %w", r.file, r.line, file, err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s:%d: image %s is not a regular file", r.file, r.line, file)
		}
	}
	return nil
}

// parseCount parses a header count: a positive decimal integer.
func parseCount(s string) (int, error) {
	v, err := parseDigits(s, maxPairs)
	if err != nil {
		return 0, err
	}
	if v < 1 {
		return 0, fmt.Errorf("%q must be at least 1", s)
	}
	return v, nil
}

// parseImageNumber parses a 1-based image number.
func parseImageNumber(s string) (int, error) {
	v, err := parseDigits(s, maxImageNumber)
	if err != nil {
		return 0, fmt.Errorf("image number: %v", err)
	}
	if v < 1 {
		return 0, fmt.Errorf("image number %q: numbers are 1-based", s)
	}
	return v, nil
}

// parseDigits accepts only plain decimal digits, so signs, spaces and
// exponents that strconv would tolerate or misread are reported.
func parseDigits(s string, limit int) (int, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", truncate(s))
		}
	}
	if len(s) > len(strconv.Itoa(math.MaxInt32)) {
		return 0, fmt.Errorf("%q is larger than %d", truncate(s), limit)
	}
	v, err := strconv.Atoi(s)
	if err != nil || v > limit {
		return 0, fmt.Errorf("%q is larger than %d", truncate(s), limit)
	}
	return v, nil
}

// checkName accepts identities that can be used as a single directory name.
func checkName(name string) error {
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) || !fs.ValidPath(name) {
		return fmt.Errorf("identity %q cannot be used as a directory name", truncate(name))
	}
	return nil
}

// checkRelPath accepts clean, slash-separated paths that stay inside
// images/; anything else could read files outside the dataset.
func checkRelPath(p string) error {
	if p == "" {
		return errors.New("empty image path")
	}
	if p == "." || !fs.ValidPath(p) || strings.Contains(p, `\`) || path.Clean(p) != p {
		return fmt.Errorf("image path %q must be a clean relative path inside %s/", truncate(p), ImagesDir)
	}
	return nil
}

// truncate keeps error messages short when the input is garbage.
func truncate(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
