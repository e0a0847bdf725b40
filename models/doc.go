// Package models describes and guards the ML weight files dozor runs on: the
// YuNet face detector, the two face embedders and the optional files of the
// dlib (go-face) engine.
//
// The manifest compiled into this package is the single source of truth for
// each file's size, sha256, licence, input shape, preprocessing, alignment
// template and metric, so engines never hard-code those facts. Weight files
// are never part of the source tree; they are installed next to the binary
// (by default under ./var/models) and checked with [Verify] before any of
// them reaches OpenCV or dlib, because a truncated or swapped file there
// fails late, obscurely, or not at all while producing wrong embeddings.
//
// [Install] copies or links a verified set from another directory and
// [Download] fetches one over HTTP; both write through a temporary file and
// a rename, so an interrupted run never leaves a partial file under a final
// name. The licence texts each file must ship with are installed alongside,
// under licenses/. Download reports each file's progress to a callback and
// draws nothing itself: a terminal is the command line's business.
package models
