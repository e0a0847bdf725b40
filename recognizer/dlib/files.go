package dlib

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultShapePredictor68 is where Debian's libdlib-data package installs
// dlib's 68-point landmark model.
const DefaultShapePredictor68 = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

// The names go-face's NewRecognizer reads from its model directory. They are
// fixed in go-face's C++ code, hence the directory of links built by New.
const (
	resnetName = "dlib_face_recognition_resnet_model_v1.dat"
	mmodName   = "mmod_human_face_detector.dat"
	shape5Name = "shape_predictor_5_face_landmarks.dat"
)

// modelFile pins one file dlib will deserialize. dlib notices a file that
// ends early, but it loads damaged weights without complaint, and a damaged
// length field can make it allocate without bound. So every file is checked
// against a known size and digest first, which also turns away a different
// model that merely carries the right name.
type modelFile struct {
	// what says in words what the file is, for error messages.
	what   string
	size   int64
	sha256 string
	// fix tells the operator how to obtain the file when it is missing.
	fix string
}

var (
	resnetFile = modelFile{
		what:   "dlib ResNet face-recognition model",
		size:   22466154,
		sha256: "e32468f168e802764638878ad0273e4c028b16352cecc43785f8c0a0d56c76b8",
		fix:    "install the go-face/ model files into the models directory",
	}
	mmodFile = modelFile{
		what:   "dlib mmod CNN face detector",
		size:   729940,
		sha256: "be467b1a76f482693de3b0f6a1ff91d092319be71523d4d4b0628f6a53fcb87a",
		fix:    "install the go-face/ model files into the models directory",
	}
	// The 68-point predictor is dlib.net's release file, which Debian ships
	// unchanged in libdlib-data 19.24. Its training data (iBUG 300-W) does
	// not allow commercial use, so it is never bundled: the operator
	// installs it from apt.
	shape68File = modelFile{
		what:   "dlib 68-point shape predictor",
		size:   99693937,
		sha256: "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
		fix:    `install it with "apt install libdlib-data" (the gofacedlib engine is optional and needs it)`,
	}
)

// verify checks that path is a regular file with the pinned size and
// sha256. Errors for a missing file wrap fs.ErrNotExist, so a caller can
// tell "not installed" (skip this optional engine) from "damaged".
func (m modelFile) verify(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("gofacedlib: %s %s is missing: %s: %w", m.what, path, m.fix, fs.ErrNotExist)
		}
		return fmt.Errorf("gofacedlib: %s %s: %w", m.what, path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("gofacedlib: %s %s is not a regular file", m.what, path)
	}
	if st.Size() != m.size {
		return fmt.Errorf("gofacedlib: %s %s has %d bytes, want %d: the file is truncated or not the expected one; %s",
			m.what, path, st.Size(), m.size, m.fix)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("gofacedlib: %s: %w", m.what, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("gofacedlib: reading %s %s: %w", m.what, path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.sha256 {
		return fmt.Errorf("gofacedlib: %s %s has sha256 %s, want %s: the file is damaged or not the expected one; %s",
			m.what, path, got, m.sha256, m.fix)
	}
	return nil
}

// linkModels verifies the three files and builds a private temporary
// directory that presents them under the names go-face expects, the
// 68-point predictor standing in for the unobtainable 5-point one. go-face
// copes with that: it aligns with dlib's 68-point chip and returns 68
// landmarks. The caller removes the directory.
func linkModels(modelsDir, shape68 string) (string, error) {
	goface := filepath.Join(modelsDir, "go-face")
	files := []struct {
		src, name string
		m         modelFile
	}{
		{filepath.Join(goface, resnetName), resnetName, resnetFile},
		{filepath.Join(goface, mmodName), mmodName, mmodFile},
		{shape68, shape5Name, shape68File},
	}
	for i := range files {
		abs, err := filepath.Abs(files[i].src)
		if err != nil {
			return "", fmt.Errorf("gofacedlib: %s: %w", files[i].src, err)
		}
		files[i].src = abs
		if err := files[i].m.verify(abs); err != nil {
			return "", err
		}
	}
	dir, err := os.MkdirTemp("", "dozor-gofacedlib-")
	if err != nil {
		return "", fmt.Errorf("gofacedlib: model link directory: %w", err)
	}
	for _, f := range files {
		if err := os.Symlink(f.src, filepath.Join(dir, f.name)); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("gofacedlib: model link directory: %w", err)
		}
	}
	return dir, nil
}
