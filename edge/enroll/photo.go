package enroll

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"unicode"
	"unicode/utf8"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
)

// MaxFileBytes bounds a photo file read from disk. It is far above any
// booking photo; the limit only keeps a wrong path (a video, a disk image)
// from being read into memory whole.
const MaxFileBytes = 64 << 20

// storedJPEGQuality is used when a photo has to be re-encoded for the
// store. It is high because the stored photo is what future models will
// be re-embedded from.
const storedJPEGQuality = 95

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
)

func readPhoto(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no photo file given")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%s is %d bytes; photo files over %d bytes are refused", path, fi.Size(), MaxFileBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s grew past %d bytes while being read", path, MaxFileBytes)
	}
	return data, nil
}

// storable reports whether the store takes the file as it is: it keeps
// JPEG and PNG photos up to store.MaxPhotoBytes. Keeping the original
// matters: it is what later models are re-embedded from.
func storable(data []byte) bool {
	return len(data) <= store.MaxPhotoBytes && (bytes.HasPrefix(data, jpegMagic) || bytes.HasPrefix(data, pngMagic))
}

// encodeJPEG encodes a decoded photo for the store, for files the store
// does not take as they are (BMP, WebP, oversized). The encoding is
// deterministic, so the same file always gives the same stored bytes and
// the same hash.
func encodeJPEG(img *recognizer.Image) ([]byte, error) {
	if err := img.Validate(); err != nil {
		return nil, err
	}
	rgba := image.NewRGBA(image.Rect(0, 0, img.W, img.H))
	for i, j := 0, 0; i < len(img.Pix); i, j = i+3, j+4 {
		rgba.Pix[j], rgba.Pix[j+1], rgba.Pix[j+2], rgba.Pix[j+3] = img.Pix[i+2], img.Pix[i+1], img.Pix[i], 0xFF
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, rgba, &jpeg.Options{Quality: storedJPEGQuality}); err != nil {
		return nil, err
	}
	if buf.Len() > store.MaxPhotoBytes {
		return nil, fmt.Errorf("%d bytes even as JPEG, over the store's %d-byte limit", buf.Len(), store.MaxPhotoBytes)
	}
	return buf.Bytes(), nil
}

// checkID applies the store's rule for identifiers (1 to
// store.MaxIDBytes bytes of printable UTF-8 without white space) so that
// a bad id in an import file is reported with its line before anything
// is written.
func checkID(v string) error {
	if v == "" {
		return errors.New("is empty")
	}
	if len(v) > store.MaxIDBytes {
		return fmt.Errorf("is %d bytes long, at most %d are allowed", len(v), store.MaxIDBytes)
	}
	if !utf8.ValidString(v) {
		return errors.New("is not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%q contains %q: only printable characters without spaces are allowed", v, r)
		}
	}
	return nil
}
