// Package dlib is an optional recognition engine ("gofacedlib") that runs
// dlib itself, through github.com/Kagami/go-face: dlib's HOG (or mmod CNN)
// face detector, its 68-point shape predictor for alignment, and the dlib
// ResNet that turns the aligned 150x150 chip into a 128-d descriptor.
//
// It is independent of the OpenCV engines: a second opinion with dlib's own
// alignment, useful for comparison and as a fallback. Its embeddings carry
// their own ModelID and never mix with those of the ONNX port of the same
// network, which aligns from YuNet's five points.
//
// # Requirements
//
// Building needs cgo and dlib's development files (libdlib-dev, BLAS/LAPACK
// such as libatlas-base-dev, libjpeg-dev). Running needs:
//
//   - the models directory's go-face/ subfolder with
//     dlib_face_recognition_resnet_model_v1.dat and
//     mmod_human_face_detector.dat;
//   - dlib's 68-point landmark model, from `apt install libdlib-data`
//     (/usr/share/dlib/shape_predictor_68_face_landmarks.dat by default).
//
// go-face asks for dlib's 5-point landmark model, which could not be
// obtained; New links the 68-point model under the 5-point name in a
// private temporary directory, removed by Close. Every file is checked
// against its known size and sha256 before dlib reads it. When a file is
// missing, New returns an error that wraps fs.ErrNotExist and says how to
// install it, so a deployment without libdlib-data can simply leave this
// engine out.
//
// # Licence caveat
//
// The 68-point model is trained on the iBUG 300-W data set, whose licence
// excludes commercial use. It must never be committed or bundled with the
// product; operators who may use it install it themselves from Debian.
// The other two model files are CC0 (the ResNet weights come by way of the
// MIT-licensed face-api.js port).
//
// # Use
//
// go-face only decodes JPEG, so both Detect and Embed encode the BGR image
// to JPEG (quality 95) first. Detect also computes every face's descriptor
// (dlib does both in one pass), and Embed on the same pixels and faces
// returns those without running dlib again. Faces from another detector
// are embedded from a crop around their box in which dlib finds the face
// again; when it does not, that face's Embedding has a nil Vec.
//
// An Engine serialises its calls with a lock (go-face is not safe for
// concurrent use); run one Engine per worker to use several cores.
package dlib
