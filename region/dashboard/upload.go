package dashboard

import (
	"bytes"
	"errors"
	"image"
	_ "image/jpeg" // enrolment photos may be JPEG
	_ "image/png"  // or PNG
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"

	_ "golang.org/x/image/bmp"  // or BMP
	_ "golang.org/x/image/webp" // or WebP

	"github.com/dozor-edge/dozor/internal/webui"
)

// Upload limits of the enrolment page, the guard monitor's.
const (
	maxUploadFile  = 8 << 20  // one photo file
	maxPhotos      = 10       // files in one enrolment
	maxUploadTotal = 40 << 20 // the whole request, files together
	maxFormValue   = 1 << 10  // a plain form field
	// An image's header is read for its size before anything decodes
	// it: a small file may claim a picture far too big to hold in memory.
	maxPixels = 40_000_000
	maxSide   = 12000
)

// upload is one uploaded file.
type upload struct {
	Name string
	Data []byte
}

// form is a parsed multipart request.
type form struct {
	files  []upload
	values map[string]string
}

// readUploads reads a multipart/form-data body: at most maxPhotos files
// under fileField, each at most maxUploadFile bytes, and small plain
// fields, the whole at most maxUploadTotal. Going over a limit is a 413,
// anything but multipart a 415.
func readUploads(w http.ResponseWriter, r *http.Request, fileField string) (*form, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, webui.Errorf(http.StatusUnsupportedMediaType, "", "send multipart/form-data")
	}
	if r.ContentLength > maxUploadTotal {
		return nil, webui.Errorf(http.StatusRequestEntityTooLarge, "", "the upload is larger than %d bytes", maxUploadTotal)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadTotal)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, webui.Errorf(http.StatusBadRequest, "", "malformed multipart body: %v", err)
	}
	f := &form{values: map[string]string{}}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, uploadError(err)
		}
		name := part.FormName()
		switch {
		case name == fileField:
			if len(f.files) == maxPhotos {
				return nil, webui.Errorf(http.StatusRequestEntityTooLarge, fileField, "at most %d %s files may be sent at once", maxPhotos, fileField)
			}
			data, err := io.ReadAll(io.LimitReader(part, maxUploadFile+1))
			if err != nil {
				return nil, uploadError(err)
			}
			if len(data) > maxUploadFile {
				return nil, webui.Errorf(http.StatusRequestEntityTooLarge, fileField, "%s %s is larger than %d bytes", fileField, cleanName(part.FileName()), maxUploadFile)
			}
			f.files = append(f.files, upload{Name: cleanName(part.FileName()), Data: data})
		case part.FileName() == "" && name != "":
			if _, dup := f.values[name]; dup {
				return nil, webui.Errorf(http.StatusBadRequest, name, "%s is given twice", name)
			}
			v, err := io.ReadAll(io.LimitReader(part, maxFormValue+1))
			if err != nil {
				return nil, uploadError(err)
			}
			if len(v) > maxFormValue {
				return nil, webui.Errorf(http.StatusBadRequest, name, "%s is longer than %d bytes", name, maxFormValue)
			}
			f.values[name] = string(v)
		default:
			return nil, webui.Errorf(http.StatusBadRequest, name, "unexpected file field %q (send %q)", name, fileField)
		}
		part.Close()
	}
}

func uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return webui.Errorf(http.StatusRequestEntityTooLarge, "", "the upload is larger than %d bytes", maxUploadTotal)
	}
	return webui.Errorf(http.StatusBadRequest, "", "malformed multipart body: %v", err)
}

// cleanName keeps the base of an uploaded file's name, printable and
// short, for the verdicts and the audit log.
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

// checkImage reads only the image's header: it must be a JPEG, PNG, WebP
// or BMP (415 otherwise) of at most maxPixels and maxSide (413
// otherwise), so that nothing decodes a decompression bomb.
func checkImage(data []byte, field string) error {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return webui.Errorf(http.StatusUnsupportedMediaType, field, "%s is not a JPEG, PNG, WebP or BMP image", field)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return webui.Errorf(http.StatusUnsupportedMediaType, field, "%s: the %s image is empty", field, format)
	}
	if cfg.Width > maxSide || cfg.Height > maxSide || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return webui.Errorf(http.StatusRequestEntityTooLarge, field,
			"%s: the %s image is %dx%d: at most %d pixels a side and %d megapixels are accepted",
			field, format, cfg.Width, cfg.Height, maxSide, maxPixels/1_000_000)
	}
	return nil
}
