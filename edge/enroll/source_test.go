package enroll

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// csvCases are the parser's table; they also seed FuzzParseCSV.
var csvCases = []struct {
	name string
	in   string
	// want, for a good file: "person|photo|line" per item.
	want []string
	// errs, for a bad file: the text each reported problem must contain,
	// in order.
	errs []string
}{
	{name: "minimal", in: "person_id,display_name,photo\nP-1,Ann Smith,a.jpg\n", want: []string{"P-1|/base/a.jpg|2"}},
	{name: "columns in any order and case, spaces trimmed, BOM",
		in:   "\ufeffPhoto , Person_ID,DISPLAY_NAME\n b.png ,P-2 , Bob \n",
		want: []string{"P-2|/base/b.png|2"}},
	{name: "lists and several photos of one person",
		in: "person_id,display_name,photo,categories,watch_lists\n" +
			"P-1,Ann,a1.jpg,high-risk; cat-a,list-1\n" +
			"P-1,Ann,/abs/a2.JPG,cat-a;high-risk,list-1\n" +
			"P-2,\"Smith, Bob\",b.webp,,\n",
		want: []string{"P-1|/base/a1.jpg|2", "P-1|/abs/a2.JPG|3", "P-2|/base/b.webp|4"}},
	{name: "quoted field across lines keeps later line numbers right",
		in:   "person_id,display_name,photo\nP-1,\"Ann\nSmith\",a.jpg\nP-2,Bob,b.jpg\n",
		errs: []string{"line 2: display_name: contains a control character"}},
	{name: "blank lines are skipped", in: "person_id,display_name,photo\n\nP-1,Ann,a.jpg\n\n", want: []string{"P-1|/base/a.jpg|3"}},
	{name: "empty file", in: "", errs: []string{"line 1: the file is empty"}},
	{name: "header only", in: "person_id,display_name,photo\n", errs: []string{"line 2: no photos"}},
	{name: "missing column", in: "person_id,photo\nP-1,a.jpg\n", errs: []string{`line 1: the required column "display_name" is missing`}},
	{name: "unknown and repeated columns", in: "person_id,display_name,photo,photo,notes\n",
		errs: []string{`line 1: column "photo" is given twice`, `line 1: unknown column "notes"`}},
	{name: "bad lines are all reported",
		in: "person_id,display_name,photo\n" +
			"P-1,Ann,a.jpg\n" +
			"P 2,Bob,b.jpg\n" +
			"P-3,,c.jpg\n" +
			"P-4,Dan,notes.txt\n" +
			"P-5,Eve\n",
		errs: []string{
			`line 3: person_id: "P 2" contains ' '`,
			"line 4: display_name: is empty",
			`line 5: photo: "notes.txt" does not end in .jpg`,
			"line 6: 2 fields, but the header names 3 columns",
		}},
	{name: "disagreeing lines of one person",
		in: "person_id,display_name,photo,categories\nP-1,Ann,a.jpg,x\nP-1,Anne,b.jpg,x\nP-1,Ann,c.jpg,y\n",
		errs: []string{`line 3: display_name: "Anne" differs from "Ann" given for P-1 on line 2`,
			"line 4: categories: differ from those given for P-1 on line 2"}},
	{name: "list entry with a space", in: "person_id,display_name,photo,watch_lists\nP-1,Ann,a.jpg,\"gang a, gang b\"\n",
		errs: []string{`line 2: watch_lists: entry "gang a, gang b" contains ' '`}},
	{name: "bare quote", in: "person_id,display_name,photo\nP-1,An\"n,a.jpg\n", errs: []string{"line 2: bare \" in non-quoted-field"}},
	{name: "id too long", in: "person_id,display_name,photo\n" + strings.Repeat("x", 129) + ",Ann,a.jpg\n",
		errs: []string{"line 2: person_id: is 129 bytes long"}},
}

func TestParseCSV(t *testing.T) {
	for _, c := range csvCases {
		t.Run(c.name, func(t *testing.T) {
			items, err := ParseCSV(strings.NewReader(c.in), "/base")
			if c.errs != nil {
				var se *SourceError
				if !errors.As(err, &se) {
					t.Fatalf("error %v, want a *SourceError", err)
				}
				if len(se.Errs) != len(c.errs) {
					t.Fatalf("%d problems, want %d:\n%v", len(se.Errs), len(c.errs), err)
				}
				for i, w := range c.errs {
					if !strings.Contains(se.Errs[i].Error(), w) {
						t.Errorf("problem %d: %q, want it to contain %q", i, se.Errs[i], w)
					}
				}
				if items != nil {
					t.Errorf("a bad file gave %d items", len(items))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range items {
				got = append(got, it.Profile.ID+"|"+filepath.ToSlash(it.Path)+"|"+strconv.Itoa(it.Line))
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("items %v, want %v", got, c.want)
			}
		})
	}
}

func TestParseCSVProfiles(t *testing.T) {
	in := "person_id,display_name,photo,categories,watch_lists\nP-1,\"Smith, Ann\",a.jpg,b;a;a,\nP-2,Bob,b.jpg,,\n"
	items, err := ParseCSV(strings.NewReader(in), "/base")
	if err != nil {
		t.Fatal(err)
	}
	p := items[0].Profile
	if p.DisplayName != "Smith, Ann" || !slices.Equal(p.Categories, []string{"b", "a", "a"}) || p.WatchLists == nil || len(p.WatchLists) != 0 {
		t.Fatalf("profile %+v: an empty list cell must give an empty, non-nil list", p)
	}
	// Without the optional columns the lists stay nil: the import leaves
	// them alone.
	items, err = ParseCSV(strings.NewReader("person_id,display_name,photo\nP-1,Ann,a.jpg\n"), "/base")
	if err != nil || items[0].Profile.Categories != nil || items[0].Profile.WatchLists != nil {
		t.Fatalf("%+v %v", items, err)
	}
}

func TestParseCSVTooLarge(t *testing.T) {
	line := "P-1," + strings.Repeat("n", 200) + ",a.jpg\n"
	big := "person_id,display_name,photo\n" + strings.Repeat(line, MaxCSVBytes/len(line)+10)
	_, err := ParseCSV(strings.NewReader(big), "/base")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("error %v", err)
	}
}

// FuzzParseCSV: whatever the input, the parser returns items that the
// store would accept or an error whose every problem has a line number,
// and never panics.
func FuzzParseCSV(f *testing.F) {
	for _, c := range csvCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		items, err := ParseCSV(strings.NewReader(in), "/base")
		if err != nil {
			if items != nil {
				t.Fatal("items returned with an error")
			}
			var se *SourceError
			if !errors.As(err, &se) || len(se.Errs) == 0 {
				t.Fatalf("error %v is not a *SourceError with problems", err)
			}
			for _, le := range se.Errs {
				if le.Line < 1 || !strings.HasPrefix(le.Error(), "line ") {
					t.Fatalf("problem without a line: %q", le)
				}
			}
			return
		}
		if len(items) == 0 {
			t.Fatal("no items and no error")
		}
		for _, it := range items {
			if checkID(it.Profile.ID) != nil || checkName(it.Profile.DisplayName) != nil || !isImageName(it.Path) ||
				it.Line < 2 || !utf8.ValidString(it.Profile.DisplayName) {
				t.Fatalf("item %+v would not be accepted", it)
			}
			if checkList(it.Profile.Categories) != nil || checkList(it.Profile.WatchLists) != nil {
				t.Fatalf("item %+v has bad lists", it)
			}
		}
	})
}

func TestPersonFromFile(t *testing.T) {
	testenv.CheckFunc(t, "personFromFile", personFromFile, map[string]string{
		"P-1.jpg":           "P-1",
		"P-1_2.jpg":         "P-1",
		"P-1_002.png":       "P-1",
		"A_B_12.jpeg":       "A_B",
		"IN_2024_00123.jpg": "IN_2024_00123", // more than three digits: part of the id
		"P_x.jpg":           "P_x",
		"_1.jpg":            "_1",
		"P-1_.jpg":          "P-1_",
	})
}

func TestPlanDir(t *testing.T) {
	root := t.TempDir()
	write := func(rel string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"P-2/front.jpg", "P-2/side.PNG", "P-2/notes.txt", "P-2/.DS_Store", "P-1.jpg", "P-1_2.jpg",
		"P-3_1.webp", "README.md", ".hidden/P-9.jpg", "P-4/deeper/x.jpg"} {
		write(f)
	}
	items, skipped, err := PlanDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		rel, _ := filepath.Rel(root, it.Path)
		got = append(got, it.Profile.ID+"|"+filepath.ToSlash(rel))
	}
	want := []string{"P-1|P-1.jpg", "P-1|P-1_2.jpg", "P-2|P-2/front.jpg", "P-2|P-2/side.PNG", "P-3|P-3_1.webp"}
	if !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v", got, want)
	}
	var rels []string
	for _, s := range skipped {
		rel, _ := filepath.Rel(root, s)
		rels = append(rels, filepath.ToSlash(rel))
	}
	slices.Sort(rels)
	if !slices.Equal(rels, []string{"P-2/notes.txt", "P-4/deeper", "README.md"}) {
		t.Fatalf("skipped %v", rels)
	}

	// A folder name that is no person id refuses the whole plan.
	write("John Smith/a.jpg")
	if _, _, err := PlanDir(root); err == nil || !strings.Contains(err.Error(), `"John Smith" contains ' '`) {
		t.Fatalf("error %v", err)
	}
	if _, _, err := PlanDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no photos found") {
		t.Fatalf("empty folder: %v", err)
	}
}

// A folder import and a CSV import with a bad line, end to end.
func TestImportSources(t *testing.T) {
	ctx := context.Background()
	p := testPhotos(t)
	root := t.TempDir()
	link := func(src, rel string) {
		dst := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.Symlink(src, dst); err != nil {
			t.Fatal(err)
		}
	}
	link(p.lin, "P-LMM/booking.png")
	link(p.alex, "P-AL.png")
	link(p.group, "P-GROUP_1.jpg")
	items, _, err := PlanDir(root)
	if err != nil {
		t.Fatal(err)
	}
	st := newStore(t)
	eng := newEngine(t, engines.FacePlugin)
	rs, err := newEnroller(t, st, eng, nil).Run(ctx, items, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := byPerson(rs)
	if got["P-LMM"].Status != StatusEnrolled || got["P-AL"].Status != StatusEnrolled || got["P-GROUP"].Status != StatusSeveralFaces {
		t.Fatalf("folder import: %+v", rs)
	}

	csvPath := filepath.Join(root, "import.csv")
	os.WriteFile(csvPath, []byte("person_id,display_name,photo,watch_lists\n"+
		"P-BO,Barack Obama,"+p.obama+",vip\n"+
		"P-BAD,Nobody,,\n"), 0o644)
	if _, err := ReadCSVFile(csvPath); err == nil || !strings.Contains(err.Error(), "line 3: photo: is empty") ||
		!strings.HasPrefix(err.Error(), csvPath) {
		t.Fatalf("bad CSV: %v", err)
	}
	os.WriteFile(csvPath, []byte("person_id,display_name,photo,watch_lists\nP-BO,Barack Obama,"+p.obama+",vip\n"), 0o644)
	items, err = ReadCSVFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rs, err = newEnroller(t, st, eng, nil).Run(ctx, items, nil)
	if err != nil || rs[0].Status != StatusEnrolled || rs[0].Line != 2 {
		t.Fatalf("CSV import: %+v %v", rs, err)
	}
	bo, err := st.Person(ctx, "P-BO")
	if err != nil || bo.DisplayName != "Barack Obama" || !slices.Equal(bo.WatchLists, []string{"vip"}) {
		t.Fatalf("%+v %v", bo, err)
	}
}
