//go:build cgo

package monitor

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/internal/webui"
)

// multipartBody builds a multipart/form-data body of files under field
// and plain values.
func multipartBody(t testing.TB, field string, files map[string][]byte, values map[string]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for name, data := range files {
		fw, err := w.CreateFormFile(field, name)
		must(t, err)
		fw.Write(data)
	}
	for k, v := range values {
		must(t, w.WriteField(k, v))
	}
	must(t, w.Close())
	return w.FormDataContentType(), b.Bytes()
}

func (c *client) upload(path, field string, files map[string][]byte, values map[string]string) (*http.Response, []byte) {
	ct, body := multipartBody(c.e.t, field, files, values)
	return c.send(request{method: "POST", path: path, body: body, contentType: ct})
}

func TestUploadTooLarge(t *testing.T) {
	e := newEnv(t)
	sup := e.login("supervisor")
	big := append(testPNG(t, 8, 8), make([]byte, webui.MaxUploadFile)...)
	resp, body := sup.upload("/api/v1/persons/P-1/photos", "photo", map[string][]byte{"big.png": big}, nil)
	expect(t, resp, body, http.StatusRequestEntityTooLarge)
	errBody(t, body)
	files := map[string][]byte{}
	for i := range webui.MaxUploadFiles + 1 {
		files[string(rune('a'+i))+".png"] = testPNG(t, 8, 8)
	}
	resp, body = sup.upload("/api/v1/persons/P-1/photos", "photo", files, nil)
	expect(t, resp, body, http.StatusRequestEntityTooLarge)
	if _, n, _ := e.counts(); n != 0 {
		t.Errorf("%d photos reached enrolment", n)
	}
}

func TestUploadNotAnImage(t *testing.T) {
	e := newEnv(t)
	sup := e.login("supervisor")
	resp, body := sup.upload("/api/v1/recognize", "image", map[string][]byte{"notes.txt": []byte("just some text, not a picture")}, nil)
	expect(t, resp, body, http.StatusUnsupportedMediaType)
	if f := errBody(t, body).Field; f != "image" {
		t.Errorf("field %q, want image", f)
	}
	resp, body = sup.upload("/api/v1/persons/P-1/photos", "photo", map[string][]byte{"x.jpg": []byte("\xff\xd8 broken")}, nil)
	expect(t, resp, body, http.StatusUnsupportedMediaType)
	resp, body = sup.send(request{method: "POST", path: "/api/v1/recognize", body: `{"image":"x"}`})
	expect(t, resp, body, http.StatusUnsupportedMediaType)
	if n, _, _ := e.counts(); n != 0 {
		t.Errorf("Decode ran %d times on refused uploads", n)
	}
}

func TestUploadDecompressionBomb(t *testing.T) {
	e := newEnv(t)
	sup := e.login("supervisor")
	for _, side := range []uint32{100000, 20000} {
		resp, body := sup.upload("/api/v1/recognize", "image", map[string][]byte{"bomb.png": pngHeader(side, side)}, nil)
		expect(t, resp, body, http.StatusRequestEntityTooLarge)
		if msg := errBody(t, body).Error; !strings.Contains(msg, "megapixels") {
			t.Errorf("%d: %q does not name the limit", side, msg)
		}
		resp, body = sup.upload("/api/v1/persons/P-1/photos", "photo", map[string][]byte{"bomb.png": pngHeader(side, side)}, nil)
		expect(t, resp, body, http.StatusRequestEntityTooLarge)
	}
	// 7000 x 7000 is within each side's limit but over 40 megapixels.
	resp, body := sup.upload("/api/v1/recognize", "image", map[string][]byte{"wide.png": pngHeader(7000, 7000)}, nil)
	expect(t, resp, body, http.StatusRequestEntityTooLarge)
	if decodes, enrolled, _ := e.counts(); decodes != 0 || enrolled != 0 {
		t.Errorf("a bomb was decoded (%d) or enrolled (%d)", decodes, enrolled)
	}
	// A real image goes through, and the search is audited.
	resp, body = sup.upload("/api/v1/recognize", "image", map[string][]byte{"face.png": testPNG(t, 40, 30)}, nil)
	expect(t, resp, body, http.StatusOK)
	if !strings.Contains(string(body), `"name":"Ivan Petrov"`) {
		t.Errorf("matches lack the person's name: %s", body)
	}
	entries, err := e.st.QueryAudit(context.Background(), store.AuditQuery{Action: "search.photo"})
	must(t, err)
	if len(entries) != 1 || entries[0].Actor != "supervisor" {
		t.Errorf("search audit: %+v", entries)
	}
}

func TestMalformedJSON(t *testing.T) {
	e := newEnv(t)
	sup := e.login("supervisor")
	for name, body := range map[string]string{
		"truncated": `{"name":`, "not json": `name=Yard`, "two values": `{"name":"A","kind":"yard"} {}`, "empty": ``,
	} {
		resp, b := sup.do("PUT", "/api/v1/zones/Z-NEW", body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, resp.StatusCode, b)
		}
		errBody(t, b)
	}
	resp, b := sup.do("PUT", "/api/v1/zones/Z-NEW", `{"name":5,"kind":"yard"}`)
	expect(t, resp, b, http.StatusBadRequest)
	if f := errBody(t, b).Field; f != "name" {
		t.Errorf("wrong type: field %q, want name", f)
	}
	resp, b = sup.do("PUT", "/api/v1/zones/Z-NEW", `{"name":"`+strings.Repeat("x", maxJSONBody)+`"}`)
	expect(t, resp, b, http.StatusRequestEntityTooLarge)
}

func TestUnknownField(t *testing.T) {
	e := newEnv(t)
	sup := e.login("supervisor")
	resp, b := sup.do("POST", "/api/v1/persons", `{"id":"P-9","name":"New","facility":"F-07","status":"active","nmae":"typo"}`)
	expect(t, resp, b, http.StatusBadRequest)
	if got := errBody(t, b); got.Field != "nmae" || !strings.Contains(got.Error, "nmae") {
		t.Errorf("error %+v does not name the field", got)
	}
	if _, err := e.st.Person(context.Background(), "P-9"); err == nil {
		t.Error("the person was created")
	}
	// A store refusal names the field in the API's words.
	resp, b = sup.do("POST", "/api/v1/persons", `{"id":"P-9","name":"","facility":"F-07","status":"active"}`)
	expect(t, resp, b, http.StatusBadRequest)
	if f := errBody(t, b).Field; f != "name" {
		t.Errorf("empty name: field %q", f)
	}
}

func TestCSRFLessPost(t *testing.T) {
	e := newEnv(t)
	g := e.login("guard")
	id := e.recordAlert(1, "P-1")
	resp, b := g.send(request{method: "POST", path: "/api/v1/alerts/" + id + "/ack", body: `{}`, noCSRF: true})
	expect(t, resp, b, http.StatusForbidden)
	if msg := errBody(t, b).Error; msg != "csrf token missing or wrong" {
		t.Errorf("message %q", msg)
	}
	g.csrf = "forged"
	resp, b = g.do("POST", "/api/v1/alerts/"+id+"/ack", `{}`)
	expect(t, resp, b, http.StatusForbidden)
	a, err := e.st.Alert(context.Background(), id)
	must(t, err)
	if a.AckBy != "" {
		t.Errorf("the alert was acknowledged by %s", a.AckBy)
	}
	// A login from another site's page is refused.
	c := e.client()
	rq, err := http.NewRequest("POST", e.http.URL+"/api/v1/login", strings.NewReader(`{"user":"guard","password":"`+password+`"}`))
	must(t, err)
	rq.Header.Set("Content-Type", "application/json")
	rq.Header.Set("Sec-Fetch-Site", "cross-site")
	rq.Header.Set("Origin", "http://evil.example")
	resp, err = c.hc.Do(rq)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %d", resp.StatusCode)
	}
}

func TestBruteForceLogin(t *testing.T) {
	e := newEnv(t, envOptions{auth: webauth.Config{AccountFailures: 3, AccountWindow: time.Hour, AccountLockout: time.Hour}})
	c := e.client()
	for i := range 3 {
		resp, b := c.do("POST", "/api/v1/login", map[string]string{"user": "guard", "password": "wrong password " + string(rune('a'+i))})
		expect(t, resp, b, http.StatusUnauthorized)
	}
	// Locked: even the right password is refused for a while.
	resp, b := c.do("POST", "/api/v1/login", map[string]string{"user": "guard", "password": password})
	expect(t, resp, b, http.StatusTooManyRequests)
	if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	ctx := context.Background()
	failed, err := e.st.QueryAudit(ctx, store.AuditQuery{Action: webauth.ActionLoginFailed})
	must(t, err)
	if len(failed) != 3 {
		t.Errorf("%d failed logins audited, want 3", len(failed))
	}
	for _, a := range []string{webauth.ActionLocked, webauth.ActionLoginRefused} {
		got, err := e.st.QueryAudit(ctx, store.AuditQuery{Action: a})
		must(t, err)
		if len(got) == 0 {
			t.Errorf("no %s entry", a)
		}
	}
	// Another account is not locked.
	e.login("guard2")
}
