// Package opencv is the OpenCV DNN recognition engine: YuNet face detection
// with its outputs decoded in Go, five-point alignment to each embedder's
// template, and ONNX face embedders (faceplugin 512-d, dlib ResNet 128-d),
// alone or fused. Faces are detected in the image given; when it carries a
// full-resolution picture (recognizer.Image.Full), quality and chips come
// from that picture, of which only each face's region is copied into
// OpenCV. It is one of the project's cgo islands: every Mat has one
// owner and is closed where it is made, and sizes are checked in Go before
// any call crosses into C, because OpenCV aborts the process on a C++
// exception.
package opencv
