package gallerysync

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name  string
		alter func(r *Revision)
		err   string
	}{
		{"good", func(r *Revision) {}, ""},
		{"full", func(r *Revision) { r.Full, r.Base, r.Removals = true, 0, nil }, ""},
		{"only removals", func(r *Revision) { r.Upserts = nil }, ""},
		{"empty delta", func(r *Revision) { r.Upserts, r.Removals = nil, nil }, ""},
		{"region", func(r *Revision) { r.Region = "no/rth" }, "revision: region: contains '/'"},
		{"site", func(r *Revision) { r.Site = "" }, "revision: site: empty"},
		{"number zero", func(r *Revision) { r.Number, r.Base = 0, 0 }, "number: missing"},
		{"number too large", func(r *Revision) { r.Number, r.Base = 1<<53, 1<<53-1 }, "number: 9007199254740992 exceeds 2^53-1"},
		{"delta base", func(r *Revision) { r.Base = 3 }, "base: 3; a delta to revision 12 has base 11"},
		{"full base", func(r *Revision) { r.Full, r.Removals = true, nil }, "base: 11; a full revision has base 0"},
		{"full with removals", func(r *Revision) { r.Full, r.Base = true, 0 }, "removals: 2 ids in a full revision"},
		{"issued missing", func(r *Revision) { r.Issued = time.Time{} }, "issued: missing"},
		{"issued unset clock", func(r *Revision) { r.Issued = time.Unix(5, 0) }, "issued: 1970-01-01T00:00:05Z is before 2020-01-01"},
		{"person twice", func(r *Revision) { r.Upserts[3].ID = "P-1" }, `upserts[3].id: "P-1" also in upserts[1]`},
		{"removed and upserted", func(r *Revision) { r.Removals[1] = "P-2" }, `removals[1]: "P-2" also in upserts[2]`},
		{"removal empty", func(r *Revision) { r.Removals[0] = "" }, "removals[0]: missing"},
		{"person id padded", func(r *Revision) { r.Upserts[0].ID = " P-0" }, "upserts[0].id: has leading or trailing spaces"},
		{"person id too long", func(r *Revision) { r.Upserts[0].ID = strings.Repeat("p", 129) }, "upserts[0].id: 129 bytes, longer than 128"},
		{"display name missing", func(r *Revision) { r.Upserts[4].DisplayName = "" }, "upserts[4].display_name: missing"},
		{"status", func(r *Revision) { r.Upserts[1].Status = "released" }, `upserts[1].status: "released" is not one of active, in_transit`},
		{"category twice", func(r *Revision) { r.Upserts[0].Categories = []string{"a", "a"} }, `upserts[0].categories[1]: "a" appears twice`},
		{"watch list control", func(r *Revision) { r.Upserts[0].WatchLists = []string{"x\x07"} }, "upserts[0].watch_lists[0]: contains the non-printable character U+0007"},
		{"photo sha", func(r *Revision) { r.Upserts[1].Photos[1].SHA256 = strings.Repeat("0", 64) }, "upserts[1].photos[1].sha256: \"0000000000000000000000000000000000000000...\" is not the SHA-256 of the JPEG bytes"},
		{"photo not JPEG", func(r *Revision) { r.Upserts[0].Photos[0].JPEG = []byte("\x89PNG....") }, "upserts[0].photos[0].jpeg: not a JPEG"},
		{"photo empty", func(r *Revision) { r.Upserts[0].Photos[0].JPEG = nil }, "upserts[0].photos[0].jpeg: missing"},
		{"photo twice", func(r *Revision) { r.Upserts[1].Photos[1] = r.Upserts[1].Photos[0] }, "upserts[1].photos[1].sha256: repeats photos[0]"},
		{"template photo absent", func(r *Revision) { r.Upserts[0].Templates[1].PhotoSHA256 = r.Upserts[1].Photos[0].SHA256 }, "upserts[0].templates[1].photo_sha256: \""},
		{"template NaN", func(r *Revision) { r.Upserts[2].Templates[3].Vec[7] = float32(math.NaN()) }, "upserts[2].templates[3].vec: element 7 is not a finite number"},
		{"template Inf", func(r *Revision) { r.Upserts[2].Templates[0].Vec[0] = float32(math.Inf(-1)) }, "upserts[2].templates[0].vec: element 0 is not a finite number"},
		{"template empty", func(r *Revision) { r.Upserts[0].Templates[0].Vec = nil }, "upserts[0].templates[0].vec: missing"},
		{"template too long", func(r *Revision) { r.Upserts[0].Templates[0].Vec = make([]float32, 4097) }, "upserts[0].templates[0].vec: 4097 numbers, more than 4096"},
		{"template quality", func(r *Revision) { r.Upserts[0].Templates[0].Quality = 1.5 }, "upserts[0].templates[0].quality: 1.5 is outside [0, 1]"},
		{"template model", func(r *Revision) { r.Upserts[0].Templates[0].Model = "" }, "upserts[0].templates[0].model: missing"},
		{"template twice", func(r *Revision) { r.Upserts[0].Templates[1].Model = "fused-1" }, "upserts[0].templates[1]: repeats templates[0] (same photo and model)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := testRevision(12)
			tc.alter(&r)
			err := r.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
		})
	}
}
