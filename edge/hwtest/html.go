package hwtest

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
)

//go:embed report.html.tmpl
var reportTemplate string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"lower": func(v Verdict) string {
		switch v {
		case Fail:
			return "fail"
		case Warn:
			return "warn"
		}
		return "pass"
	},
	"ts":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"dur": func(d time.Duration) string { return d.Round(time.Second).String() },
	"f1":  func(x float64) string { return fmt.Sprintf("%.1f", x) },
	"f0":  func(x float64) string { return fmt.Sprintf("%.0f", x) },
}).Parse(reportTemplate))

// htmlCamera is a camera as the page draws it.
type htmlCamera struct {
	*CameraReport
	Check   []Check
	Verdict Verdict
	Boxes   []htmlBox
	// HistogramFile is the face-size histogram's PNG in the report
	// folder; empty when the camera saw no faces.
	HistogramFile string
}

type htmlBox struct {
	X, Y, W, H float32
	Class      string // small, marginal, good
	Label      string
	// Now marks a face of the snapshot itself, drawn solid and labelled;
	// the faces of other frames are drawn faintly to show where faces
	// appear in the scene.
	Now bool
}

// WriteHTML writes the report folder: index.html for people, report.json
// for machines, one JPEG snapshot per camera that delivered a picture and
// one PNG histogram of face sizes per camera that saw faces. The page is
// self-contained apart from the pictures beside it, so the
// folder can be copied off the box and opened anywhere. Snapshots show the
// people who passed the cameras, so the folder and its files are readable
// by their owner only.
func (r *Report) WriteHTML(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var cams []htmlCamera
	for i := range r.Cameras {
		c := &r.Cameras[i]
		if len(c.Snapshot) > 0 {
			c.SnapshotFile = "camera-" + safeName(c.ID) + ".jpg"
			if err := writeFile(filepath.Join(dir, c.SnapshotFile), c.Snapshot); err != nil {
				return err
			}
		}
		hc := htmlCamera{CameraReport: c, Verdict: Pass}
		for _, ch := range r.Checks {
			if ch.Section == "camera "+c.ID {
				hc.Check = append(hc.Check, ch)
				hc.Verdict = worst(hc.Verdict, ch.Verdict)
			}
		}
		// Sizes in the pixels faces are cut from, as the checks judge them.
		cs := c.sizeScale()
		for _, f := range c.Faces {
			iod := float64(f.IOD) * cs
			hc.Boxes = append(hc.Boxes, htmlBox{X: f.X, Y: f.Y, W: f.W, H: f.H, Class: sizeClass(iod), Label: fmt.Sprintf("%.0f px", iod)})
		}
		for _, f := range c.SnapshotFaces {
			iod := float64(f.IOD) * cs
			hc.Boxes = append(hc.Boxes, htmlBox{X: f.X, Y: f.Y, W: f.W, H: f.H, Class: sizeClass(iod), Label: fmt.Sprintf("%.0f px", iod), Now: true})
		}
		if len(c.Faces) > 0 {
			hist, err := histogramPNG(c.Faces, cs)
			if err != nil {
				return fmt.Errorf("report: camera %s: face sizes: %w", c.ID, err)
			}
			hc.HistogramFile = "faces-" + safeName(c.ID) + ".png"
			if err := writeFile(filepath.Join(dir, hc.HistogramFile), hist); err != nil {
				return err
			}
		}
		cams = append(cams, hc)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, struct {
		*Report
		Cams      []htmlCamera
		Good, Min float64
	}{Report: r, Cams: cams, Good: GoodInterOcular, Min: MinInterOcular}); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := writeFile(filepath.Join(dir, "index.html"), b.Bytes()); err != nil {
		return err
	}
	var j bytes.Buffer
	if err := r.WriteJSON(&j); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "report.json"), j.Bytes())
}

func sizeClass(iod float64) string {
	switch {
	case iod < MinInterOcular:
		return "small"
	case iod < GoodInterOcular:
		return "marginal"
	}
	return "good"
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

// writeFile writes through a temporary file and a rename, so a report
// folder never holds half a file.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// encodeJPEG encodes a BGR frame.
func encodeJPEG(img *recognizer.Image) ([]byte, error) {
	rgba := image.NewRGBA(image.Rect(0, 0, img.W, img.H))
	for i, j := 0, 0; i < len(img.Pix); i, j = i+3, j+4 {
		rgba.Pix[j], rgba.Pix[j+1], rgba.Pix[j+2], rgba.Pix[j+3] = img.Pix[i+2], img.Pix[i+1], img.Pix[i], 255
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, rgba, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
