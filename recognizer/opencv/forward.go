package opencv

import (
	"fmt"

	"gocv.io/x/gocv"

	"github.com/dozor-edge/dozor/recognizer"
)

// These run the networks alone on blank input of the size the pipeline
// would feed them: the floor the whole pipeline is compared with in
// `edgectl bench`.

// DetectorForward runs YuNet once on a blank w x h frame (shrunk to the
// detection resolution and padded exactly as Detect would).
func (e *Engine) DetectorForward(w, h int) error {
	scale := min(1, float64(e.det.cfg.MaxSide)/float64(max(w, h)))
	pw := (int(float64(w)*scale+0.5) + 31) / 32 * 32
	ph := (int(float64(h)*scale+0.5) + 31) / 32 * 32
	blob := gocv.NewMatWithSizes([]int{1, 3, ph, pw}, gocv.MatTypeCV32F)
	defer blob.Close()
	e.det.net.SetInput(blob, "")
	outs := e.det.net.ForwardLayers(yunetOutputs)
	for i := range outs {
		outs[i].Close()
	}
	if len(outs) != len(yunetOutputs) {
		return fmt.Errorf("yunet: %d outputs", len(outs))
	}
	return nil
}

// EmbedderForward runs every embedder once on a blank chip (and its mirror
// when Flip is on).
func (e *Engine) EmbedderForward() error {
	for _, emb := range e.embs {
		chip := gocv.NewMatWithSize(emb.spec.Template.Size, emb.spec.Template.Size, gocv.MatTypeCV8UC3)
		_, _, err := emb.forwardChip(chip, e.cfg.Flip)
		chip.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// AlignOnly cuts every configured embedder's chip for each face without
// running a network: the alignment stage on its own.
func (e *Engine) AlignOnly(img *recognizer.Image, faces []recognizer.Face) error {
	m, err := toMat(img)
	if err != nil {
		return err
	}
	defer m.Close()
	src := newChipSource(m, img, e.templates)
	for _, f := range faces {
		c, err := src.cut(f)
		if err != nil {
			return err
		}
		for _, emb := range e.embs {
			a, err := recognizer.AlignTransform(c.face, emb.spec.Template)
			if err == nil {
				var chip gocv.Mat
				if chip, err = warpChip(c.m, a, emb.spec.Template.Size); err == nil {
					chip.Close()
				}
			}
			if err != nil {
				c.Close()
				return err
			}
		}
		c.Close()
	}
	return nil
}
