package main

import (
	"os"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// stillMaxSide bounds decoded photos: larger ones are decoded reduced. The
// detector works at 640 anyway; the embedders' chips gain nothing beyond.
const stillMaxSide = 1280

// opencvExtractor runs YuNet and both ONNX embedders (with mirrored chips)
// so one pass yields every OpenCV engine variant.
type opencvExtractor struct{ e *opencv.Engine }

func newOpenCVExtractor(modelDir string) (extractor, error) {
	det := opencv.DefaultDetectorConfig
	det.RetryUpscale = true
	cfg, err := engines.OpenCVConfig(modelDir, engines.Fused, det)
	if err != nil {
		return nil, err
	}
	e, err := opencv.New(cfg)
	if err != nil {
		return nil, err
	}
	return &opencvExtractor{e: e}, nil
}

func (x *opencvExtractor) Close() error { return x.e.Close() }

func (x *opencvExtractor) extract(path string) imageFeatures {
	img, faces, err := detectFile(x.e, path)
	if err != nil {
		return imageFeatures{Err: err.Error(), NoFace: true}
	}
	i := mainFace(faces, img.W, img.H)
	if i < 0 {
		return imageFeatures{NoFace: true}
	}
	feats, err := x.e.Features(img, faces[i:i+1])
	if err != nil {
		return imageFeatures{Err: err.Error(), NoFace: true}
	}
	return imageFeatures{Face: faces[i], Vecs: map[string]rawVec{
		engines.FacePlugin: {feats[0][0].Plain, feats[0][0].Flipped},
		engines.DlibONNX:   {feats[0][1].Plain, feats[0][1].Flipped},
	}}
}

func detectFile(d recognizer.Detector, path string) (*recognizer.Image, []recognizer.Face, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	img, err := opencv.DecodeImage(data, stillMaxSide)
	if err != nil {
		return nil, nil, err
	}
	faces, err := d.Detect(img)
	return img, faces, err
}
