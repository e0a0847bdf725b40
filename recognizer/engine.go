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
	Name() string
	Close() error
}
