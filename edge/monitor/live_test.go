//go:build cgo

package monitor

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/live"
	"github.com/dozor-edge/dozor/camera/live/livetest"
)

// dialLive opens a camera's live socket as c.
func (c *client) dialLive(ctx context.Context, cam string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	url := "ws" + strings.TrimPrefix(c.e.http.URL, "http") + "/api/v1/cameras/" + cam + "/live"
	return websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: c.hc, HTTPHeader: hdr})
}

func TestLiveSocket(t *testing.T) {
	e := newEnv(t)
	hub := live.NewHub("cam-1", nil)
	e.mu.Lock()
	e.hubs["cam-1"] = hub
	e.mu.Unlock()
	clip := livetest.Clip(t, "hamilton_wh_short_640x360.mp4")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g := e.login("guard")

	// A page of another site may not open the socket.
	_, resp, err := g.dialLive(ctx, "cam-1", http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin socket: %v %v", resp, err)
	}

	// One browser never reads; the other does.
	stalled, _, err := g.dialLive(ctx, "cam-1", nil)
	must(t, err)
	defer stalled.CloseNow()
	conn, _, err := g.dialLive(ctx, "cam-1", nil)
	must(t, err)
	defer conn.CloseNow()

	// The camera writes the clip again and again until the reader has
	// what it waits for; WriteAccessUnit must keep returning though one
	// viewer takes nothing.
	feedCtx, stopFeed := context.WithCancel(ctx)
	var wg sync.WaitGroup
	written := 0
	wg.Go(func() {
		start := time.Now()
		var base int64
		for feedCtx.Err() == nil {
			for _, u := range livetest.Units(clip, base, start) {
				if feedCtx.Err() != nil {
					return
				}
				hub.WriteAccessUnit(u)
				if written++; written%4 == 0 {
					time.Sleep(time.Millisecond) // a camera's pace, faster than life
				}
			}
			base += int64(clip.Period.Seconds() * camera.ClockRate)
			start = start.Add(clip.Period)
		}
	})
	defer func() {
		stopFeed()
		wg.Wait()
	}()

	var hello helloMsg
	var gotInit, gotClock, gotBoxes, gotHealth bool
	frags := 0
	boxesSent := false
	// The stalled socket's buffers fill, then the hub drops its
	// fragments; the reader keeps receiving after that.
	fragsAtDrop := -1
	for fragsAtDrop < 0 || frags < fragsAtDrop+20 || !gotBoxes || !gotClock || !gotHealth {
		if fragsAtDrop < 0 && hub.Stats().Drops > 0 {
			fragsAtDrop = frags
		}
		typ, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("after %d fragments: %v", frags, err)
		}
		if typ == websocket.MessageBinary {
			switch {
			case hello.Type == "":
				t.Fatal("binary before hello")
			case !gotInit:
				if string(data[4:8]) != "ftyp" {
					t.Fatalf("first binary is not an init segment: %q", data[4:8])
				}
				gotInit = true
			default:
				if string(data[4:8]) != "moof" {
					t.Fatalf("fragment starts with %q", data[4:8])
				}
				frags++
			}
			continue
		}
		var m struct{ Type string }
		must(t, json.Unmarshal(data, &m))
		switch m.Type {
		case "hello":
			must(t, json.Unmarshal(data, &hello))
			if hello.Mode != "mse" || !strings.HasPrefix(hello.Codec, "avc1.") || hello.Width != 640 || hello.Height != 360 {
				t.Fatalf("hello: %s", data)
			}
		case "clock":
			var c clockMsg
			must(t, json.Unmarshal(data, &c))
			gotClock = c.Wall > 0
		case "health":
			var h healthMsg
			must(t, json.Unmarshal(data, &h))
			gotHealth = h.State == "streaming" && h.Mode == "mse"
		case "boxes":
			var b boxesMsg
			must(t, json.Unmarshal(data, &b))
			if len(b.Faces) != 1 || b.Faces[0].Name != "Ivan Petrov" || b.W != 640 {
				t.Fatalf("boxes: %s", data)
			}
			gotBoxes = true
		default:
			t.Fatalf("unexpected message %s", data)
		}
		if gotInit && !boxesSent {
			// Boxes go to the sockets of their camera only.
			e.events.Publish(Event{Type: EventBoxes, Camera: "cam-2", Boxes: &BoxFrame{Camera: "cam-2"}})
			e.events.Publish(Event{Type: EventBoxes, Camera: "cam-1", Boxes: &BoxFrame{Camera: "cam-1", Wall: time.Now(), W: 640, H: 360,
				Faces: []Box{{X: 0.4, Y: 0.2, W: 0.1, H: 0.2, Track: 7, Person: "P-1", Name: "Ivan Petrov", Score: 0.71, Known: true}}}})
			boxesSent = true
		}
	}

	// A change of the camera's health reaches the tile.
	e.mu.Lock()
	e.states[0].Health.State = camera.StateStalled
	e.states[0].Health.Reason = camera.ReasonNoPackets
	e.mu.Unlock()
	for {
		typ, data, err := conn.Read(ctx)
		must(t, err)
		if typ == websocket.MessageText && strings.Contains(string(data), `"type":"health"`) {
			if !strings.Contains(string(data), `"state":"stalled"`) {
				t.Fatalf("health: %s", data)
			}
			break
		}
	}
	stopFeed()
	wg.Wait()
	conn.Close(websocket.StatusNormalClosure, "")
	stalled.CloseNow()
}

// TestLiveSnapshotMode: an H.265 camera's socket says so and carries no
// video.
func TestLiveSnapshotMode(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := e.login("installer").dialLive(ctx, "cam-2", nil)
	must(t, err)
	defer conn.CloseNow()
	typ, data, err := conn.Read(ctx)
	must(t, err)
	if typ != websocket.MessageText || !strings.Contains(string(data), `"mode":"snapshot"`) {
		t.Fatalf("first message: %s", data)
	}
	conn.Close(websocket.StatusNormalClosure, "")
}
