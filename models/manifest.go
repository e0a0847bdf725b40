package models

import (
	"fmt"
	"slices"
	"strings"
)

// File names of the weight files, relative to a models directory and
// slash-separated. Engines refer to these instead of spelling the names, so
// the manifest stays the one place that knows them.
const (
	// YuNet is the face detector (boxes plus 5 landmarks).
	YuNet = "face_detection_yunet_2026may.onnx"
	// DlibONNX is dlib's face-recognition ResNet converted to ONNX (128-d).
	DlibONNX = "dlib_face_recognition_resnet_model_v1_faceapi.onnx"
	// FacePlugin is the MobileFaceNet-like 512-d embedder.
	FacePlugin = "faceplugin_fr_feature.onnx"
	// GoFaceResNet is the dlib ResNet in dlib's own format, for go-face.
	GoFaceResNet = "go-face/dlib_face_recognition_resnet_model_v1.dat"
	// GoFaceMMOD is dlib's CNN face detector, for go-face.
	GoFaceMMOD = "go-face/mmod_human_face_detector.dat"

	// GoFaceDir is the directory go-face's NewRecognizer is pointed at.
	GoFaceDir = "go-face"
	// GoFaceShapePredictor is the third file go-face loads from GoFaceDir.
	// It is deliberately not in the manifest: the 5-point original cannot be
	// obtained, and the substitute (Debian libdlib-data's 68-point model
	// copied under this name) is trained on iBUG 300-W, whose licence bars
	// commercial use, so it is installed from apt at deploy time and never
	// shipped or pinned here.
	GoFaceShapePredictor = "go-face/shape_predictor_5_face_landmarks.dat"

	// LicenseDir is the sub-directory of a models directory that holds the
	// licence texts which have to ship with the files.
	LicenseDir = "licenses"
)

// Role says which part of the pipeline a file serves.
type Role string

const (
	RoleDetector Role = "detector"
	RoleEmbedder Role = "embedder"
	// RoleDlib marks files only the optional dlib (go-face) engine loads.
	RoleDlib Role = "dlib engine"
)

// Metric is how two embeddings of one model are compared.
type Metric string

const (
	// MetricNone is for files that produce no embedding.
	MetricNone Metric = ""
	// MetricEuclidean is L2 distance on the raw output (dlib's convention;
	// cosine similarity works as well).
	MetricEuclidean Metric = "euclidean"
	// MetricCosine is cosine similarity on L2-normalised vectors.
	MetricCosine Metric = "cosine"
)

// Input is a network's input size in pixels. W and H are zero when the size
// is free; Multiple is then what both sides must be a multiple of (zero: any).
type Input struct{ W, H, Multiple int }

func (in Input) String() string {
	switch {
	case in.W > 0 && in.H > 0:
		return fmt.Sprintf("%dx%d", in.W, in.H)
	case in.Multiple > 0:
		return fmt.Sprintf("any (x%d)", in.Multiple)
	}
	return "any"
}

// Blob holds the cv::dnn::blobFromImage arguments that turn an image (for an
// embedder, the aligned chip) into the network input. Mean is in R,G,B order
// when SwapRB is set, as OpenCV expects. A zero Scale means the file is not
// fed through OpenCV at all.
type Blob struct {
	Scale  float64
	Mean   [3]float64
	SwapRB bool
}

// Point is a template position in chip pixels. It has the layout of
// recognizer.Point, so one converts to the other directly.
type Point struct{ X, Y float32 }

// Template is a 5-point alignment target: a similarity transform (least
// squares) maps a face's landmarks, in YuNet order (eye on the left of the
// image, eye on the right, nose tip, mouth corner on the left, on the right),
// onto Points in a Size x Size chip.
type Template struct {
	Name   string
	Size   int
	Points [5]Point
}

// File is one manifest entry.
type File struct {
	// Name is the path relative to the models directory, slash-separated.
	Name        string
	Role        Role
	Description string
	// SHA256 (lower-case hex) and Size (bytes) pin the exact bytes.
	SHA256 string
	Size   int64
	// License names the licence; LicenseFiles are the texts, under
	// LicenseDir, that must ship with the file.
	License      string
	LicenseFiles []string
	Input        Input
	// InputName and OutputNames are the ONNX tensor names, in output order.
	InputName   string
	OutputNames []string
	Preprocess  string
	Blob        Blob
	// Templates are the alignment targets, the recommended one first; empty
	// where the engine does not align with 5 points.
	Templates []Template
	Metric    Metric
	// Dim is the embedding length (0 for detectors).
	Dim int
	// Optional files are needed only by the optional dlib engine, so a
	// missing one does not stop the appliance.
	Optional bool
	// URL is the official download location. Empty for files that were
	// converted, rebuilt or unpacked for dozor: those come from a mirror.
	URL   string
	Notes string
}

// The manifest. Values come from the model notes shipped with the files
// (MODELS.md next to SHA256SUMS); a file whose bytes change needs a new
// entry there and here.
var manifest = []File{
	{
		Name:         YuNet,
		Role:         RoleDetector,
		Description:  "YuNet face detector with 5 landmarks (OpenCV Zoo)",
		SHA256:       "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0",
		Size:         229738,
		License:      "MIT",
		LicenseFiles: []string{"LICENSE.yunet.MIT.txt"},
		Input:        Input{Multiple: 32},
		InputName:    "input",
		OutputNames: []string{
			"cls_8", "cls_16", "cls_32",
			"obj_8", "obj_16", "obj_32",
			"bbox_8", "bbox_16", "bbox_32",
			"kps_8", "kps_16", "kps_32",
		},
		Preprocess: "BGR uint8 image as it is: scale 1, no mean subtraction, no channel swap " +
			"(blobFromImage defaults); zero-pad right and bottom so W and H are multiples of 32; " +
			"padded-image pixel coordinates are those of the original image",
		Blob:   Blob{Scale: 1},
		Metric: MetricNone,
		URL:    "https://github.com/opencv/opencv_zoo/raw/47534e27c9851bb1128ccc0102f1145e27f23f98/models/face_detection_yunet/face_detection_yunet_2026may.onnx",
		Notes: "OpenCV 4.6 FaceDetectorYN fails on this export; decode the 12 outputs by hand: " +
			"score = sqrt(clamp01(cls)*clamp01(obj)), keep score >= 0.6, NMS IoU 0.3",
	},
	{
		Name:        DlibONNX,
		Role:        RoleEmbedder,
		Description: "dlib face-recognition ResNet, converted to ONNX from @vladmandic/face-api@1.7.15",
		SHA256:      "e55677260a3f123d802832ee8f1a43d15125d685e5db7f791b11810576ae51b9",
		Size:        24174831,
		License:     "CC0 weights, MIT port",
		LicenseFiles: []string{
			"LICENSE.dlib-models.CC0.txt",
			"LICENSE.face-api.js.MIT.txt",
			"LICENSE.vladmandic-face-api.MIT.txt",
		},
		Input:       Input{W: 150, H: 150},
		InputName:   "input",
		OutputNames: []string{"embedding"},
		Preprocess: "dlib face chip 150x150 (padding 0.25), similarity transform (least squares, Umeyama) " +
			"from the 5 YuNet points; RGB, (pixel - (122.782, 117.001, 104.298)) / 256 for R, G, B: " +
			"blobFromImage(chip, 1/256.0, (150,150), mean=(122.782,117.001,104.298), swapRB=true); " +
			"when the warp shrinks the face a lot, downscale with INTER_AREA first, then warp with INTER_LINEAR",
		Blob: Blob{Scale: 1.0 / 256, Mean: [3]float64{122.782, 117.001, 104.298}, SwapRB: true},
		Templates: []Template{
			{Name: "dlib-calibrated", Size: 150, Points: [5]Point{
				{44.6, 46.6}, {101.4, 45.7}, {73.2, 76.5}, {49.5, 102.0}, {98.0, 101.4},
			}},
			{Name: "dlib-mean-shape", Size: 150, Points: [5]Point{
				{47.55, 46.60}, {100.48, 46.60}, {74.01, 76.56}, {50.41, 103.02}, {97.61, 103.02},
			}},
		},
		Metric: MetricEuclidean,
		Dim:    128,
		Notes: "output is raw, not L2-normalised (norms about 1.4); dlib same-person threshold L2 0.6, " +
			"open-set 1:N needs about 0.55; gallery and probes must use the same template",
	},
	{
		Name:         FacePlugin,
		Role:         RoleEmbedder,
		Description:  "MobileFaceNet-like 512-d embedder from npm faceplugin-face-recognition-js@0.0.1",
		SHA256:       "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
		Size:         4884269,
		License:      "MIT (as the npm package declares; model provenance undocumented)",
		LicenseFiles: []string{"LICENSE.faceplugin-face-recognition-js.MIT.txt"},
		Input:        Input{W: 112, H: 112},
		InputName:    "input",
		OutputNames:  []string{"output"},
		Preprocess: "ArcFace 112x112 chip, similarity transform from the 5 YuNet points; RGB, " +
			"(pixel - 127) / 128, NCHW: blobFromImage(chip, 1/128.0, (112,112), (127,127,127), swapRB=true)",
		Blob: Blob{Scale: 1.0 / 128, Mean: [3]float64{127, 127, 127}, SwapRB: true},
		Templates: []Template{
			{Name: "arcface", Size: 112, Points: [5]Point{
				{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041},
			}},
		},
		Metric: MetricCosine,
		Dim:    512,
		Notes: "training data and provenance undocumented: get legal sign-off before shipping; " +
			"open-set 1:N needs about cosine 0.35",
	},
	{
		Name:        GoFaceResNet,
		Role:        RoleDlib,
		Description: "dlib face-recognition ResNet in dlib format, rebuilt from the same weights, for go-face",
		SHA256:      "e32468f168e802764638878ad0273e4c028b16352cecc43785f8c0a0d56c76b8",
		Size:        22466154,
		License:     "CC0 weights, MIT port",
		LicenseFiles: []string{
			"LICENSE.dlib-models.CC0.txt",
			"LICENSE.face-api.js.MIT.txt",
			"LICENSE.vladmandic-face-api.MIT.txt",
		},
		Input: Input{W: 150, H: 150},
		Preprocess: "done inside go-face/dlib: face detection, shape predictor, dlib 150x150 face chip " +
			"(padding 0.25), then the network",
		Metric:   MetricEuclidean,
		Dim:      128,
		Optional: true,
		Notes:    "written with dlib::serialize (libdlib 19.24); not byte-identical to Davis King's original",
	},
	{
		Name:         GoFaceMMOD,
		Role:         RoleDlib,
		Description:  "dlib MMOD CNN face detector, for go-face",
		SHA256:       "be467b1a76f482693de3b0f6a1ff91d092319be71523d4d4b0628f6a53fcb87a",
		Size:         729940,
		License:      "CC0",
		LicenseFiles: []string{"LICENSE.dlib-models.CC0.txt"},
		Preprocess:   "done inside go-face/dlib",
		Metric:       MetricNone,
		Optional:     true,
		Notes:        "davisking/dlib-models mmod_human_face_detector.dat.bz2, decompressed",
	},
}

// The licence texts, pinned like the weights so an installation can be
// checked for the notices it owes as well as for the files.
var licenseTexts = map[string]entry{
	"LICENSE.dlib-models.CC0.txt":                    licenseEntry("LICENSE.dlib-models.CC0.txt", "6a1ee543e5282cd9061881edf462e6fdab181f328da71fc2c9a6950a80e94d01", 6556),
	"LICENSE.face-api.js.MIT.txt":                    licenseEntry("LICENSE.face-api.js.MIT.txt", "d5480b4d4e46880107a56db666697ec3e90def81a8fc829e530b1c291e3172a5", 1072),
	"LICENSE.faceplugin-face-recognition-js.MIT.txt": licenseEntry("LICENSE.faceplugin-face-recognition-js.MIT.txt", "ceb7e9130f684a8e335940a09ccfb81c2fa18f6aa54975d656c54bb7992aee1a", 1066),
	"LICENSE.vladmandic-face-api.MIT.txt":            licenseEntry("LICENSE.vladmandic-face-api.MIT.txt", "9a3442b79acaf4fbc7c2e07b7e2d8f84af9bb3871bf08a69d80304ab00640e9a", 1067),
	"LICENSE.yunet.MIT.txt":                          licenseEntry("LICENSE.yunet.MIT.txt", "c83b8120c50ccbd4c4f96edf53141bdd566ebb8f8e9227e415326aa1b1aba958", 1085),
}

// Files returns the manifest in its fixed order. The result is a copy:
// changing it does not change the manifest.
func Files() []File {
	out := make([]File, len(manifest))
	for i, f := range manifest {
		out[i] = f.clone()
	}
	return out
}

// Lookup returns the manifest entry for name (a File.Name such as YuNet).
func Lookup(name string) (File, bool) {
	for _, f := range manifest {
		if f.Name == name {
			return f.clone(), true
		}
	}
	return File{}, false
}

// RequiredNames lists the files the appliance cannot run without: what
// Verify checks when it is given no names.
func RequiredNames() []string {
	var names []string
	for _, f := range manifest {
		if !f.Optional {
			names = append(names, f.Name)
		}
	}
	return names
}

// AllNames lists every manifest file, optional ones included.
func AllNames() []string {
	names := make([]string, len(manifest))
	for i, f := range manifest {
		names[i] = f.Name
	}
	return names
}

func (f File) clone() File {
	f.LicenseFiles = slices.Clone(f.LicenseFiles)
	f.OutputNames = slices.Clone(f.OutputNames)
	f.Templates = slices.Clone(f.Templates)
	return f
}

// lookupAll resolves names (none: the required files) to manifest entries,
// reporting every unknown name at once.
func lookupAll(names []string) ([]File, error) {
	if len(names) == 0 {
		names = RequiredNames()
	}
	files := make([]File, 0, len(names))
	var unknown []string
	for _, n := range names {
		f, ok := Lookup(n)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", n))
			continue
		}
		if !slices.ContainsFunc(files, func(g File) bool { return g.Name == f.Name }) {
			files = append(files, f)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w %s (known: %s)", ErrUnknown, strings.Join(unknown, ", "), strings.Join(AllNames(), ", "))
	}
	return files, nil
}

// licensesFor lists, once each and in a stable order, the licence texts
// files must ship with.
func licensesFor(files []File) []entry {
	var names []string
	for _, f := range files {
		for _, l := range f.LicenseFiles {
			if !slices.Contains(names, l) {
				names = append(names, l)
			}
		}
	}
	slices.Sort(names)
	out := make([]entry, 0, len(names))
	for _, n := range names {
		out = append(out, licenseTexts[n])
	}
	return out
}
