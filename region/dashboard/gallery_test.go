package dashboard

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/webui"
	"github.com/dozor-edge/dozor/region/store"
)

// pngOf is a real w x h PNG.
func pngOf(w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.Set(0, 0, color.Gray{Y: 200})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// pngHeader is the start of a PNG that claims to be w x h: enough for
// its header to be read, far too little to decode.
func pngHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32([]byte("IHDR"), w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

// multipartBody builds a multipart/form-data body of values and files
// under fileField, in name order.
func multipartBody(values map[string]string, fileField string, files map[string][]byte) (body, contentType string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, k := range slices.Sorted(maps.Keys(values)) {
		mw.WriteField(k, values[k])
	}
	for _, k := range slices.Sorted(maps.Keys(files)) {
		fw, _ := mw.CreateFormFile(fileField, k)
		fw.Write(files[k])
	}
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

// galleryServer serves a supervisor's dashboard over memStore, with the
// gallery seeded; it returns a function that sends a request and decodes
// the answer.
func galleryServer(t *testing.T, enroller Enroller) (*memStore, func(method, path, contentType, body string, out any) (int, errorBody)) {
	t.Helper()
	st := &memStore{users: map[string]store.User{}}
	if err := AddUser(context.Background(), st, "sam", RoleSupervisor, "en", testPassword); err != nil {
		t.Fatal(err)
	}
	seedGallery(t, st)
	if enroller == nil {
		enroller = fakeEnroller{&st.memGallery}
	}
	s, err := New(Deps{Store: st, Enroller: enroller, Events: NewHub(), Region: "north"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	c, csrf := client(t, srv.URL, "sam")
	return st, func(method, path, contentType, body string, out any) (int, errorBody) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/api/v1"+path, strings.NewReader(body))
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e errorBody
		if resp.StatusCode >= 400 {
			json.NewDecoder(resp.Body).Decode(&e)
		} else if out != nil {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
		}
		return resp.StatusCode, e
	}
}

// TestGalleryBadInput sends what a careless or hostile client might: each
// refused with the status and the field the table names, nothing written.
func TestGalleryBadInput(t *testing.T) {
	big := bytes.Repeat([]byte{0xff}, webui.MaxUploadFile+1)
	eleven := map[string][]byte{}
	for i := range 11 {
		eleven[string(rune('a'+i))+".png"] = pngOf(8, 8)
	}
	profile := map[string]string{"id": "P-9", "facility": "ik5"}
	mp := func(values map[string]string, files map[string][]byte) [2]string {
		b, ct := multipartBody(values, "photos", files)
		return [2]string{ct, b}
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{"id": "P-9", "facility": "ik5"}
		m[k] = v
		return m
	}
	cases := []struct {
		name, method, path string
		body               [2]string // content type, body
		status             int
		field              string
	}{
		{"oversized photo", "POST", "/gallery/enrol", mp(profile, map[string][]byte{"big.jpg": big}), 413, "photos"},
		{"eleven photos", "POST", "/gallery/enrol", mp(profile, eleven), 413, "photos"},
		{"huge image header", "POST", "/gallery/enrol", mp(profile, map[string][]byte{"bomb.png": pngHeader(20000, 20000)}), 413, "photos"},
		{"not an image", "POST", "/gallery/enrol", mp(profile, map[string][]byte{"notes.txt": []byte("hello, not a face")}), 415, "photos"},
		{"not multipart", "POST", "/gallery/enrol", [2]string{"application/json", `{"id":"P-9"}`}, 415, ""},
		{"no photos", "POST", "/gallery/enrol", mp(profile, nil), 400, "photos"},
		{"no id", "POST", "/gallery/enrol", mp(map[string]string{"facility": "ik5"}, map[string][]byte{"a.png": pngOf(8, 8)}), 400, "id"},
		{"id with a space", "POST", "/gallery/enrol", mp(with("id", "P 9"), map[string][]byte{"a.png": pngOf(8, 8)}), 400, "id"},
		{"bad facility", "POST", "/gallery/enrol", mp(with("facility", "ik/5"), map[string][]byte{"a.png": pngOf(8, 8)}), 400, "facility"},
		{"unknown form field", "POST", "/gallery/enrol", mp(with("colour", "red"), map[string][]byte{"a.png": pngOf(8, 8)}), 400, "colour"},
		{"new person without facility", "POST", "/gallery/enrol", mp(map[string]string{"id": "P-9"}, map[string][]byte{"a.png": pngOf(8, 8)}), 400, "facility"},
		{"unknown JSON field", "PUT", "/gallery/persons/P-1", [2]string{"", `{"display_name":"X","shoe_size":44}`}, 400, "shoe_size"},
		{"wrong JSON type", "PUT", "/gallery/persons/P-1", [2]string{"", `{"categories":"adult"}`}, 400, "categories"},
		{"status in transit", "PUT", "/gallery/persons/P-1", [2]string{"", `{"status":"in_transit"}`}, 400, "status"},
		{"move by editing", "PUT", "/gallery/persons/P-1", [2]string{"", `{"facility":"ik6"}`}, 409, "facility"},
		{"label twice", "PUT", "/gallery/persons/P-1", [2]string{"", `{"watch_lists":["a","a"]}`}, 400, "watch_lists"},
		{"edit unknown person", "PUT", "/gallery/persons/P-404", [2]string{"", `{"display_name":"X"}`}, 404, ""},
		{"transfer unknown field", "POST", "/transfers", [2]string{"", `{"person":"P-3","to":"ik6","reason":"r","when":"now"}`}, 400, "when"},
		{"transfer without reason", "POST", "/transfers", [2]string{"", `{"person":"P-3","to":"ik6","reason":"  "}`}, 400, "reason"},
		{"transfer bad site", "POST", "/transfers", [2]string{"", `{"person":"P-3","to":"ik 6","reason":"r"}`}, 400, "to"},
		{"second open transfer", "POST", "/transfers", [2]string{"", `{"person":"P-4","to":"ik7","reason":"r"}`}, 409, ""},
		{"cancel without reason", "POST", "/transfers/{open}/cancel", [2]string{"", `{}`}, 400, "reason"},
		{"cancel unknown field", "POST", "/transfers/{open}/cancel", [2]string{"", `{"reason":"x","force":true}`}, 400, "force"},
		{"cancel bad id", "POST", "/transfers/nope/cancel", [2]string{"", `{"reason":"x"}`}, 400, "id"},
		{"photo bad sha", "GET", "/gallery/persons/P-1/photos/ABC", [2]string{}, 400, "sha256"},
		{"persons bad status", "GET", "/gallery/persons?status=gone", [2]string{}, 400, "status"},
		{"audit bad before", "GET", "/audit?before=x", [2]string{}, 400, "before"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, do := galleryServer(t, nil)
			open, _ := st.Transfers(context.Background(), store.TransferQuery{Open: true})
			path := strings.ReplaceAll(tc.path, "{open}", open[0].ID)
			status, e := do(tc.method, path, tc.body[0], tc.body[1], nil)
			if status != tc.status || e.Field != tc.field {
				t.Fatalf("status %d field %q (%s), want %d naming %q", status, e.Field, e.Error, tc.status, tc.field)
			}
			if e.Error == "" {
				t.Fatal("no error message")
			}
			if _, err := st.Person(context.Background(), "P-9"); err == nil {
				t.Fatal("P-9 was enrolled")
			}
			if p, _ := st.Person(context.Background(), "P-1"); p.DisplayName != "Person P-1" || p.Facility != "ik5" {
				t.Fatalf("P-1 changed: %+v", p)
			}
		})
	}
}

// TestGalleryFlow walks a supervisor through the API: enrol, find,
// read, edit, transfer, cancel, and the audit records of the reads.
func TestGalleryFlow(t *testing.T) {
	st, do := galleryServer(t, nil)
	body, ct := multipartBody(map[string]string{"id": "P-9", "display_name": "New Arrival", "facility": "ik5",
		"categories": "adult, remand"}, "photos", map[string][]byte{"a.png": pngOf(32, 32), "b.png": pngOf(40, 40)})
	var enrolled struct {
		Person  string        `json:"person"`
		Results []verdictView `json:"results"`
	}
	if s, e := do("POST", "/gallery/enrol", ct, body, &enrolled); s != 200 {
		t.Fatalf("enrol: %d %s", s, e.Error)
	}
	if enrolled.Person != "P-9" || len(enrolled.Results) != 2 || enrolled.Results[0].File != "a.png" || enrolled.Results[0].Status != "enrolled" {
		t.Fatalf("enrol answered %+v", enrolled)
	}

	var list struct {
		Items []personView `json:"items"`
	}
	if s, e := do("GET", "/gallery/persons?search=arriv", "", "", &list); s != 200 {
		t.Fatalf("persons: %d %s", s, e.Error)
	}
	if len(list.Items) != 1 || list.Items[0].ID != "P-9" || list.Items[0].Photos != 2 || list.Items[0].Facility != "ik5" {
		t.Fatalf("search found %+v", list.Items)
	}

	var detail personDetail
	if s, e := do("GET", "/gallery/persons/P-9", "", "", &detail); s != 200 {
		t.Fatalf("person: %d %s", s, e.Error)
	}
	if len(detail.Photos) != 2 || len(detail.Templates) != 2 || detail.Templates[0].Dim != 512 || detail.Templates[0].Model != "m-1" {
		t.Fatalf("person detail %+v", detail)
	}
	if s, e := do("GET", "/gallery/persons/P-9/photos/"+detail.Photos[0].SHA256, "", "", nil); s != 200 {
		t.Fatalf("photo: %d %s", s, e.Error)
	}

	var edited personView
	if s, e := do("PUT", "/gallery/persons/P-9", "", `{"display_name":"Ivan Petrov","watch_lists":["escape-risk"]}`, &edited); s != 200 {
		t.Fatalf("edit: %d %s", s, e.Error)
	}
	if edited.DisplayName != "Ivan Petrov" || !slices.Equal(edited.WatchLists, []string{"escape-risk"}) || edited.Facility != "ik5" {
		t.Fatalf("edited %+v", edited)
	}

	var tr transferView
	if s, e := do("POST", "/transfers", "", `{"person":"P-9","to":"ik6","reason":"court order"}`, &tr); s != 201 {
		t.Fatalf("start: %d %s", s, e.Error)
	}
	if tr.State != "requested" || !tr.Open || tr.From != "ik5" || tr.To != "ik6" || tr.RequestedBy != "sam" {
		t.Fatalf("transfer %+v", tr)
	}
	var open []transferView
	do("GET", "/transfers?open=true", "", "", &open)
	if !slices.ContainsFunc(open, func(v transferView) bool { return v.ID == tr.ID }) {
		t.Fatalf("open transfers %+v lack %s", open, tr.ID)
	}
	if s, e := do("POST", "/transfers/"+tr.ID+"/cancel", "", `{"reason":"order withdrawn"}`, &tr); s != 200 {
		t.Fatalf("cancel: %d %s", s, e.Error)
	}
	if tr.State != "cancelled" || tr.Open || tr.CancelledBy != "sam" || tr.CancelReason != "order withdrawn" {
		t.Fatalf("cancelled %+v", tr)
	}
	if s, _ := do("POST", "/transfers/"+tr.ID+"/cancel", "", `{"reason":"again"}`, nil); s != 409 {
		t.Fatalf("second cancel: %d, want 409", s)
	}

	var audit struct {
		Items []auditView `json:"items"`
	}
	do("GET", "/audit", "", "", &audit)
	var reads int
	for _, a := range audit.Items {
		if a.Actor == "sam" && (a.Action == "photo.read" || a.Action == "biometrics.read") {
			reads++
		}
	}
	if reads != 2 {
		t.Fatalf("audit %+v: %d reads by sam, want 2", audit.Items, reads)
	}
	var verify struct {
		OK   bool   `json:"ok"`
		Head uint64 `json:"head"`
	}
	if do("GET", "/audit/verify", "", "", &verify); !verify.OK || verify.Head == 0 {
		t.Fatalf("verify %+v", verify)
	}

	if s, e := do("DELETE", "/gallery/persons/P-9", "", "", nil); s != 204 {
		t.Fatalf("remove: %d %s", s, e.Error)
	}
	if _, err := st.Person(context.Background(), "P-9"); err == nil {
		t.Fatal("P-9 is still there")
	}
}

// TestEnrolWithoutEngine: a region without a face engine says so.
func TestEnrolWithoutEngine(t *testing.T) {
	st := &memStore{users: map[string]store.User{}}
	AddUser(context.Background(), st, "sam", RoleSupervisor, "en", testPassword)
	s, err := New(Deps{Store: st, Events: NewHub()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c, csrf := client(t, srv.URL, "sam")
	body, ct := multipartBody(map[string]string{"id": "P-9", "facility": "ik5"}, "photos", map[string][]byte{"a.png": pngOf(8, 8)})
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/gallery/enrol", strings.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
}

func TestInvalidField(t *testing.T) {
	for msg, want := range map[string]string{
		`region store: put person "x": invalid input: person.display_name: missing`:                   "display_name",
		`region store: start transfer of "P-1": invalid input: to: the person is already held at ik5`: "to",
		`enrol: facility: required for a new person: invalid input`:                                   "facility",
		`enrol: photos[2]: empty file: invalid input`:                                                 "photos[2]",
		`something else`: "",
	} {
		if got := invalidField(msg); got != want {
			t.Errorf("invalidField(%q) = %q, want %q", msg, got, want)
		}
	}
}
