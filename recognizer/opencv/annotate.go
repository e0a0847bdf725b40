package opencv

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"

	"github.com/dozor-edge/dozor/recognizer"
)

var (
	usableColor   = color.RGBA{0, 200, 0, 0}
	unusableColor = color.RGBA{0, 140, 255, 0} // orange in BGR
	landmarkColor = []color.RGBA{{255, 0, 0, 0}, {0, 0, 255, 0}, {0, 255, 0, 0}, {255, 0, 255, 0}, {0, 255, 255, 0}}
)

// Annotate draws each face's box, five landmarks and a label (index,
// detector score, quality score, eye distance; the reason when unusable)
// on a copy of img, for a person checking what the detector sees.
func Annotate(img *recognizer.Image, faces []recognizer.Face) (*recognizer.Image, error) {
	m, err := toMat(img)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	thick := max(1, int(math.Round(float64(max(img.W, img.H))/500)))
	fontScale := math.Max(0.4, float64(max(img.W, img.H))/1400)
	for i, f := range faces {
		c := usableColor
		if !f.Quality.Usable() {
			c = unusableColor
		}
		r := image.Rect(int(f.Box.X), int(f.Box.Y), int(f.Box.X+f.Box.W), int(f.Box.Y+f.Box.H))
		gocv.Rectangle(&m, r, c, thick)
		for j, p := range f.Landmarks {
			gocv.Circle(&m, image.Pt(int(p.X), int(p.Y)), thick+1, landmarkColor[j], -1)
		}
		label := fmt.Sprintf("#%d det %.2f q %.2f iod %.0f", i, f.Score, f.Quality.Score, f.Quality.InterOcular)
		y := max(r.Min.Y-4, int(14*fontScale))
		gocv.PutText(&m, label, image.Pt(r.Min.X, y), gocv.FontHersheySimplex, fontScale, color.RGBA{}, thick+2)
		gocv.PutText(&m, label, image.Pt(r.Min.X, y), gocv.FontHersheySimplex, fontScale, c, thick)
	}
	return fromMat(m)
}

// EncodeJPEG compresses a BGR image.
func EncodeJPEG(img *recognizer.Image, quality int) ([]byte, error) {
	m, err := toMat(img)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, []int{gocv.IMWriteJpegQuality, quality})
	if err != nil {
		return nil, err
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...), nil
}
