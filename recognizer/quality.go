package recognizer

import (
	"fmt"
	"math"
	"strings"
)

// Quality says how usable a face is for identification and, when it is not,
// why. Guards and installers see the reason, so it is written for people.
type Quality struct {
	// Score in [0,1]: 1 is a sharp, frontal, well-sized face.
	Score float32
	// InterOcular distance in pixels of the source image.
	InterOcular float32
	// Sharpness is the variance of the Laplacian of the aligned grey chip.
	Sharpness float32
	// Yaw, Pitch and Roll are rough head angles in degrees from the landmarks.
	Yaw, Pitch, Roll float32
	// Reason is empty when the face is usable, else what is wrong.
	Reason string
}

// Usable reports whether the face passed every quality gate.
func (q Quality) Usable() bool { return q.Reason == "" }

// QualityPolicy holds the gates a face must pass to be used for matching or
// enrolment. Enrolment normally uses stricter values than live matching.
type QualityPolicy struct {
	MinInterOcular float32 // pixels
	MinSharpness   float32 // Laplacian variance on the aligned chip
	MaxYaw         float32 // degrees
	MaxPitch       float32
	MaxRoll        float32
	MinDetScore    float32
}

// DefaultMatchPolicy is used for live matching.
var DefaultMatchPolicy = QualityPolicy{
	MinInterOcular: 16, MinSharpness: 15, MaxYaw: 60, MaxPitch: 45, MaxRoll: 45, MinDetScore: 0.6,
}

// DefaultEnrolPolicy is stricter: a gallery template lives for years.
var DefaultEnrolPolicy = QualityPolicy{
	MinInterOcular: 40, MinSharpness: 30, MaxYaw: 30, MaxPitch: 25, MaxRoll: 30, MinDetScore: 0.8,
}

// EstimatePose returns rough yaw, pitch and roll in degrees from the five
// landmarks. Yaw comes from the nose's sideways offset from the eye-mouth
// midline, pitch from its height between eyes and mouth, roll from the eye
// line. Good enough to gate profiles; not a head-pose model.
func EstimatePose(lm [5]Point) (yaw, pitch, roll float32) {
	le, re, no := lm[LeftEye], lm[RightEye], lm[Nose]
	lmo, rmo := lm[LeftMouth], lm[RightMouth]
	ex, ey := float64(re.X-le.X), float64(re.Y-le.Y)
	roll = float32(math.Atan2(ey, ex) * 180 / math.Pi)
	// Undo roll so the rest is measured in the face's own frame.
	c, s := math.Cos(-float64(roll)*math.Pi/180), math.Sin(-float64(roll)*math.Pi/180)
	rot := func(p Point) (float64, float64) {
		x, y := float64(p.X-le.X), float64(p.Y-le.Y)
		return x*c - y*s, x*s + y*c
	}
	rex, _ := rot(re)
	nx, ny := rot(no)
	lmx, lmy := rot(lmo)
	rmx, rmy := rot(rmo)
	eyeMidX := rex / 2
	mouthMidX, mouthMidY := (lmx+rmx)/2, (lmy+rmy)/2
	midX := (eyeMidX + mouthMidX) / 2
	width := math.Max(math.Abs(rex), math.Abs(rmx-lmx))
	width = math.Max(width, 1)
	// The nose sits about 0.5 eye-distances in front of the face plane.
	r := (nx - midX) / (0.5 * width)
	r = math.Max(-1, math.Min(1, r))
	yaw = float32(math.Asin(r) * 180 / math.Pi)
	// Frontal faces put the nose tip about 55% of the way from eyes to mouth.
	h := math.Max(mouthMidY, 1)
	p := (ny/h - 0.55) / 0.35
	p = math.Max(-1, math.Min(1, p))
	pitch = float32(math.Asin(p) * 180 / math.Pi)
	return yaw, pitch, roll
}

// LaplacianVariance measures sharpness of a grey image (w*h bytes): the
// variance of the 4-neighbour Laplacian. Blurred faces score low.
func LaplacianVariance(gray []byte, w, h int) float32 {
	if w < 3 || h < 3 || len(gray) < w*h {
		return 0
	}
	var sum, sum2 float64
	n := 0
	for y := 1; y < h-1; y++ {
		row := gray[y*w:]
		up := gray[(y-1)*w:]
		dn := gray[(y+1)*w:]
		for x := 1; x < w-1; x++ {
			l := float64(int(up[x]) + int(dn[x]) + int(row[x-1]) + int(row[x+1]) - 4*int(row[x]))
			sum += l
			sum2 += l * l
			n++
		}
	}
	m := sum / float64(n)
	return float32(sum2/float64(n) - m*m)
}

// AssessQuality scores a face. sharpness is LaplacianVariance of the face's
// aligned grey chip (the engine computes it, having the chip at hand).
func AssessQuality(f Face, sharpness float32, p QualityPolicy) Quality {
	q := Quality{InterOcular: f.InterOcular(), Sharpness: sharpness}
	q.Yaw, q.Pitch, q.Roll = EstimatePose(f.Landmarks)
	var reasons []string
	if f.Score < p.MinDetScore {
		reasons = append(reasons, fmt.Sprintf("detector score %.2f below %.2f", f.Score, p.MinDetScore))
	}
	if q.InterOcular < p.MinInterOcular {
		reasons = append(reasons, fmt.Sprintf("face too small: %.0f px between the eyes, need %.0f", q.InterOcular, p.MinInterOcular))
	}
	if sharpness < p.MinSharpness {
		reasons = append(reasons, fmt.Sprintf("blurred: sharpness %.0f, need %.0f", sharpness, p.MinSharpness))
	}
	if abs32(q.Yaw) > p.MaxYaw {
		reasons = append(reasons, fmt.Sprintf("head turned %.0f°, limit %.0f°", q.Yaw, p.MaxYaw))
	}
	if abs32(q.Pitch) > p.MaxPitch {
		reasons = append(reasons, fmt.Sprintf("head tilted up/down %.0f°, limit %.0f°", q.Pitch, p.MaxPitch))
	}
	if abs32(q.Roll) > p.MaxRoll {
		reasons = append(reasons, fmt.Sprintf("head rolled %.0f°, limit %.0f°", q.Roll, p.MaxRoll))
	}
	q.Reason = strings.Join(reasons, "; ")
	// Each factor maps to [0,1]; the product punishes any one weak factor.
	size := clamp01((q.InterOcular - p.MinInterOcular/2) / (2 * p.MinInterOcular))
	sharp := clamp01(sharpness / (4 * max(p.MinSharpness, 1)))
	pose := clamp01(1-(abs32(q.Yaw)/90)*(abs32(q.Yaw)/90)) * clamp01(1-abs32(q.Pitch)/90)
	q.Score = size * (0.5 + 0.5*sharp) * pose * clamp01(f.Score)
	return q
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func clamp01(x float32) float32 { return max(0, min(1, x)) }

// BoxSharpness is LaplacianVariance of a face's box resampled to a
// side x side grey square (bilinear), for engines that do not align a chip
// of their own (dlib's descriptors come from its own chip, out of reach).
// It is a stand-in for the aligned chip's sharpness: the box holds about
// the same part of the face, at the same size, as the 112 px chip the
// OpenCV engine measures.
func BoxSharpness(img *Image, box Rect, side int) float32 {
	if img == nil || side < 3 || box.W < 2 || box.H < 2 {
		return 0
	}
	gray := make([]byte, side*side)
	at := func(x, y int) float64 {
		x, y = max(0, min(img.W-1, x)), max(0, min(img.H-1, y))
		p := img.Pix[(y*img.W+x)*3:]
		// ITU-R BT.601 luma from BGR.
		return 0.114*float64(p[0]) + 0.587*float64(p[1]) + 0.299*float64(p[2])
	}
	for j := range side {
		fy := float64(box.Y) + (float64(j)+0.5)*float64(box.H)/float64(side) - 0.5
		y0 := int(math.Floor(fy))
		wy := fy - float64(y0)
		for i := range side {
			fx := float64(box.X) + (float64(i)+0.5)*float64(box.W)/float64(side) - 0.5
			x0 := int(math.Floor(fx))
			wx := fx - float64(x0)
			v := (1-wy)*((1-wx)*at(x0, y0)+wx*at(x0+1, y0)) + wy*((1-wx)*at(x0, y0+1)+wx*at(x0+1, y0+1))
			gray[j*side+i] = byte(max(0, min(255, math.Round(v))))
		}
	}
	return LaplacianVariance(gray, side, side)
}
