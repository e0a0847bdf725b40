#!/usr/bin/env bash
# Prints the packaged /etc/dozor/edged.yaml: the commented example
# configuration (edge/config/example.yaml, the compiled-in defaults) with the
# three paths that are relative to a source checkout moved under
# /var/lib/dozor, and a note saying so. Fails when the example no longer has
# one of those lines exactly once, so a change there cannot slip past the
# package unnoticed.
#
#   packaging/deb/config.sh edge/config/example.yaml >edged.yaml
set -euo pipefail
example=${1:?usage: config.sh EXAMPLE.yaml}

awk '
  BEGIN {
    to["  dir: var/models"]           = "  dir: /var/lib/dozor/models"
    to["  path: var/dozor.db"]        = "  path: /var/lib/dozor/data/dozor.db"
    to["  key_file: var/dozor.key"]   = "  key_file: /var/lib/dozor/data/dozor.key"
  }
  NR == 1 {
    print
    print "#"
    print "# Installed by the dozor-edge package. It differs from the compiled-in"
    print "# defaults (edged -print-example-config) only in models.dir, store.path and"
    print "# store.key_file, which point under /var/lib/dozor: the models are root'\''s and"
    print "# verified by edged at every start; the store and its key are in data/, the"
    print "# daemon'\''s own folder. The service runs edged -config /etc/dozor/edged.yaml."
    next
  }
  $0 in to { print to[$0]; seen[$0]++; next }
  { print }
  END {
    bad = 0
    for (k in to) if (seen[k] != 1) {
      printf "config.sh: %s: expected the line \"%s\" once, found it %d times\n", FILENAME, k, seen[k] > "/dev/stderr"
      bad = 1
    }
    exit bad
  }' "$example"
