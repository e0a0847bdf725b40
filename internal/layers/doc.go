// Package layers holds the test that keeps the project's import arrows
// pointing one way (docs in the package's rules table): mains above the
// composition roots, the composition roots above the leaves, and the C
// libraries confined to their leaf packages, so that everything else
// builds and tests with CGO_ENABLED=0. It has no code of its own.
package layers
