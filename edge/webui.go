package edge

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/live"
	"github.com/dozor-edge/dozor/edge/enroll"
	"github.com/dozor-edge/dozor/edge/monitor"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webauth"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
	"github.com/dozor-edge/dozor/recognizer/track"
	"github.com/dozor-edge/dozor/sync/wire"
)

// The guard-post monitor is served on the daemon's HTTP port beside
// /healthz and /metrics. This file is the daemon's side of it: what the
// monitor is handed (monitor.Deps) and how the pipeline feeds its live
// views without waiting on any browser.

// liveQueue is what the monitor's event hub buffers per browser.
const liveQueue = 256

// newMonitor builds the monitor over the daemon's parts. It runs no
// goroutine of its own: its handlers run on the HTTP server's.
func (d *Daemon) newMonitor() (*monitor.Server, error) {
	accounts, err := monitor.NewAccounts(d.st, webauth.Config{
		IdleTimeout: d.cfg.HTTP.SessionIdle, AbsoluteTimeout: d.cfg.HTTP.SessionMax,
		Secure: d.cfg.HTTP.TLS(), Logger: d.log.With("component", "accounts"),
	})
	if err != nil {
		return nil, err
	}
	return monitor.New(monitor.Deps{
		Store:     d.st,
		Accounts:  accounts,
		Site:      monitor.Site{Region: d.cfg.Site.Region, ID: d.cfg.Site.ID, Name: d.cfg.Site.Name},
		Cameras:   d.cameraStates,
		Live:      d.liveHub,
		Snapshot:  d.snaps.jpeg,
		Events:    d.events,
		Recognize: d.interactive.recognize,
		Decode:    d.deps.Decode,
		Enroll:    d.enrol,
		Decide:    d.decide,
		Reload:    d.Reload,
		TLS:       d.cfg.HTTP.TLS(),
		Logger:    d.log.With("component", "monitor"),
	})
}

// warnPlainHTTP says at start when the monitor, which shows faces and
// names, is reachable beyond this machine without TLS.
func (d *Daemon) warnPlainHTTP(addr net.Addr) {
	if d.cfg.HTTP.TLS() {
		return
	}
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		return
	}
	d.log.Warn("the guard-post monitor listens beyond loopback WITHOUT TLS: logins and faces cross the network in clear; set http.cert_file and http.key_file",
		"listen", addr.String())
}

// cameraStates is each camera's codec and health for the monitor.
func (d *Daemon) cameraStates() []monitor.CameraState {
	out := make([]monitor.CameraState, 0, len(d.cams))
	for i, c := range d.cams {
		h := c.Health()
		codec := ""
		if hub := d.hubs[i]; hub != nil {
			codec = hub.Codec()
		}
		out = append(out, monitor.CameraState{ID: c.ID(), Codec: codec, Health: h})
	}
	return out
}

// liveHub is the live video of a camera, nil for one the daemon does not
// run.
func (d *Daemon) liveHub(id string) *live.Hub {
	for i, c := range d.cams {
		if c.ID() == id {
			return d.hubs[i]
		}
	}
	return nil
}

// stored publishes a sighting or alert now on disk to the browsers.
func (d *Daemon) stored(kind, id, cam string) {
	t := monitor.EventSighting
	if kind == "alert" {
		t = monitor.EventAlert
	}
	d.events.Publish(monitor.Event{Type: t, ID: id, Camera: cam})
}

// seen publishes the faces of an analysed frame, boxes normalised to the
// frame, to the live views of its camera.
func (d *Daemon) seen(cam string, at time.Time, w, h int, tracks []track.Visible) {
	if w <= 0 || h <= 0 {
		return
	}
	names := d.names.Load()
	bf := &monitor.BoxFrame{Camera: cam, Wall: at, W: w, H: h, Faces: make([]monitor.Box, 0, len(tracks))}
	for _, v := range tracks {
		if !v.Confirmed {
			continue // a tentative track may be a false detection
		}
		b := monitor.Box{
			X: float64(v.Box.X) / float64(w), Y: float64(v.Box.Y) / float64(h),
			W: float64(v.Box.W) / float64(w), H: float64(v.Box.H) / float64(h),
			Track: uint64(v.Track), Person: v.PersonID, Score: v.Score, Known: v.PersonID != "",
		}
		if b.Known && names != nil {
			b.Name = (*names)[v.PersonID]
		}
		if b.Known && b.Name == "" {
			b.Name = v.PersonID
		}
		bf.Faces = append(bf.Faces, b)
	}
	d.events.Publish(monitor.Event{Type: monitor.EventBoxes, Camera: cam, Boxes: bf})
}

// loadNames refreshes the display names shown over the video.
func (d *Daemon) loadNames(ctx context.Context) {
	ps, err := d.st.Persons(ctx)
	if err != nil {
		d.log.Warn("person names for the live view", "err", err)
		return
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.ID] = p.DisplayName
	}
	d.names.Store(&m)
}

// decide stores a guard's decision on an alert with the message that
// tells the region, in one transaction, and wakes the uplink.
func (d *Daemon) decide(ctx context.Context, dec store.AlertDecision) error {
	aid, err := wire.ParseID(dec.AlertID)
	if err != nil {
		return fmt.Errorf("%w: alert id %q is not a UUID", store.ErrInvalid, dec.AlertID)
	}
	id, err := wire.NewID()
	if err != nil {
		return err
	}
	if dec.At.IsZero() {
		dec.At = time.Now()
	}
	dec.At = dec.At.UTC().Truncate(time.Millisecond)
	_, err = d.st.DecideAlert(ctx, dec, func(seq uint64) (store.OutboxMessage, error) {
		m := wire.AlertDecision{ID: id, Seq: seq, Site: d.cfg.Site.ID, Alert: aid, Decision: string(dec.Decision),
			By: dec.Actor, At: dec.At, Note: dec.Note}
		if err := m.Validate(); err != nil {
			return store.OutboxMessage{}, err
		}
		b, err := m.MarshalJSON()
		if err != nil {
			return store.OutboxMessage{}, err
		}
		return store.OutboxMessage{Topic: d.decisionTopic, Payload: b}, nil
	})
	if err != nil {
		return err
	}
	d.up.Notify()
	return nil
}

// enrol enrols uploaded photos of one person with the interactive engine
// and asks for the gallery to be rebuilt.
func (d *Daemon) enrol(ctx context.Context, actor string, p enroll.Profile, photos []monitor.Upload) ([]enroll.Result, error) {
	var out []enroll.Result
	err := d.interactive.with(func(eng recognizer.Engine) error {
		e, err := enroll.New(ctx, d.st, eng, enroll.Options{
			Actor: actor, Facility: d.cfg.Site.ID,
			Decode: func(b []byte) (*recognizer.Image, error) { return d.deps.Decode(b, enrolMaxSide) },
		})
		if err != nil {
			return err
		}
		for _, ph := range photos {
			r, err := e.Add(ctx, enroll.Item{Profile: p, Path: ph.Name, Data: ph.Data})
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.Reload()
	return out, nil
}

// enrolMaxSide bounds the photos enrolled from the monitor, as edgectl
// enroll does.
const enrolMaxSide = 1280

// interactive is the engine behind the monitor's requests (enrolment, a
// search by photo), apart from the workers' so a supervisor never takes
// recognition away from the cameras. It is built on first use and used by
// one request at a time.
type interactive struct {
	build   func() (recognizer.Engine, error)
	gallery *gallery.Holder
	mu      sync.Mutex
	eng     recognizer.Engine
}

func (i *interactive) with(f func(recognizer.Engine) error) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.eng == nil {
		eng, err := i.build()
		if err != nil {
			return fmt.Errorf("recognition engine: %w", err)
		}
		i.eng = eng
	}
	return f(i.eng)
}

func (i *interactive) close() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.eng != nil {
		i.eng.Close()
		i.eng = nil
	}
}

// recognize finds every face of img and matches each usable one against
// the gallery.
func (i *interactive) recognize(ctx context.Context, img *recognizer.Image) ([]monitor.FaceResult, error) {
	var out []monitor.FaceResult
	err := i.with(func(eng recognizer.Engine) error {
		faces, embs, err := eng.Recognize(img, func(f recognizer.Face) bool { return f.Quality.Usable() })
		if err != nil {
			return err
		}
		snap := i.gallery.Load()
		for k, f := range faces {
			r := monitor.FaceResult{Box: f.Box, Quality: f.Quality.Score, Usable: f.Quality.Usable(), Reason: f.Quality.Reason}
			if k < len(embs) && len(embs[k].Vec) > 0 && snap != nil && snap.Len() > 0 {
				ms, err := snap.Search(embs[k], searchK)
				if err != nil {
					return err
				}
				for _, m := range ms {
					r.Matches = append(r.Matches, monitor.Match{Person: m.PersonID, Score: m.Score})
				}
			}
			out = append(out, r)
		}
		return ctx.Err()
	})
	return out, err
}

var _ camera.LiveSink = (*live.Hub)(nil)
