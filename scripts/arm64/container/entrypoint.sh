#!/bin/sh
# Entry point of the dozor arm64 image (Dockerfile.arm64).
#
#   (no arguments) | edged [FLAGS]   verify the models, then run edged with
#                                    the image's configuration and FLAGS
#   edgectl ... | any other command  run it (enrolment, gallery, models ...)
#
# The models directory is $DOZOR_MODELS_DIR (the image sets it to the models
# volume); edged reads the same variable as its models.dir, so the files
# verified here are the files it loads. edged verifies them again itself
# and exits 1 on any failure; this check prints the whole table first.
set -eu
config=${DOZOR_CONFIG:-/etc/dozor/edged.yaml}
models=${DOZOR_MODELS_DIR:-/var/lib/dozor/models}

if [ $# -gt 0 ] && [ "$1" != edged ] && [ "${1#-}" = "$1" ]; then
  exec "$@"
fi
[ $# -gt 0 ] && [ "$1" = edged ] && shift

if ! edgectl models verify --dir "$models"; then
  echo "dozor: the models in $models failed verification: mount a directory holding the" >&2
  echo "dozor: verified model files there (edgectl models install --from DIR --to HOSTDIR; -v HOSTDIR:$models:ro)" >&2
  exit 1
fi
exec edged -config "$config" "$@"
