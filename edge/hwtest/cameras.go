package hwtest

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/internal/backoff"
	"github.com/dozor-edge/dozor/internal/stats"
	"github.com/dozor-edge/dozor/recognizer"
)

// Face sizes, as inter-ocular distance in pixels of the picture the
// recognizer cuts faces from (CameraReport.SizeScale).
var (
	// MinInterOcular is the size below which the daemon does not even try
	// to identify a face: the usability gate's limit, which the worker
	// checks before anything else (recognizer.DefaultUsablePolicy).
	MinInterOcular = float64(recognizer.DefaultUsablePolicy.MinInterOcular)
)

// GoodInterOcular is the size identification needs to be reliable: the
// embedders' 112-pixel chips hold the eyes about 35 pixels apart, so a
// smaller face is enlarged into its chip and loses detail that no model
// recovers.
const GoodInterOcular = 32.0

// maxFacesKept bounds the faces a report keeps per camera (the overlay
// and the JSON); the percentiles use them all.
const maxFacesKept = 300

// CameraReport is one camera as the hardware test saw it.
type CameraReport struct {
	ID   string `json:"id"`
	URL  string `json:"url"` // password replaced by ***
	Zone string `json:"zone,omitempty"`

	Streaming bool   `json:"streaming"`
	State     string `json:"state"`
	Reason    string `json:"reason,omitempty"`
	Error     string `json:"error,omitempty"`

	Codec       string  `json:"codec,omitempty"`
	Width       int     `json:"width,omitempty"` // the camera's picture
	Height      int     `json:"height,omitempty"`
	FPS         float64 `json:"fps"` // pictures decoded per second
	Packets     uint64  `json:"packets"`
	PacketsLost uint64  `json:"packets_lost"`
	DecodeErrs  uint64  `json:"decode_errors"`
	// DecodeCores is the share of one core that decoding this stream
	// takes; DecodePicture the time per picture (decode and scaling).
	DecodeCores   float64       `json:"decode_cores"`
	DecodePicture time.Duration `json:"decode_per_picture_ns"`

	// FrameW x FrameH is the frame the recognizer works on; Sampled how
	// many it analysed over Seconds.
	FrameW  int     `json:"frame_width,omitempty"`
	FrameH  int     `json:"frame_height,omitempty"`
	Sampled int     `json:"frames_analysed"`
	Seconds float64 `json:"seconds"`
	// FaceCount is every face detected; Faces the first maxFacesKept,
	// in frame pixels.
	FaceCount int        `json:"face_count"`
	Faces     []FaceSeen `json:"faces"`
	// SizeScale is how many pixels of the picture the daemon cuts faces
	// from one frame pixel spans (1 without recognizer.chip_max_side):
	// face sizes are judged, drawn and counted in those pixels.
	SizeScale float64 `json:"size_scale,omitempty"`
	// Inter-ocular distances in frame pixels over every face seen.
	IODMedian float64 `json:"iod_median"`
	IODP90    float64 `json:"iod_p90"`
	IODMax    float64 `json:"iod_max"`

	// Snapshot is a JPEG of a frame (the one with the largest face) at the
	// recognizer's resolution; SnapshotFile its name in the report folder.
	Snapshot     []byte `json:"-"`
	SnapshotFile string `json:"snapshot,omitempty"`
	// SnapshotFaces are the faces in the snapshot's own frame.
	SnapshotFaces []FaceSeen `json:"snapshot_faces,omitempty"`
}

// FaceSeen is one detected face, in frame pixels.
type FaceSeen struct {
	X   float32 `json:"x"`
	Y   float32 `json:"y"`
	W   float32 `json:"w"`
	H   float32 `json:"h"`
	IOD float32 `json:"iod"`
}

// chipScale is how many pixels of the picture the daemon cuts this
// camera's faces from one detection-frame pixel spans: 1 without
// recognizer.chip_max_side, else the camera's picture bounded by that
// side, over the detection frame.
func (t *tester) chipScale(c *CameraReport) float64 {
	side, frame := t.cfg.Recognizer.ChipMaxSide, max(c.FrameW, c.FrameH)
	native := max(c.Width, c.Height)
	if side <= 0 || frame == 0 || native <= frame {
		return 1
	}
	return float64(min(native, side)) / float64(frame)
}

// scale is camera pixels per frame pixel.
func (c *CameraReport) scale() float64 {
	if c.FrameW == 0 || c.Width == 0 {
		return 1
	}
	return float64(c.Width) / float64(c.FrameW)
}

// camRun is one camera under test.
type camRun struct {
	rep    *CameraReport
	cam    *camera.Camera
	dec    decodeMeter
	cancel context.CancelFunc

	mu        sync.Mutex
	iods      []float64
	bestFaces int
	bestIOD   float32
	snapFrame *recognizer.Image
	lastFrame *recognizer.Image
	streamAt  time.Time
	done      atomic.Bool
}

// decodeMeter adds up the time decoders spend, per camera.
type decodeMeter struct {
	ns       atomic.Int64
	pictures atomic.Int64
}

type timedDecoder struct {
	camera.Decoder
	m *decodeMeter
}

func (d timedDecoder) Decode(au [][]byte, pts int64) (int, camera.Picture, error) {
	t0 := time.Now()
	n, p, err := d.Decoder.Decode(au, pts)
	d.m.ns.Add(int64(time.Since(t0)))
	d.m.pictures.Add(int64(n))
	return n, p, err
}

func (d timedDecoder) Convert(dst []byte, w, h int) error {
	t0 := time.Now()
	err := d.Decoder.Convert(dst, w, h)
	d.m.ns.Add(int64(time.Since(t0)))
	return err
}

// cameras streams every configured camera at once, as the daemon would,
// for the sampling duration, running detection on the frames with the
// given engines (one per worker goroutine).
func (t *tester) cameras(ctx context.Context, r *Report, engs []recognizer.Engine) {
	if len(t.cfg.Cameras) == 0 {
		r.add(Check{Section: "cameras", Name: "configured", Verdict: Warn, Value: "no camera in the configuration",
			Fix: "add the cameras to the configuration (cameras: id, url, credentials_file) and run the test again"})
		return
	}
	t.noDetect = len(engs) == 0
	latest := camera.NewLatest()
	r.Cameras = make([]CameraReport, len(t.cfg.Cameras))
	runs := make([]*camRun, len(t.cfg.Cameras))
	for i, cc := range t.cfg.Cameras {
		r.Cameras[i] = CameraReport{ID: cc.ID, Zone: cc.Zone, URL: camera.Redact(cc.URL)}
		run := &camRun{rep: &r.Cameras[i]}
		runs[i] = run
		ccfg, err := t.cfg.CameraConfig(cc)
		if err != nil {
			r.add(Check{Section: "camera " + cc.ID, Name: "credentials", Verdict: Fail, Value: err.Error(),
				Fix: fmt.Sprintf("make %s readable by this user, holding one line user:password", cc.CredentialsFile)})
		}
		// An installer waits for the verdict: retry soon after a failure
		// instead of the daemon's patient backoff.
		ccfg.Backoff = backoff.Policy{Min: 500 * time.Millisecond, Max: 2 * time.Second}
		if t.opt.Camera != nil {
			t.opt.Camera(&ccfg)
		}
		factory := t.opt.Decoders
		cam, err := camera.New(ccfg, camera.Options{
			Logger: slog.New(slog.DiscardHandler),
			Out:    latest,
			Decoders: func(c camera.Codec) (camera.Decoder, error) {
				d, err := factory(c)
				if err != nil {
					return nil, err
				}
				return timedDecoder{Decoder: d, m: &run.dec}, nil
			},
		})
		if err != nil {
			run.rep.State, run.rep.Error = "invalid", err.Error()
			run.done.Store(true)
			continue
		}
		run.cam = cam
	}
	byID := map[string]*camRun{}
	for _, run := range runs {
		byID[run.rep.ID] = run
	}

	camCtx, stopCams := context.WithCancel(ctx)
	defer stopCams()
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	var camG, workG errgroup.Group
	for _, run := range runs {
		if run.cam == nil {
			continue
		}
		cctx, cancel := context.WithCancel(camCtx)
		run.cancel = cancel
		camG.Go(func() error { return run.cam.Run(cctx) })
	}
	if len(engs) == 0 {
		workG.Go(func() error {
			for {
				f, err := latest.Next(workCtx)
				if err != nil {
					return nil
				}
				f.Release()
			}
		})
	}
	for _, eng := range engs {
		workG.Go(func() error {
			for {
				f, err := latest.Next(workCtx)
				if err != nil {
					return nil
				}
				if run := byID[f.Camera]; run != nil {
					run.observe(eng, f)
				}
				f.Release()
			}
		})
	}

	t.watch(ctx, runs)
	stopCams()
	_ = camG.Wait()
	stopWork()
	_ = workG.Wait()

	for _, run := range runs {
		run.finish(t)
		t.cameraChecks(r, run.rep)
	}
}

// watch waits until every camera has either streamed for the sampling
// duration or failed to stream within the connection wait, showing
// progress, and stops each camera as soon as it is done.
func (t *tester) watch(ctx context.Context, runs []*camRun) {
	start := t.now()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		pending := 0
		for _, run := range runs {
			if run.done.Load() {
				continue
			}
			h := run.cam.Health()
			now := t.now()
			run.mu.Lock()
			if h.State == camera.StateStreaming && run.streamAt.IsZero() {
				run.streamAt = now
			}
			streamAt := run.streamAt
			run.mu.Unlock()
			switch {
			case !streamAt.IsZero() && now.Sub(streamAt) >= t.opt.Duration:
				run.stop()
			case streamAt.IsZero() && now.Sub(start) >= t.opt.ConnectWait:
				run.stop()
			case streamAt.IsZero() && (h.State == camera.StateFailed) && now.Sub(start) >= t.opt.ConnectWait/4:
				// 401, 404, wrong codec: waiting changes nothing.
				run.stop()
			default:
				pending++
			}
		}
		elapsed := t.now().Sub(start)
		t.progress(fmt.Sprintf("cameras: %d of %d still sampling (%s of up to %s)", pending, len(runs),
			elapsed.Round(time.Second), (t.opt.ConnectWait + t.opt.Duration).Round(time.Second)))
		if pending == 0 {
			return
		}
		select {
		case <-ctx.Done():
			for _, run := range runs {
				run.stop()
			}
			return
		case <-tick.C:
		}
	}
}

func (run *camRun) stop() {
	if run.done.CompareAndSwap(false, true) {
		run.mu.Lock()
		if !run.streamAt.IsZero() {
			run.rep.Seconds = time.Since(run.streamAt).Seconds()
		}
		run.mu.Unlock()
		// The health is read before the session is torn down, so the
		// report shows the stream as it was.
		run.snapshotHealth()
		if run.cancel != nil {
			run.cancel()
		}
	}
}

// observe detects the faces of one frame and keeps what the report needs.
func (run *camRun) observe(eng recognizer.Engine, f *camera.Frame) {
	if run.done.Load() {
		return
	}
	img := &recognizer.Image{W: f.W, H: f.H, Pix: f.Pix}
	faces, err := eng.Detect(img)
	if err != nil {
		return
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	run.rep.Sampled++
	run.rep.FrameW, run.rep.FrameH = f.W, f.H
	var big float32
	seen := make([]FaceSeen, 0, len(faces))
	for _, fc := range faces {
		iod := fc.InterOcular()
		big = max(big, iod)
		run.iods = append(run.iods, float64(iod))
		run.rep.FaceCount++
		fs := FaceSeen{X: fc.Box.X, Y: fc.Box.Y, W: fc.Box.W, H: fc.Box.H, IOD: iod}
		seen = append(seen, fs)
		if len(run.rep.Faces) < maxFacesKept {
			run.rep.Faces = append(run.rep.Faces, fs)
		}
	}
	// The snapshot is the frame with the largest face: it shows the best
	// the camera does, which is what the face-size verdict is about.
	if big > run.bestIOD || (big == run.bestIOD && len(faces) > run.bestFaces) {
		run.bestFaces, run.bestIOD = len(faces), big
		run.snapFrame = copyImage(img, run.snapFrame)
		run.rep.SnapshotFaces = seen
	} else if run.bestFaces == 0 {
		run.lastFrame = copyImage(img, run.lastFrame)
	}
}

func copyImage(src, dst *recognizer.Image) *recognizer.Image {
	if dst == nil || len(dst.Pix) != len(src.Pix) {
		dst = &recognizer.Image{Pix: make([]byte, len(src.Pix))}
	}
	dst.W, dst.H = src.W, src.H
	copy(dst.Pix, src.Pix)
	return dst
}

// snapshotHealth copies the camera's stream description into the report.
func (run *camRun) snapshotHealth() {
	h := run.cam.Health()
	rep := run.rep
	rep.State = h.State.String()
	rep.Streaming = !run.streamAt.IsZero()
	rep.Reason, rep.Error = string(h.Reason), h.Error
	if rep.Streaming {
		rep.Reason, rep.Error = "", ""
	}
	rep.Codec = string(h.Codec)
	rep.Width, rep.Height = h.Width, h.Height
	rep.FPS = h.FPSIn
	rep.Packets, rep.PacketsLost, rep.DecodeErrs = h.Packets, h.PacketsLost, h.DecodeErrors
}

// finish computes the figures once the camera has stopped.
func (run *camRun) finish(t *tester) {
	run.mu.Lock()
	defer run.mu.Unlock()
	rep := run.rep
	if rep.Seconds > 0 {
		ns := run.dec.ns.Load()
		rep.DecodeCores = float64(ns) / 1e9 / rep.Seconds
		if n := run.dec.pictures.Load(); n > 0 {
			rep.DecodePicture = time.Duration(ns / n)
		}
	}
	if len(run.iods) > 0 {
		slices.Sort(run.iods)
		rep.IODMedian = stats.Percentile(run.iods, 0.5)
		rep.IODP90 = stats.Percentile(run.iods, 0.9)
		rep.IODMax = run.iods[len(run.iods)-1]
	}
	frame := run.snapFrame
	if frame == nil {
		frame = run.lastFrame
	}
	if frame != nil {
		if b, err := encodeJPEG(frame); err == nil {
			rep.Snapshot = b
		}
	}
}

// cameraChecks turns one camera's report into checks.
func (t *tester) cameraChecks(r *Report, c *CameraReport) {
	sec := "camera " + c.ID
	if !c.Streaming {
		r.add(Check{Section: sec, Name: "stream", Verdict: Fail, Value: notStreamingValue(c), Fix: streamFix(c)})
		return
	}
	detectFPS := t.detectFPS(c.ID)
	st := Check{Section: sec, Name: "stream", Verdict: Pass,
		Value: fmt.Sprintf("%s %dx%d at %.1f fps", c.Codec, c.Width, c.Height, c.FPS)}
	lost := 0.0
	if c.Packets > 0 {
		lost = float64(c.PacketsLost) / float64(c.Packets+c.PacketsLost)
	}
	switch {
	case c.FPS > 0 && c.FPS < detectFPS:
		st.Verdict = Warn
		st.Fix = fmt.Sprintf("the camera sends %.1f pictures per second, fewer than the %.0f the recognizer analyses: raise the camera's frame rate to at least 10", c.FPS, detectFPS)
	case lost > 0.01:
		st.Verdict = Warn
		st.Value += fmt.Sprintf(", %.1f%% packets lost", 100*lost)
		st.Fix = "packets are lost on the way: use transport: tcp for this camera, check the cabling and the switch, or lower the camera's bit rate"
	case max(c.Width, c.Height) < t.cfg.Models.DetectionSize:
		st.Verdict = Warn
		st.Fix = fmt.Sprintf("the picture is smaller than models.detection_size (%d): use the camera's main stream, not a sub-stream", t.cfg.Models.DetectionSize)
	}
	r.add(st)

	dc := Check{Section: sec, Name: "decode", Verdict: Pass,
		Value: fmt.Sprintf("%.2f core (%s per picture)", c.DecodeCores, ms(c.DecodePicture))}
	if c.DecodeErrs > 0 {
		dc.Value += fmt.Sprintf(", %d pictures with errors", c.DecodeErrs)
	}
	switch {
	case c.DecodeCores > 0.5:
		dc.Verdict = Warn
		dc.Fix = "decoding this stream takes over half a core: lower the camera's resolution or frame rate (1080p at 10-15 fps is plenty), or use H.264 rather than H.265"
	case c.DecodeErrs > 0 && c.Sampled > 0 && float64(c.DecodeErrs) > 0.02*c.FPS*c.Seconds:
		dc.Verdict = Warn
		dc.Fix = "many pictures arrive damaged: use transport: tcp, check the network, or lower the camera's bit rate"
	}
	r.add(dc)
	if t.noDetect {
		r.add(Check{Section: sec, Name: "face size", Verdict: Warn, Value: "not measured: no recognition engine loaded",
			Fix: "fix the models check above, then run the test again"})
		return
	}
	c.SizeScale = t.chipScale(c)
	r.add(t.faceCheck(c))
}

// sizeScale is SizeScale, 1 when unset.
func (c *CameraReport) sizeScale() float64 {
	if c.SizeScale > 0 {
		return c.SizeScale
	}
	return 1
}

func (t *tester) detectFPS(id string) float64 {
	for _, cc := range t.cfg.Cameras {
		if cc.ID == id && cc.DetectFPS > 0 {
			return cc.DetectFPS
		}
	}
	return t.cfg.Recognizer.DetectFPS
}

// faceCheck compares the faces seen with what identification needs. The
// 90th percentile stands for the faces the tracker will decide on: people
// are identified where they come closest, not at their smallest.
func (t *tester) faceCheck(c *CameraReport) Check {
	ch := Check{Section: "camera " + c.ID, Name: "face size", Verdict: Pass}
	if c.FaceCount == 0 {
		ch.Verdict = Warn
		ch.Value = fmt.Sprintf("no face seen in %.0f s (%d frames analysed)", c.Seconds, c.Sampled)
		ch.Fix = "run the test while people pass this camera; aim it where people face it (eye level, within 30° of their walking direction)"
		return ch
	}
	// Sizes are judged in the pixels faces are cut from, as the daemon's
	// usability gate judges them: the detection frame's, or the camera's
	// own picture's with recognizer.chip_max_side.
	cs := c.sizeScale()
	p90 := c.IODP90 * cs
	where := "the detection frame"
	if cs > 1 {
		where = fmt.Sprintf("the pictures faces are cut from (recognizer.chip_max_side %d)", t.cfg.Recognizer.ChipMaxSide)
	}
	ch.Value = fmt.Sprintf("%d faces in %.0f s; between the eyes p90 %.0f px, max %.0f px in %s (%.0f px in the camera's %dx%d); needs %.0f px",
		c.FaceCount, c.Seconds, p90, c.IODMax*cs, where, c.IODP90*c.scale(), c.Width, c.Height, GoodInterOcular)
	if p90 >= GoodInterOcular {
		return ch
	}
	if p90 < MinInterOcular {
		ch.Verdict = Fail
	} else {
		ch.Verdict = Warn
	}
	factor := GoodInterOcular / p90
	fix := fmt.Sprintf("faces are too small to identify reliably: they must appear %.1f times larger. Zoom the lens in or mount the camera closer to where people pass", factor)
	// A camera picture larger than the one faces are cut from holds more
	// detail than the recognizer uses. Cutting faces from the camera's
	// own picture recovers it for the price of the faces it makes usable;
	// a larger detection frame recovers it for every frame's detection.
	native := float64(max(c.Width, c.Height))
	if full := c.IODP90 * c.scale(); full > p90 {
		if full >= GoodInterOcular {
			fix += fmt.Sprintf(", or set recognizer.chip_max_side to %d: faces cut from the camera's own picture measure %.0f px there (each face it makes usable is embedded, see the capacity check)",
				int(native), full)
		} else {
			fix += fmt.Sprintf("; cut from the camera's own picture (recognizer.chip_max_side %d) they measure %.0f px, which is not enough alone", int(native), full)
		}
	}
	if cs == 1 && native > float64(t.cfg.Models.DetectionSize) {
		want := int(float64(t.cfg.Models.DetectionSize)*factor+31) / 32 * 32
		if float64(want) <= native {
			fix += fmt.Sprintf(", or raise models.detection_size from %d to %d (detection then costs about %.0fx as much, see the capacity check)",
				t.cfg.Models.DetectionSize, want, factor*factor)
		} else {
			fix += fmt.Sprintf("; models.detection_size %d can rise to the camera's %d, which is not enough alone", t.cfg.Models.DetectionSize, int(native))
		}
	}
	ch.Fix = fix
	return ch
}

func notStreamingValue(c *CameraReport) string {
	if c.Reason == "" {
		if c.Error != "" {
			return c.Error
		}
		return fmt.Sprintf("no picture (state %s)", c.State)
	}
	if c.Error != "" {
		return fmt.Sprintf("%s: %s", c.Reason, c.Error)
	}
	return c.Reason
}

// streamFix says what an installer does about a camera that does not
// stream, by the reason the camera package classified.
func streamFix(c *CameraReport) string {
	host := c.URL
	if u, err := url.Parse(c.URL); err == nil {
		host = u.Host
	}
	switch camera.Reason(c.Reason) {
	case camera.ReasonUnreachable:
		return fmt.Sprintf("nothing answers at %s: check the camera's power and cable, its IP address (ping it from this box) and that RTSP is enabled on that port (554 by default)", host)
	case camera.ReasonUnauthorized:
		return "the camera refused the user name or password: put the camera's RTSP user:password on one line in the camera's credentials_file"
	case camera.ReasonForbidden:
		return "the camera's user may not stream: allow RTSP (live view) for this user in the camera's web interface"
	case camera.ReasonNotFound:
		return "the camera has no stream at this path: copy the RTSP URL from the camera's manual or web interface (main stream)"
	case camera.ReasonUnsupportedCodec:
		return "set the camera's video encoding to H.264 (or H.265) in its web interface; MJPEG and others are not decoded"
	case camera.ReasonNoPackets:
		return "the camera accepted the session but sent no video: a firewall may block RTP over UDP, use transport: tcp"
	case camera.ReasonNoPictures:
		return "video arrives but no picture decodes: check the camera's encoder settings (H.264 main or high profile, key frame every 1-2 s)"
	case camera.ReasonTimeout, camera.ReasonDisconnected, camera.ReasonProtocol, camera.ReasonStatus:
		return fmt.Sprintf("the camera at %s does not hold an RTSP session: update its firmware, check the URL, and try transport: tcp", host)
	case camera.ReasonDecoder:
		return "the decoder could not be opened: reinstall the FFmpeg runtime libraries (libavcodec)"
	}
	return fmt.Sprintf("no picture within the wait: check that %s is the camera's RTSP URL and that the camera is on", c.URL)
}
