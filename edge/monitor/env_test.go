//go:build cgo

package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/live"
	"github.com/dozor-edge/dozor/edge/custody"
	"github.com/dozor-edge/dozor/edge/enroll"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/recognizer"
)

// password is every test account's password.
const password = "correct horse battery"

// The test site: one zone and two cameras, two persons (P-1 on a watch
// list), a watch-list rule, and one account of each role, named after
// the role.
func setupSite(t testing.TB, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	must(t, st.PutZone(ctx, "admin", store.Zone{ID: "Z-YARD", Name: "Yard", Kind: store.ZoneYard}))
	must(t, st.PutCamera(ctx, "admin", store.Camera{ID: "cam-1", Name: "Yard north", ZoneID: "Z-YARD"}))
	must(t, st.PutCamera(ctx, "admin", store.Camera{ID: "cam-2", Name: "Yard south", ZoneID: "Z-YARD"}))
	must(t, st.PutPerson(ctx, "admin", store.Person{ID: "P-1", DisplayName: "Ivan Petrov", Facility: "F-07",
		Status: store.StatusActive, WatchLists: []string{"escape-risk"}}))
	must(t, st.PutPerson(ctx, "admin", store.Person{ID: "P-2", DisplayName: "Oleg Sidorov", Facility: "F-07",
		Status: store.StatusActive}))
	must(t, st.PutRule(ctx, "admin", store.Rule{ID: "R-WATCH", Kind: custody.KindWatchList, Name: "Escape risk",
		Params: []byte(`{"watch_list":"escape-risk"}`), Severity: custody.Critical, Cooldown: time.Minute, Enabled: true}))
	hash, err := webauth.HashPassword(password)
	must(t, err)
	for _, role := range store.Roles {
		must(t, st.PutUser(ctx, "admin", store.User{Name: string(role), Role: role, Lang: "en", PasswordHash: hash}))
	}
	must(t, st.PutUser(ctx, "admin", store.User{Name: "guard2", Role: store.RoleGuard, Lang: "ru", PasswordHash: hash}))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// env is a monitor over a real store and real accounts on loopback.
type env struct {
	t      *testing.T
	st     *store.Store
	acc    *webauth.Manager
	events *Hub
	srv    *Server
	http   *httptest.Server
	router routers.Router

	mu       sync.Mutex
	hubs     map[string]*live.Hub
	states   []CameraState
	snapshot []byte
	enrolled []Upload
	reloads  int
	decodes  int
}

type envOptions struct {
	auth webauth.Config
}

func newEnv(t *testing.T, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	dir := t.TempDir()
	keyPath := filepath.Join(t.TempDir(), "store.key")
	_, err := store.GenerateKeyFile(keyPath)
	must(t, err)
	st, err := store.Open(filepath.Join(dir, "facility.db"), store.Options{SQLite: sqlite.Binding{}, Region: "north", Site: "ik5", KeyFile: keyPath})
	must(t, err)
	t.Cleanup(func() { st.Close() })
	setupSite(t, st)
	acc, err := NewAccounts(st, o.auth)
	must(t, err)
	e := &env{t: t, st: st, acc: acc, events: NewHub(), hubs: map[string]*live.Hub{},
		snapshot: testPNG(t, 64, 48),
		states: []CameraState{
			{ID: "cam-1", Codec: "h264", Health: camera.Health{Camera: "cam-1", State: camera.StateStreaming, Codec: camera.H264, Width: 640, Height: 360, FPSIn: 25, FPSOut: 5, Since: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}},
			{ID: "cam-2", Codec: "h265", Health: camera.Health{Camera: "cam-2", State: camera.StateBackingOff, Reason: camera.ReasonUnreachable, Error: "dial tcp: refused"}},
		}}
	e.srv, err = New(Deps{
		Store: st, Accounts: acc, Site: Site{Region: "north", ID: "ik5", Name: "IK-5"},
		Cameras: func() []CameraState {
			e.mu.Lock()
			defer e.mu.Unlock()
			return append([]CameraState(nil), e.states...)
		},
		Live: func(id string) *live.Hub {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.hubs[id]
		},
		Snapshot: func(id string) ([]byte, time.Time, bool) {
			if id != "cam-1" {
				return nil, time.Time{}, false
			}
			return e.snapshot, time.Now(), true
		},
		Events: e.events,
		Decode: func(data []byte, maxSide int) (*recognizer.Image, error) {
			e.mu.Lock()
			e.decodes++
			e.mu.Unlock()
			return fakeDecode(data, maxSide)
		},
		Recognize: func(ctx context.Context, img *recognizer.Image) ([]FaceResult, error) {
			return []FaceResult{{Box: recognizer.Rect{X: 1, Y: 2, W: 10, H: 12}, Quality: 0.8, Usable: true,
				Matches: []Match{{Person: "P-1", Score: 0.74}}}}, nil
		},
		Enroll: func(ctx context.Context, actor string, p enroll.Profile, photos []Upload) ([]enroll.Result, error) {
			e.mu.Lock()
			e.enrolled = append(e.enrolled, photos...)
			e.mu.Unlock()
			out := []enroll.Result{}
			for _, ph := range photos {
				res := enroll.Result{Person: p.ID, Image: ph.Name, Status: enroll.StatusEnrolled, Quality: 0.9, TemplateID: "T-" + ph.Name}
				// A "lookalike" photo is refused as too like P-2.
				if strings.HasPrefix(ph.Name, "lookalike") {
					res = enroll.Result{Person: p.ID, Image: ph.Name, Status: enroll.StatusSimilar, Quality: 0.9, SimilarTo: "P-2", Score: 0.81,
						Reason: "looks like P-2"}
				}
				out = append(out, res)
			}
			return out, nil
		},
		Decide: func(ctx context.Context, d store.AlertDecision) error {
			_, err := st.DecideAlert(ctx, d, func(seq uint64) (store.OutboxMessage, error) {
				return store.OutboxMessage{Topic: "dozor/v1/north/ik5/alert/decision", Payload: fmt.Appendf(nil, `{"seq":%d}`, seq)}, nil
			})
			return err
		},
		Reload: func() {
			e.mu.Lock()
			e.reloads++
			e.mu.Unlock()
		},
	})
	must(t, err)
	e.http = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.http.Close)

	doc, err := openapi3.NewLoader().LoadFromData(openAPIDoc)
	must(t, err)
	must(t, doc.Validate(context.Background()))
	doc.Servers = openapi3.Servers{{URL: e.http.URL + "/api/v1"}}
	e.router, err = legacy.NewRouter(doc)
	must(t, err)
	return e
}

// counts reads the fakes' counters, which handlers write.
func (e *env) counts() (decodes, enrolled, reloads int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.decodes, len(e.enrolled), e.reloads
}

// fakeDecode decodes with the standard library, as the recognizer's
// decoder would, into BGR.
func fakeDecode(data []byte, maxSide int) (*recognizer.Image, error) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	out := recognizer.NewImage(b.Dx(), b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := (y*b.Dx() + x) * 3
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = byte(bl>>8), byte(g>>8), byte(r>>8)
		}
	}
	return out, nil
}

func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), 90, 255})
		}
	}
	var b bytes.Buffer
	must(t, png.Encode(&b, img))
	return b.Bytes()
}

// validating checks every API response against openapi.json.
type validating struct {
	e    *env
	base http.RoundTripper
}

func (v validating) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return resp, err
	}
	t := v.e.t
	route, params, err := v.e.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s: not described by openapi.json: %v", req.Method, req.URL.Path, err)
		return resp, nil
	}
	ct := resp.Header.Get("Content-Type")
	// A stream or a protocol switch has no body to hold; its status and
	// headers are still checked.
	stream := resp.StatusCode == http.StatusSwitchingProtocols || strings.HasPrefix(ct, "text/event-stream")
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: stream, MultiError: true},
	}
	if !stream {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		in.SetBodyBytes(body)
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		t.Errorf("%s %s -> %d: the response does not match openapi.json: %v", req.Method, req.URL.Path, resp.StatusCode, err)
	}
	return resp, nil
}

func init() {
	for _, ct := range []string{"image/jpeg", "image/png"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// client is one browser: its cookies, and its CSRF token once logged in.
type client struct {
	e    *env
	hc   *http.Client
	csrf string
	name string
}

func (e *env) client() *client {
	jar, err := cookiejar.New(nil)
	must(e.t, err)
	return &client{e: e, hc: &http.Client{Jar: jar, Transport: validating{e: e, base: http.DefaultTransport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login logs a new client in as name.
func (e *env) login(name string) *client {
	e.t.Helper()
	c := e.client()
	resp, body := c.do("POST", "/api/v1/login", map[string]string{"user": name, "password": password})
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", name, resp.StatusCode, body)
	}
	var s struct{ CSRF string }
	must(e.t, json.Unmarshal(body, &s))
	c.csrf, c.name = s.CSRF, name
	return c
}

// request is one call: body is marshalled to JSON unless it is []byte
// or a string (sent as it is); noCSRF leaves the token out.
type request struct {
	method, path string
	body         any
	contentType  string
	noCSRF       bool
}

func (c *client) do(method, path string, body any) (*http.Response, []byte) {
	return c.send(request{method: method, path: path, body: body})
}

func (c *client) send(rq request) (*http.Response, []byte) {
	c.e.t.Helper()
	var rd io.Reader
	ct := rq.contentType
	switch b := rq.body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		must(c.e.t, err)
		rd = bytes.NewReader(j)
	}
	if rd != nil && ct == "" {
		ct = "application/json"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, rq.method, c.e.http.URL+rq.path, rd)
	must(c.e.t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.csrf != "" && !rq.noCSRF {
		req.Header.Set(webauth.CSRFHeader, c.csrf)
	}
	resp, err := c.hc.Do(req)
	must(c.e.t, err)
	defer resp.Body.Close()
	var body []byte
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// The stream never ends by itself: its headers are the answer.
		return resp, nil
	}
	body, err = io.ReadAll(resp.Body)
	must(c.e.t, err)
	return resp, body
}

// errBody decodes an error answer.
// errorBody is the JSON form of every error answer.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func errBody(t testing.TB, body []byte) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Fatalf("not an error body: %s", body)
	}
	return e
}

// expect checks a status and returns the body.
func expect(t testing.TB, resp *http.Response, body []byte, status int) []byte {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	return body
}

// recordAlert stores a sighting of person on cam-1 and an alert on it by
// R-WATCH, and returns the alert's id.
func (e *env) recordAlert(n int, person string) string {
	e.t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)
	sid := fmt.Sprintf("00000000-0000-4000-8000-%012x", n)
	aid := fmt.Sprintf("00000000-0000-4000-9000-%012x", n)
	_, err := e.st.RecordSighting(ctx, store.Sighting{ID: sid, CameraID: "cam-1", TrackID: uint64(n), PersonID: person,
		Model: "test-model-v1", Score: 0.71, Margin: 0.2, Quality: 0.9, Frames: 5, FirstSeen: t0, LastSeen: t0.Add(3 * time.Second),
		Crop: testPNG(e.t, 16, 16)}, nil)
	must(e.t, err)
	_, err = e.st.RecordAlert(ctx, store.Alert{ID: aid, RuleID: "R-WATCH", SightingID: sid,
		Evidence: json.RawMessage(`{"watch_list":"escape-risk"}`), CreatedAt: t0.Add(3 * time.Second)}, nil)
	must(e.t, err)
	return aid
}
