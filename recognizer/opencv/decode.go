package opencv

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registered so DecodeConfig can name the format
	_ "image/jpeg"
	_ "image/png"

	"gocv.io/x/gocv"
	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"

	"github.com/dozor-edge/dozor/recognizer"
)

// Limits on what DecodeImage accepts. A photo larger than MaxPixels is
// refused before any pixel is decoded; one larger than the caller's max side
// is decoded at reduced resolution (JPEG decodes straight to 1/2, 1/4 or 1/8
// size) so an 8000x8000 upload never costs a 192 MB buffer twice.
const (
	MaxPixels   = 120_000_000
	MaxSideHard = 20_000
)

// ErrBadImage marks every decoding failure so callers can tell bad input
// from engine trouble.
var ErrBadImage = errors.New("bad image")

// DecodeImage decodes a JPEG, PNG, BMP or WebP photo into BGR, whatever its
// channels (grey, alpha and palette images become 3-channel BGR). When
// maxSide > 0 the result's longest side is at most maxSide.
func DecodeImage(data []byte, maxSide int) (*recognizer.Image, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrBadImage)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: unreadable header: %v", ErrBadImage, err)
	}
	if format == "gif" {
		return nil, fmt.Errorf("%w: GIF is not supported, use JPEG or PNG", ErrBadImage)
	}
	if cfg.Width < 2 || cfg.Height < 2 {
		return nil, fmt.Errorf("%w: %dx%d is too small to hold a face", ErrBadImage, cfg.Width, cfg.Height)
	}
	if cfg.Width > MaxSideHard || cfg.Height > MaxSideHard || cfg.Width*cfg.Height > MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d exceeds the %d-pixel limit", ErrBadImage, cfg.Width, cfg.Height, MaxPixels)
	}
	if format == "jpeg" && !hasJPEGEnd(data) {
		// libjpeg fills a truncated file with grey and only warns; a
		// half-grey photo must not be enrolled as if it were whole.
		return nil, fmt.Errorf("%w: truncated JPEG (no end-of-image marker)", ErrBadImage)
	}
	flag := gocv.IMReadColor
	if format == "jpeg" && maxSide > 0 {
		long := max(cfg.Width, cfg.Height)
		switch {
		case long >= 8*maxSide:
			flag = gocv.IMReadReducedColor8
		case long >= 4*maxSide:
			flag = gocv.IMReadReducedColor4
		case long >= 2*maxSide:
			flag = gocv.IMReadReducedColor2
		}
	}
	m, err := gocv.IMDecode(data, flag)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	defer m.Close()
	if m.Empty() {
		return nil, fmt.Errorf("%w: %s data is corrupt or truncated", ErrBadImage, format)
	}
	if maxSide > 0 && max(m.Cols(), m.Rows()) > maxSide {
		s := float64(maxSide) / float64(max(m.Cols(), m.Rows()))
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(m, &small, image.Pt(max(1, int(float64(m.Cols())*s+0.5)), max(1, int(float64(m.Rows())*s+0.5))), 0, 0, gocv.InterpolationArea)
		return fromMat(small)
	}
	return fromMat(m)
}

// hasJPEGEnd looks for the EOI marker near the end; some cameras append a
// few bytes of padding after it, so the tail is searched, not just the end.
func hasJPEGEnd(data []byte) bool {
	tail := data[max(0, len(data)-64):]
	return bytes.Contains(tail, []byte{0xFF, 0xD9})
}
