package main

import (
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/recognizer/dlib"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// dlibExtractor evaluates the go-face engine: YuNet picks the labelled
// face (the same face every engine is scored on), then dlib finds it again
// in a JPEG crop, aligns it with its own landmarks and embeds it.
type dlibExtractor struct {
	det *opencv.Engine
	d   *dlib.Engine
}

func newDlibExtractor(modelDir string) (extractor, error) {
	det := opencv.DefaultDetectorConfig
	det.RetryUpscale = true
	cfg, err := engines.OpenCVConfig(modelDir, engines.FacePlugin, det)
	if err != nil {
		return nil, err
	}
	e, err := opencv.New(cfg)
	if err != nil {
		return nil, err
	}
	d, err := dlib.New(dlib.Options{ModelsDir: modelDir})
	if err != nil {
		e.Close()
		return nil, err
	}
	return &dlibExtractor{det: e, d: d}, nil
}

func (x *dlibExtractor) Close() error {
	x.d.Close()
	return x.det.Close()
}

func (x *dlibExtractor) extract(path string) imageFeatures {
	img, faces, err := detectFile(x.det, path)
	if err != nil {
		return imageFeatures{Err: err.Error(), NoFace: true}
	}
	i := mainFace(faces, img.W, img.H)
	if i < 0 {
		return imageFeatures{NoFace: true}
	}
	embs, err := x.d.Embed(img, faces[i:i+1])
	if err != nil {
		return imageFeatures{Err: err.Error(), NoFace: true}
	}
	if embs[0].Vec == nil {
		return imageFeatures{NoFace: true, Face: faces[i]}
	}
	return imageFeatures{Face: faces[i], Vecs: map[string]rawVec{dlib.EngineName: {Plain: embs[0].Vec}}}
}
