package enroll

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dozor-edge/dozor/edge/store"
)

// ImageExts are the file name extensions a folder import takes as photos
// (compared without regard to case).
var ImageExts = []string{".jpg", ".jpeg", ".png", ".bmp", ".webp"}

func isImageName(name string) bool {
	return slices.Contains(ImageExts, strings.ToLower(filepath.Ext(name)))
}

// LineError is one problem in an import source, at a line of a CSV file
// or, for a folder, at a path (Line 0).
type LineError struct {
	Line   int
	Path   string
	Column string
	Msg    string
}

func (e *LineError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, "%s: ", e.Path)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, "%s: ", e.Column)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// SourceError lists every problem found in an import source. A source
// with any problem is refused whole, before anything is enrolled: a
// half-done import of a file that then gets fixed is harder to reason
// about than a fixed file imported once.
type SourceError struct {
	Source string
	Errs   []*LineError
}

// maxListed bounds the problems an error message shows; Errs has them all.
const maxListed = 20

func (e *SourceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s)", e.Source, len(e.Errs))
	for i, le := range e.Errs {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Errs)-maxListed)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(le.Error())
	}
	return b.String()
}

// PlanDir lists the photos of a folder import. Each sub-folder holds the
// photos of the person whose id is its name; photos directly in root are
// named <person id>.jpg or <person id>_<N>.jpg, where N is 1 to 3 digits
// (so an id that itself ends in "_" and 1 to 3 digits must use a
// sub-folder). Hidden files and folders are ignored; other files that are
// not photos by their extension are returned as skipped. Items come
// sorted by person, then path.
func PlanDir(root string) (items []Item, skipped []string, err error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, err
	}
	var errs []*LineError
	add := func(id, path string) {
		if err := checkID(id); err != nil {
			errs = append(errs, &LineError{Path: path, Msg: "person id " + err.Error()})
			return
		}
		items = append(items, Item{Profile: Profile{ID: id}, Path: path})
	}
	for _, ent := range entries {
		name := ent.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(root, name)
		fi, err := os.Stat(path) // follows links, as a person would expect
		if err != nil {
			errs = append(errs, &LineError{Path: path, Msg: err.Error()})
			continue
		}
		switch {
		case fi.IsDir():
			sub, err := os.ReadDir(path)
			if err != nil {
				errs = append(errs, &LineError{Path: path, Msg: err.Error()})
				continue
			}
			for _, s := range sub {
				sp := filepath.Join(path, s.Name())
				switch {
				case strings.HasPrefix(s.Name(), "."):
				case isImageName(s.Name()) && !s.IsDir():
					add(name, sp)
				default:
					skipped = append(skipped, sp)
				}
			}
		case isImageName(name):
			add(personFromFile(name), path)
		default:
			skipped = append(skipped, path)
		}
	}
	if len(errs) > 0 {
		return nil, skipped, &SourceError{Source: root, Errs: errs}
	}
	if len(items) == 0 {
		return nil, skipped, fmt.Errorf("%s: no photos found (%s, in sub-folders named by person id or named <person id>[_N])",
			root, strings.Join(ImageExts, " "))
	}
	slices.SortStableFunc(items, func(a, b Item) int {
		if c := strings.Compare(a.Profile.ID, b.Profile.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	return items, skipped, nil
}

// personFromFile takes the person id from a photo's file name, dropping
// the extension and a "_N" photo number.
func personFromFile(name string) string {
	stem := strings.TrimSuffix(name, filepath.Ext(name))
	i := strings.LastIndexByte(stem, '_')
	if i <= 0 {
		return stem
	}
	n := stem[i+1:]
	if len(n) < 1 || len(n) > 3 || strings.Trim(n, "0123456789") != "" {
		return stem
	}
	return stem[:i]
}

// CSV columns. person_id, display_name and photo are required; the
// others are optional and hold lists separated by ';'.
const (
	ColPersonID    = "person_id"
	ColDisplayName = "display_name"
	ColPhoto       = "photo"
	ColCategories  = "categories"
	ColWatchLists  = "watch_lists"
)

var (
	requiredCols = []string{ColPersonID, ColDisplayName, ColPhoto}
	knownCols    = []string{ColPersonID, ColDisplayName, ColPhoto, ColCategories, ColWatchLists}
)

// Limits on a CSV import. A region has up to 100,000 profiles; the
// limits are well above a real import and only bound what a wrong or
// hostile file can make the parser hold.
const (
	MaxCSVBytes   = 64 << 20
	MaxCSVRecords = 500_000
	maxPathBytes  = 4096
)

// ParseCSV reads an import file: a header line naming the columns (any
// order, any case), then one photo per line. Several lines may give
// photos of one person; they must then agree on the name, categories and
// watch lists. Relative photo paths are taken from baseDir (the CSV
// file's folder). Every problem is reported with its line number in a
// *SourceError, and a file with any problem yields no items.
func ParseCSV(r io.Reader, baseDir string) ([]Item, error) {
	const src = "CSV"
	lr := &limitedReader{r: r, left: MaxCSVBytes}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = -1 // counted here, for a clearer message
	cr.ReuseRecord = true
	var errs []*LineError
	fail := func(line int, col, format string, args ...any) {
		errs = append(errs, &LineError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
	}
	done := func() ([]Item, error) {
		if lr.over {
			fail(0, "", "the file is larger than %d bytes", MaxCSVBytes)
		}
		return nil, &SourceError{Source: src, Errs: errs}
	}

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		fail(1, "", "the file is empty; the first line must name the columns: %s", strings.Join(knownCols, ","))
		return done()
	}
	if err != nil {
		fail(csvLine(err, 1), "", "%v", csvMessage(err))
		return done()
	}
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // spreadsheet exports start with a byte order mark
		}
		switch {
		case !slices.Contains(knownCols, h):
			fail(1, "", "unknown column %q (the columns are %s)", h, strings.Join(knownCols, ", "))
		case cols[h] != 0:
			fail(1, "", "column %q is given twice", h)
		default:
			cols[h] = i + 1 // one-based so that zero means absent
		}
	}
	for _, c := range requiredCols {
		if cols[c] == 0 {
			fail(1, "", "the required column %q is missing", c)
		}
	}
	if len(errs) > 0 {
		return done()
	}
	get := func(rec []string, col string) (string, bool) {
		i := cols[col]
		if i == 0 {
			return "", false
		}
		return strings.TrimSpace(rec[i-1]), true
	}

	type seen struct {
		line int
		p    Profile
	}
	first := map[string]seen{}
	var items []Item
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := csvLine(err, 0)
		if err == nil {
			line, _ = cr.FieldPos(0)
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) || lr.over {
				// A syntax error leaves the reader at an unknown place
				// in the file; what follows cannot be trusted.
				if !lr.over {
					fail(line, "", "%v", csvMessage(err))
				}
				return done()
			}
			fail(line, "", "%v", err)
			return done()
		}
		if n >= MaxCSVRecords {
			fail(line, "", "more than %d lines; split the import", MaxCSVRecords)
			return done()
		}
		if len(rec) != len(header) {
			fail(line, "", "%d fields, but the header names %d columns", len(rec), len(header))
			continue
		}
		var p Profile
		bad := false
		check := func(col string, err error) {
			if err != nil {
				fail(line, col, "%v", err)
				bad = true
			}
		}
		p.ID, _ = get(rec, ColPersonID)
		check(ColPersonID, checkID(p.ID))
		p.DisplayName, _ = get(rec, ColDisplayName)
		check(ColDisplayName, checkName(p.DisplayName))
		photo, _ := get(rec, ColPhoto)
		check(ColPhoto, checkPath(photo))
		if v, ok := get(rec, ColCategories); ok {
			p.Categories = splitList(v)
			check(ColCategories, checkList(p.Categories))
		}
		if v, ok := get(rec, ColWatchLists); ok {
			p.WatchLists = splitList(v)
			check(ColWatchLists, checkList(p.WatchLists))
		}
		if bad {
			continue
		}
		if prev, ok := first[p.ID]; ok {
			switch {
			case p.DisplayName != prev.p.DisplayName:
				fail(line, ColDisplayName, "%q differs from %q given for %s on line %d", p.DisplayName, prev.p.DisplayName, p.ID, prev.line)
				continue
			case !sameSet(p.Categories, prev.p.Categories):
				fail(line, ColCategories, "differ from those given for %s on line %d", p.ID, prev.line)
				continue
			case !sameSet(p.WatchLists, prev.p.WatchLists):
				fail(line, ColWatchLists, "differ from those given for %s on line %d", p.ID, prev.line)
				continue
			}
		} else {
			first[p.ID] = seen{line, p}
		}
		if !filepath.IsAbs(photo) {
			photo = filepath.Join(baseDir, photo)
		}
		items = append(items, Item{Profile: p, Path: photo, Line: line})
	}
	if len(errs) > 0 {
		return done()
	}
	if len(items) == 0 {
		fail(2, "", "no photos: the file has a header and nothing else")
		return done()
	}
	return items, nil
}

// csvLine is the line a csv error points at, or def.
func csvLine(err error, def int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if pe.StartLine > 0 {
			return pe.StartLine
		}
		return pe.Line
	}
	return def
}

// csvMessage is a parse error without the position, which LineError
// already shows.
func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func checkName(v string) error {
	switch {
	case v == "":
		return errors.New("is empty")
	case len(v) > store.MaxNameBytes:
		return fmt.Errorf("is %d bytes long, at most %d are allowed", len(v), store.MaxNameBytes)
	case !utf8.ValidString(v):
		return errors.New("is not valid UTF-8")
	case strings.ContainsFunc(v, isControl):
		return errors.New("contains a control character")
	}
	return nil
}

func checkPath(v string) error {
	switch {
	case v == "":
		return errors.New("is empty")
	case len(v) > maxPathBytes:
		return fmt.Errorf("is %d bytes long, at most %d are allowed", len(v), maxPathBytes)
	case strings.ContainsFunc(v, isControl):
		return errors.New("contains a control character")
	case !isImageName(v):
		return fmt.Errorf("%q does not end in %s", v, strings.Join(ImageExts, ", "))
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }

// splitList splits a list cell on ';'. An empty cell is an empty,
// non-nil list: the column is there, so the profile's list is set to it.
func splitList(v string) []string {
	out := []string{}
	for _, s := range strings.Split(v, ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func checkList(v []string) error {
	if len(v) > 64 {
		return fmt.Errorf("has %d entries, at most 64 are allowed", len(v))
	}
	for _, s := range v {
		if err := checkID(s); err != nil {
			return fmt.Errorf("entry %v; separate entries with ';'", err)
		}
	}
	return nil
}

// limitedReader fails a read past its limit instead of ending the file
// early, so a cut-off import is never taken for a complete one.
type limitedReader struct {
	r    io.Reader
	left int64
	over bool
}

var errTooLarge = errors.New("file too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a file of exactly the limit from a longer one.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.over = true
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// ReadCSVFile parses an import file from disk; relative photo paths are
// resolved from the file's folder.
func ReadCSVFile(path string) ([]Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	items, err := ParseCSV(f, filepath.Dir(path))
	var se *SourceError
	if errors.As(err, &se) {
		se.Source = path
	}
	return items, err
}
