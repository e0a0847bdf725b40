package webui

import (
	"bytes"
	"errors"
	"image"
	_ "image/jpeg" // uploads may be JPEG
	_ "image/png"  // or PNG
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"

	_ "golang.org/x/image/bmp"  // or BMP
	_ "golang.org/x/image/webp" // or WebP
)

// Upload limits of the pages that take photos (enrolment, search by
// photo), the same on the guard monitor and the region's dashboard.
const (
	MaxUploadFile  = 8 << 20  // one file
	MaxUploadFiles = 10       // files in one enrolment
	MaxUploadTotal = 40 << 20 // a whole enrolment request, files together
	MaxFormValue   = 1 << 10  // a plain form field
	// An image's header is read for its size before anything decodes it:
	// a small file may claim a picture far too big to hold in memory.
	MaxImagePixels = 40_000_000
	MaxImageSide   = 12000
)

// Upload is one uploaded file.
type Upload struct {
	Name string
	Data []byte
}

// UploadForm is a parsed multipart request.
type UploadForm struct {
	Files  []Upload
	Values map[string]string
}

// ReadUploads reads a multipart/form-data body: files under fileField (at
// most maxFiles, each at most MaxUploadFile) and small plain fields. The
// whole body is capped at total bytes; going over any limit is a 413.
func ReadUploads(w http.ResponseWriter, r *http.Request, fileField string, maxFiles int, total int64) (*UploadForm, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, Errorf(http.StatusUnsupportedMediaType, "", "send multipart/form-data")
	}
	if r.ContentLength > total {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "", "the upload is larger than %d bytes", total)
	}
	r.Body = http.MaxBytesReader(w, r.Body, total)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "", "malformed multipart body: %v", err)
	}
	f := &UploadForm{Values: map[string]string{}}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, uploadError(err, total)
		}
		name := part.FormName()
		switch {
		case name == fileField:
			if len(f.Files) == maxFiles {
				return nil, Errorf(http.StatusRequestEntityTooLarge, fileField, "at most %d %s files may be sent at once", maxFiles, fileField)
			}
			data, err := io.ReadAll(io.LimitReader(part, MaxUploadFile+1))
			if err != nil {
				return nil, uploadError(err, total)
			}
			if len(data) > MaxUploadFile {
				return nil, Errorf(http.StatusRequestEntityTooLarge, fileField, "%s %s is larger than %d bytes", fileField, cleanName(part.FileName()), MaxUploadFile)
			}
			f.Files = append(f.Files, Upload{Name: cleanName(part.FileName()), Data: data})
		case part.FileName() == "" && name != "":
			if _, dup := f.Values[name]; dup {
				return nil, Errorf(http.StatusBadRequest, name, "%s is given twice", name)
			}
			v, err := io.ReadAll(io.LimitReader(part, MaxFormValue+1))
			if err != nil {
				return nil, uploadError(err, total)
			}
			if len(v) > MaxFormValue {
				return nil, Errorf(http.StatusBadRequest, name, "%s is longer than %d bytes", name, MaxFormValue)
			}
			f.Values[name] = string(v)
		default:
			return nil, Errorf(http.StatusBadRequest, name, "unexpected file field %q (send %q)", name, fileField)
		}
		part.Close()
	}
}

func uploadError(err error, total int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return Errorf(http.StatusRequestEntityTooLarge, "", "the upload is larger than %d bytes", total)
	}
	return Errorf(http.StatusBadRequest, "", "malformed multipart body: %v", err)
}

// cleanName keeps the base of an uploaded file's name, printable and
// short, for results and the audit log.
func cleanName(n string) string {
	n = filepath.Base(strings.ReplaceAll(n, `\`, "/"))
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, n)
	if len(n) > 128 {
		n = n[:128]
	}
	if n == "" || n == "." || n == "/" {
		return "upload"
	}
	return n
}

// CheckImage reads only the image's header: it must be a JPEG, PNG, WebP
// or BMP (415 otherwise) of at most MaxImagePixels and MaxImageSide (413
// otherwise), so that nothing decodes a decompression bomb.
func CheckImage(data []byte, field string) error {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Errorf(http.StatusUnsupportedMediaType, field, "not a JPEG, PNG, WebP or BMP image")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Errorf(http.StatusUnsupportedMediaType, field, "the %s image is empty", format)
	}
	if cfg.Width > MaxImageSide || cfg.Height > MaxImageSide || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return Errorf(http.StatusRequestEntityTooLarge, field,
			"the %s image is %dx%d: at most %d pixels a side and %d megapixels are accepted",
			format, cfg.Width, cfg.Height, MaxImageSide, MaxImagePixels/1_000_000)
	}
	return nil
}
