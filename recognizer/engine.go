package recognizer

// Detector finds faces and their five landmarks in a BGR image.
type Detector interface {
	Detect(img *Image) ([]Face, error)
}

// Embedder turns detected faces into embeddings of one model. The faces must
// come from img (the embedder aligns them itself from the landmarks).
type Embedder interface {
	Model() ModelID
	Dim() int
	Embed(img *Image, faces []Face) ([]Embedding, error)
}

// Engine is a complete detect -> align -> embed pipeline. Each engine instance
// is used by one goroutine at a time; run one per worker.
type Engine interface {
	Detector
	Embedder
	// Recognize detects the faces in img and embeds those that want
	// accepts (every face when want is nil), handing the image to the
	// engine's library once: it is what the daemon runs per frame, where
	// Detect then Embed would convert the frame twice. want is called once
	// per face, in order, after detection and before that face is
	// embedded. A face that was not embedded has an Embedding with a nil
	// Vec.
	Recognize(img *Image, want func(Face) bool) ([]Face, []Embedding, error)
	Name() string
	Close() error
}
