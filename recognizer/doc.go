// Package recognizer is the pure-Go core of face recognition: the types
// every engine and every consumer share, and the arithmetic that needs no
// C library.
//
//   - Image is a packed 8-bit BGR picture owned by Go; frames from the
//     cameras and decoded photos arrive in this form.
//   - Face is a detection: its box, five landmarks (eyes, nose tip, mouth
//     corners), the detector's score and its Quality (pose estimated from
//     the landmarks, sharpness, the distance between the eyes, and whether
//     the face is usable for matching or for enrolment under a
//     QualityPolicy).
//   - Embedding is a unit vector of one model (ModelID); embeddings of
//     different models never compare (ErrModelMismatch).
//   - Engine is the contract of a detect -> align -> embed pipeline. The
//     implementations link C libraries and live in their own packages
//     (recognizer/opencv, recognizer/dlib); internal/engines builds them
//     from the model files. One engine serves one goroutine at a time.
//   - Alignment (SimilarityTransform, AlignTransform onto a Template) and
//     fusion (MergeFlip of a chip and its mirror, Fuse of several models'
//     scores) are computed here, so every engine aligns and fuses alike.
//
// Matching against enrolled persons is in recognizer/gallery, tracking and
// the identity decision over several frames in recognizer/track, and the
// accuracy evaluation on the development sets in recognizer/eval.
package recognizer
