package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/dozor-edge/dozor/camera/live"
	"github.com/dozor-edge/dozor/internal/webui"
)

// Live socket settings.
const (
	// liveQueue is the fragments buffered for one browser, about two
	// seconds of video: a browser further behind loses fragments and
	// resumes at the next keyframe.
	liveQueue = 60
	// boxQueue is the box frames buffered for one browser.
	boxQueue = 16
	// liveWrite is the longest one message may take to leave; a browser
	// slower than that is disconnected (it reconnects and resyncs).
	liveWrite = 5 * time.Second
	// healthEvery is how often the camera's state is checked for changes,
	// and the longest time between two clock messages.
	healthEvery = time.Second
)

type helloMsg struct {
	Type   string `json:"type"`
	Mode   string `json:"mode"`
	Codec  string `json:"codec,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}

type clockMsg struct {
	Type  string  `json:"type"`
	Media float64 `json:"media"` // seconds on the fragments' timeline
	Wall  int64   `json:"wall"`  // unix ms of capture
}

type faceBox struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	W      float64 `json:"w"`
	H      float64 `json:"h"`
	Track  uint64  `json:"track"`
	Person string  `json:"person,omitempty"`
	Name   string  `json:"name"`
	Score  float32 `json:"score"`
	Known  bool    `json:"known"`
}

type boxesMsg struct {
	Type  string    `json:"type"`
	Wall  int64     `json:"wall"`
	W     int       `json:"w"`
	H     int       `json:"h"`
	Faces []faceBox `json:"faces"`
}

type healthMsg struct {
	Type   string  `json:"type"`
	State  string  `json:"state"`
	Mode   string  `json:"mode"`
	Reason string  `json:"reason,omitempty"`
	Error  string  `json:"error,omitempty"`
	FPSIn  float64 `json:"fps_in"`
	FPSOut float64 `json:"fps_out"`
}

func viewBoxes(b *BoxFrame) boxesMsg {
	m := boxesMsg{Type: "boxes", Wall: b.Wall.UnixMilli(), W: b.W, H: b.H, Faces: make([]faceBox, 0, len(b.Faces))}
	for _, f := range b.Faces {
		m.Faces = append(m.Faces, faceBox{X: f.X, Y: f.Y, W: f.W, H: f.H, Track: f.Track, Person: f.Person,
			Name: f.Name, Score: f.Score, Known: f.Known})
	}
	return m
}

// live streams one camera to a browser over a WebSocket: fMP4 video when
// the camera is H.264 with a live fan-out, and in every mode the boxes of
// the analysed frames and the camera's health. Only the connection's own
// goroutine ever waits on the browser.
func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.cameraView(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	// The socket must only ever be opened by the monitor's own pages
	// (Accept checks the same; this answers in the API's JSON).
	if err := sameOrigin(r); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context())
	err = s.streamLive(ctx, c, id)
	switch {
	case err == nil || ctx.Err() != nil:
		c.Close(websocket.StatusNormalClosure, "")
	case errors.Is(err, errLiveEnded):
		c.Close(websocket.StatusGoingAway, "the camera's stream ended")
	default:
		// A browser that stopped taking messages gets no further word.
	}
}

var errLiveEnded = errors.New("live stream ended")

// sameOrigin accepts a request without an Origin header (not from a
// page) or from a page of this host.
func sameOrigin(r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || !strings.EqualFold(u.Host, r.Host) {
		return webui.Errorf(http.StatusForbidden, "", "a page of another site may not open the live view")
	}
	return nil
}

func (s *Server) streamLive(ctx context.Context, c *websocket.Conn, id string) error {
	send := func(typ websocket.MessageType, b []byte) error {
		wctx, cancel := context.WithTimeout(ctx, liveWrite)
		defer cancel()
		return c.Write(wctx, typ, b)
	}
	sendJSON := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return send(websocket.MessageText, b)
	}

	boxes := s.d.Events.Subscribe(boxQueue, func(e Event) bool {
		return e.Type == EventBoxes && e.Boxes != nil && e.Camera == id
	})
	defer boxes.Close()

	health := s.liveHealth(id)
	var frags <-chan live.Message
	if hub := s.d.Live(id); health.Mode == live.ModeMSE && hub != nil {
		sub := hub.Subscribe(liveQueue)
		defer sub.Close()
		frags = sub.C()
	} else if err := sendJSON(helloMsg{Type: "hello", Mode: live.ModeSnapshot}); err != nil {
		return err
	}
	if err := sendJSON(health); err != nil {
		return err
	}

	tick := time.NewTicker(healthEvery)
	defer tick.Stop()
	var sentInit []byte
	var lastClock time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-frags:
			if !ok {
				return errLiveEnded
			}
			if m.Init {
				// A new init segment (first, or new parameters) is
				// announced before it is sent; a repeat after a resync
				// is sent again only when it differs.
				if bytes.Equal(m.Data, sentInit) {
					continue
				}
				if err := sendJSON(helloMsg{Type: "hello", Mode: live.ModeMSE, Codec: m.Codec, Width: m.W, Height: m.H}); err != nil {
					return err
				}
				if err := send(websocket.MessageBinary, m.Data); err != nil {
					return err
				}
				sentInit = m.Data
				continue
			}
			if sentInit == nil {
				continue
			}
			if now := time.Now(); m.Key || now.Sub(lastClock) >= healthEvery {
				if err := sendJSON(clockMsg{Type: "clock", Media: m.Media.Seconds(), Wall: m.Wall.UnixMilli()}); err != nil {
					return err
				}
				lastClock = now
			}
			if err := send(websocket.MessageBinary, m.Data); err != nil {
				return err
			}
		case e := <-boxes.C():
			if err := sendJSON(viewBoxes(e.Boxes)); err != nil {
				return err
			}
		case <-tick.C:
			if h := s.liveHealth(id); h != health {
				health = h
				if err := sendJSON(h); err != nil {
					return err
				}
			}
		}
	}
}

// liveHealth is the part of a camera's state the live tile shows; it is
// compared to find changes, so it carries no times or counters other
// than the rates (rounded).
func (s *Server) liveHealth(id string) healthMsg {
	h := healthMsg{Type: "health", State: "unknown"}
	var codec string
	for _, c := range s.d.Cameras() {
		if c.ID == id {
			codec = c.Codec
			if codec == "" {
				codec = string(c.Health.Codec)
			}
			h.State, h.Reason, h.Error = stateName(c.Health.State), string(c.Health.Reason), c.Health.Error
			h.FPSIn, h.FPSOut = roundRate(c.Health.FPSIn), roundRate(c.Health.FPSOut)
			break
		}
	}
	h.Mode = s.mode(id, codec)
	return h
}

// roundRate keeps a frame rate to whole frames so that jitter is not a
// change.
func roundRate(v float64) float64 {
	v = finite(v)
	return float64(int64(v + 0.5))
}
