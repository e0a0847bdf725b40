package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/dozor-edge/dozor/edge/store"
)

// fakeAPI serves the pages, the static files and a small in-memory
// imitation of the monitor's JSON API, enough for the pages to run in a
// browser. It records every state change it receives.
type fakeAPI struct {
	csrf string
	done chan struct{} // closed when the test ends: ends the streams

	mu       sync.Mutex
	user     store.User
	lang     string
	auditBad bool
	alerts   []map[string]any
	posts    []posted
	subs     []chan sse
	snapshot []byte
}

type posted struct {
	Method, Path, CSRF, ContentType string
	Body                            []byte
}

type sse struct{ event, data string }

func newFakeAPI() *fakeAPI {
	f := &fakeAPI{csrf: "csrf-test-token", done: make(chan struct{}), lang: "ru"}
	f.snapshot = pngBytes(640, 360, color.RGBA{40, 60, 80, 255})
	f.alerts = []map[string]any{alert("a1", "critical", "watch_list", "lin-manuel-miranda", "Lin-Manuel Miranda", -2*time.Minute),
		alert("a2", "warning", "unknown_in_staff_zone", "", "", -5*time.Minute)}
	return f
}

func (f *fakeAPI) setUser(name string, role store.Role, lang string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.user, f.lang = store.User{Name: name, Role: role, Lang: lang}, lang
}

func (f *fakeAPI) recorded(method, path string) []posted {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []posted
	for _, p := range f.posts {
		if p.Method == method && p.Path == path {
			out = append(out, p)
		}
	}
	return out
}

func (f *fakeAPI) publish(event string, v any) {
	b, _ := json.Marshal(v)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.subs {
		select {
		case c <- sse{event, string(b)}:
		default:
		}
	}
}

func sighting(id, person, name string, at time.Time) map[string]any {
	s := map[string]any{"id": id, "camera": "cam-1", "zone": "corridor-2", "track": 7, "model": "fused-v1",
		"score": 0.712, "margin": 0.183, "quality": 0.8, "frames": 9,
		"first_seen": at.Add(-3 * time.Second).UTC().Format(time.RFC3339), "last_seen": at.UTC().Format(time.RFC3339), "has_crop": true}
	if person != "" {
		s["person"], s["name"] = person, name
	}
	return s
}

func alert(id, severity, kind, person, name string, ago time.Duration) map[string]any {
	at := time.Now().Add(ago)
	a := map[string]any{"id": id, "kind": kind, "rule": "r-" + kind, "rule_name": "Rule " + kind, "severity": severity,
		"state": "open", "created_at": at.UTC().Format(time.RFC3339), "sighting": sighting("s-"+id, person, name, at),
		"evidence": map[string]any{"kind": kind, "reason": "on watch list \"escape-risk\"", "camera": "cam-1", "zone": "corridor-2",
			"persons": []string{person, "p-104"},
			// The daemon's evidence carries Go field names.
			"sightings": []any{map[string]any{"Sighting": "s-" + id, "Time": at.UTC().Format(time.RFC3339Nano), "Camera": "cam-1",
				"Zone": "corridor-2", "Track": 7, "PersonID": person, "Score": 0.712, "Margin": 0.183, "CropRef": "sighting:s-" + id}}},
		"photos": []string{}}
	if person != "" {
		a["photos"] = []string{"ph-1", "ph-2"}
	}
	return a
}

func pngBytes(w, h int, c color.Color) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			cc := c
			if (x/40+y/40)%2 == 0 {
				cc = color.RGBA{70, 90, 110, 255}
			}
			img.Set(x, y, cc)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// auditLog builds n entries chained as the store chains them; bad edits
// entry 5 after hashing, as a tampered database would show.
func auditLog(n int, bad bool) []map[string]any {
	var prev [32]byte
	base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	var out []map[string]any
	for i := 1; i <= n; i++ {
		at := base.Add(time.Duration(i) * 1500 * time.Millisecond)
		actor, action, object := "ivanov", "crop.read", fmt.Sprintf("sighting:s-%d", i)
		detail := fmt.Sprintf(`{"n":%d,"note":"Проверка ✓"}`, i)
		b := []byte("dozor/audit/v1\x00")
		b = binary.BigEndian.AppendUint64(b, uint64(i))
		b = binary.BigEndian.AppendUint64(b, uint64(at.UnixMilli()))
		for _, s := range []string{actor, action, object, detail} {
			b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
			b = append(b, s...)
		}
		h := sha256.Sum256(append(prev[:], b...))
		if bad && i == 5 {
			detail = `{"n":5,"note":"edited"}`
		}
		out = append(out, map[string]any{"seq": i, "at": at.Format("2006-01-02T15:04:05.000Z07:00"), "at_ms": at.UnixMilli(),
			"actor": actor, "action": action, "object": object, "detail": detail,
			"prev": hex.EncodeToString(prev[:]), "hash": hex.EncodeToString(h[:])})
		prev = h
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", Static()))
	for _, p := range Pages() {
		mux.HandleFunc("GET "+PagePath(p), func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			d := PageData{User: f.user, CSRF: f.csrf, Site: "СИЗО-1 · test", Lang: f.lang,
				Extra: map[string]string{"camera": r.PathValue("id"), "person": r.PathValue("id"), "next": r.URL.Query().Get("next")}}
			f.mu.Unlock()
			if p == "login" {
				d = PageData{Lang: RequestLang(r), Site: d.Site}
			}
			w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; object-src 'none'")
			if err := Render(w, p, d); err != nil {
				http.Error(w, err.Error(), 500)
			}
		})
	}
	// Every state change is recorded with its CSRF header.
	record := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			f.mu.Lock()
			f.posts = append(f.posts, posted{r.Method, r.URL.Path, r.Header.Get("X-CSRF-Token"), r.Header.Get("Content-Type"), body})
			ok := r.Header.Get("X-CSRF-Token") == f.csrf || r.URL.Path == "/api/v1/login"
			f.mu.Unlock()
			if !ok {
				writeJSON(w, 403, map[string]string{"error": "csrf token missing or wrong"})
				return
			}
			h(w, r)
		}
	}
	cameras := []map[string]any{
		{"id": "cam-1", "name": "Коридор 2", "zone": "corridor-2", "codec": "h265", "mode": "snapshot", "state": "streaming",
			"since": time.Now().UTC().Format(time.RFC3339), "fps_in": 25, "fps_out": 5, "region": [][]float64{{0.1, 0.2}, {0.8, 0.2}, {0.7, 0.9}}},
		{"id": "cam-2", "name": "Вход", "zone": "entrance", "codec": "", "mode": "snapshot", "state": "down",
			"reason": "connection refused", "since": time.Now().UTC().Format(time.RFC3339), "fps_in": 0, "fps_out": 0, "region": [][]float64{}},
	}
	mux.HandleFunc("GET /api/v1/cameras", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"cameras": cameras})
	})
	mux.HandleFunc("GET /api/v1/cameras/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, c := range cameras {
			if c["id"] == r.PathValue("id") {
				writeJSON(w, 200, c)
				return
			}
		}
		writeJSON(w, 404, map[string]string{"error": "no such camera"})
	})
	mux.HandleFunc("GET /api/v1/cameras/{id}/snapshot", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(f.snapshot)
	})
	mux.HandleFunc("PUT /api/v1/cameras/{id}/region", record(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, cameras[0])
	}))
	mux.HandleFunc("GET /api/v1/cameras/{id}/sightings", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"sightings": []any{sighting("s1", "lin-manuel-miranda", "Lin-Manuel Miranda", time.Now()),
			sighting("s2", "", "", time.Now().Add(-time.Minute))}})
	})
	mux.HandleFunc("GET /api/v1/cameras/{id}/live", f.live)
	mux.HandleFunc("GET /api/v1/events", f.events)
	mux.HandleFunc("GET /api/v1/alerts", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var out []map[string]any
		for _, a := range f.alerts {
			if r.URL.Query().Get("state") == "all" || a["state"] == "open" {
				out = append(out, a)
			}
		}
		writeJSON(w, 200, map[string]any{"alerts": out})
	})
	mux.HandleFunc("GET /api/v1/alerts/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, a := range f.alerts {
			if a["id"] == r.PathValue("id") {
				writeJSON(w, 200, a)
				return
			}
		}
		writeJSON(w, 404, map[string]string{"error": "no such alert"})
	})
	mux.HandleFunc("POST /api/v1/alerts/{id}/ack", record(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, a := range f.alerts {
			if a["id"] != r.PathValue("id") {
				continue
			}
			if by, ok := a["acknowledged_by"]; ok && by != f.user.Name {
				writeJSON(w, 409, map[string]string{"error": "alert acknowledged by " + by.(string)})
				return
			}
			a["acknowledged_by"], a["acknowledged_at"] = f.user.Name, time.Now().UTC().Format(time.RFC3339)
			writeJSON(w, 200, a)
			return
		}
		writeJSON(w, 404, map[string]string{"error": "no such alert"})
	}))
	mux.HandleFunc("POST /api/v1/alerts/{id}/decision", record(func(w http.ResponseWriter, r *http.Request) {
		var d struct{ Decision, Reason string }
		if err := json.NewDecoder(r.Body).Decode(&d); err != nil || d.Reason == "" {
			writeJSON(w, 400, map[string]string{"error": "reason is required", "field": "reason"})
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, a := range f.alerts {
			if a["id"] == r.PathValue("id") {
				a["state"] = d.Decision
				a["decision"] = map[string]any{"decision": d.Decision, "by": f.user.Name, "at": time.Now().UTC().Format(time.RFC3339), "reason": d.Reason}
				writeJSON(w, 200, a)
				return
			}
		}
		writeJSON(w, 404, map[string]string{"error": "no such alert"})
	}))
	crop := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes(112, 112, color.RGBA{150, 120, 100, 255}))
	}
	mux.HandleFunc("GET /api/v1/sightings/{id}/crop", crop)
	mux.HandleFunc("GET /api/v1/persons/{id}/photos/{photo}", crop)
	mux.HandleFunc("GET /api/v1/sightings", func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		if r.URL.Query().Get("before") != "" {
			writeJSON(w, 200, map[string]any{"sightings": []any{sighting("s9", "", "", now.Add(-time.Hour))}})
			return
		}
		writeJSON(w, 200, map[string]any{"sightings": []any{sighting("s1", "lin-manuel-miranda", "Lin-Manuel Miranda", now),
			sighting("s2", "", "", now.Add(-time.Minute)), sighting("s3", "p-104", "Петров П. П.", now.Add(-2*time.Minute))}, "next": "c-1"})
	})
	person := map[string]any{"id": "lin-manuel-miranda", "name": "Lin-Manuel Miranda", "facility": "sizo-1", "status": "active",
		"categories": []string{"high-risk"}, "watch_lists": []string{"escape-risk"}, "created_at": "2025-01-10T10:00:00Z", "updated_at": "2025-02-10T10:00:00Z"}
	mux.HandleFunc("GET /api/v1/persons", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"persons": []any{person,
			map[string]any{"id": "p-104", "name": "Петров П. П.", "facility": "sizo-1", "status": "in_transit", "categories": []string{}, "watch_lists": []string{}}}})
	})
	mux.HandleFunc("GET /api/v1/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"person": person,
			"photos": []any{map[string]any{"id": "ph-1", "sha256": "ab", "bytes": 20000, "source": "booking", "created_at": "2025-01-10T10:00:00Z"}},
			"templates": []any{map[string]any{"id": "t-1", "model": "fused-v1", "dim": 512, "quality": 0.81, "source": "photo", "photo": "ph-1",
				"created_at": "2025-01-10T10:00:00Z", "created_by": "sidorov"}},
			"permits":          []any{map[string]any{"id": 3, "person_id": "lin-manuel-miranda", "zone_id": "yard", "window": "mon-fri 10:00-11:00"}},
			"recent_sightings": []any{sighting("s1", "lin-manuel-miranda", "Lin-Manuel Miranda", time.Now())}})
	})
	mux.HandleFunc("POST /api/v1/persons", record(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 409, map[string]string{"error": "person lin-manuel-miranda exists"})
	}))
	mux.HandleFunc("PUT /api/v1/persons/{id}", record(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, person) }))
	mux.HandleFunc("POST /api/v1/persons/{id}/photos", record(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			writeJSON(w, 400, map[string]string{"error": err.Error()})
			return
		}
		verdicts := []map[string]any{
			{"status": "enrolled", "template": "t-9", "quality": 0.82},
			{"status": "poor_quality", "reason": "face too small: 21 px between the eyes, need 40; head turned 38°, limit 30°"},
			{"status": "similar", "similar_to": "p-104", "score": 0.63},
		}
		var results []map[string]any
		for i, fh := range r.MultipartForm.File["photo"] {
			v := verdicts[i%len(verdicts)]
			v["file"] = fh.Filename
			results = append(results, v)
		}
		writeJSON(w, 200, map[string]any{"results": results})
	}))
	mux.HandleFunc("POST /api/v1/recognize", record(func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := r.FormFile("image"); err != nil {
			writeJSON(w, 400, map[string]string{"error": "image: " + err.Error(), "field": "image"})
			return
		}
		writeJSON(w, 200, map[string]any{"faces": []any{
			map[string]any{"box": map[string]any{"x": 40, "y": 30, "w": 60, "h": 70}, "quality": 0.81, "usable": true, "reason": "",
				"matches": []any{map[string]any{"person": "lin-manuel-miranda", "name": "Lin-Manuel Miranda", "score": 0.74},
					map[string]any{"person": "p-104", "name": "Петров П. П.", "score": 0.31}}},
			map[string]any{"box": map[string]any{"x": 150, "y": 100, "w": 20, "h": 24}, "quality": 0.12, "usable": false,
				"reason": "face too small: 9 px between the eyes, need 40; blurred: sharpness 12, need 60", "matches": []any{}},
		}})
	}))
	mux.HandleFunc("GET /api/v1/rules", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"rules": []any{
			map[string]any{"id": "r-watch", "kind": "watch_list", "name": "Escape risk", "params": map[string]any{"lists": []string{"escape-risk"}}, "severity": "critical", "cooldown": 60, "enabled": true},
			map[string]any{"id": "r-staff", "kind": "unknown_in_staff_zone", "name": "Unknown in staff zone", "params": map[string]any{}, "severity": "warning", "cooldown": 30, "enabled": true},
		}})
	})
	mux.HandleFunc("PUT /api/v1/rules/{id}", record(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, map[string]string{"error": "rule params: lists: at least one list is needed", "field": "params"})
	}))
	mux.HandleFunc("GET /api/v1/zones", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"zones": []any{map[string]any{"id": "corridor-2", "name": "Коридор 2", "kind": "general"},
			map[string]any{"id": "yard", "name": "Прогулочный двор", "kind": "yard"}}})
	})
	mux.HandleFunc("GET /api/v1/keep-apart", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"orders": []any{map[string]any{"a": "lin-manuel-miranda", "b": "p-104", "reason": "co-defendants",
			"created_by": "sidorov", "created_at": "2025-01-10T10:00:00Z"}}})
	})
	mux.HandleFunc("GET /api/v1/audit", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		entries := auditLog(23, f.auditBad)
		f.mu.Unlock()
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if limit <= 0 || limit > 200 {
			limit = 200
		}
		// Small pages on purpose when asked for many, so that the chain
		// check has to page.
		if limit > 10 {
			limit = 10
		}
		out := []map[string]any{}
		for _, e := range entries {
			if e["seq"].(int) > after && len(out) < limit {
				out = append(out, e)
			}
		}
		writeJSON(w, 200, map[string]any{"entries": out})
	})
	mux.HandleFunc("GET /api/v1/users", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"users": []any{
			map[string]any{"name": "admin", "role": "admin", "lang": "ru", "disabled": false},
			map[string]any{"name": "ivanov", "role": "guard", "lang": "ru", "disabled": false},
			map[string]any{"name": "smith", "role": "auditor", "lang": "en", "disabled": true},
		}})
	})
	mux.HandleFunc("PATCH /api/v1/me", record(func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Lang string }
		json.NewDecoder(r.Body).Decode(&b)
		f.mu.Lock()
		f.lang, f.user.Lang = b.Lang, b.Lang
		u := f.user
		f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"name": u.Name, "role": u.Role, "lang": u.Lang, "disabled": false})
	}))
	mux.HandleFunc("POST /api/v1/login", record(func(w http.ResponseWriter, r *http.Request) {
		var b struct{ User, Password string }
		json.NewDecoder(r.Body).Decode(&b)
		switch {
		case b.User == "locked":
			w.Header().Set("Retry-After", "37")
			writeJSON(w, 429, map[string]string{"error": "too many attempts"})
		case b.Password != "correct horse":
			writeJSON(w, 401, map[string]string{"error": "wrong user or password"})
		default:
			f.setUser(b.User, store.RoleGuard, "ru")
			writeJSON(w, 200, map[string]any{"user": map[string]any{"name": b.User, "role": "guard", "lang": "ru"}, "csrf": f.csrf})
		}
	}))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, map[string]string{"error": "the fake API has no " + r.Method + " " + r.URL.Path})
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		role := f.user.Role
		f.mu.Unlock()
		http.Redirect(w, r, HomePath(role), http.StatusSeeOther)
	})
	return mux
}

// live imitates the live WebSocket of a snapshot-mode camera: hello, then
// a box frame every 200 ms.
func (f *fakeAPI) live(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context())
	send := func(v any) error {
		b, _ := json.Marshal(v)
		return c.Write(ctx, websocket.MessageText, b)
	}
	if err := send(map[string]any{"type": "hello", "mode": "snapshot"}); err != nil {
		return
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		face := map[string]any{"x": 0.42, "y": 0.2, "w": 0.14, "h": 0.3, "track": 7, "score": 0.71}
		if r.PathValue("id") == "cam-1" {
			face["person"], face["name"], face["known"] = "lin-manuel-miranda", "lin-manuel-miranda", true
		} else {
			face["known"] = false
		}
		if err := send(map[string]any{"type": "boxes", "wall": time.Now().UnixMilli(), "w": 640, "h": 360, "faces": []any{face}}); err != nil {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		case <-f.done:
			return
		}
	}
}

func (f *fakeAPI) events(w http.ResponseWriter, r *http.Request) {
	c := make(chan sse, 16)
	f.mu.Lock()
	f.subs = append(f.subs, c)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	io.WriteString(w, ": hello\n\n")
	w.(http.Flusher).Flush()
	for {
		select {
		case ev := <-c:
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.event, ev.data)
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
			return
		case <-f.done:
			return
		}
	}
}
