package enroll

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode"
	"unicode/utf8"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/enrolcheck"
)

// MaxFileBytes bounds a photo file read from disk. It is far above any
// booking photo; the limit only keeps a wrong path (a video, a disk image)
// from being read into memory whole.
const MaxFileBytes = 64 << 20

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
// does not take as they are (BMP, WebP, oversized).
func encodeJPEG(img *recognizer.Image) ([]byte, error) {
	return enrolcheck.EncodeJPEG(img, store.MaxPhotoBytes)
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
