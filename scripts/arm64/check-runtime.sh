#!/usr/bin/env bash
# Checks Dockerfile.arm64's package lists against what the arm64 binaries
# really need, without a Docker engine:
#
#  1. the shared objects edged and edgectl load: their NEEDED entries and,
#     recursively, those of every library they name, resolved in the arm64
#     sysroot the way the dynamic loader would (RUNPATH, then the system
#     directories);
#  2. the arm64 package that ships each of those files (from the contents of
#     the .debs scripts/arm64/sysroot.sh downloaded, dpkg-deb -c; a library
#     reached through an update-alternatives link, libblas.so.3, counts for
#     the package shipping the file the link points to);
#  3. that every such package is in the runtime stage's apt-get install list
#     or pulled in by one in it (Depends and Pre-Depends, dpkg-deb -f, with
#     alternatives and virtual packages resolved as apt would);
#  4. that the runtime list holds no -dev package, and that the builder
#     stage installs every lib*-dev package of scripts/deps.sh.
#
# It fails with a message naming each missing package, the shared objects
# it ships and who needs them.
#
#   scripts/arm64/check-runtime.sh [-v] [BIN_DIR]     (bin/linux-arm64)
#
# -v prints every shared object with its package and how it gets into the
# image; without it that table is printed only when the check fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
verbose=false
if [ "${1:-}" = -v ]; then verbose=true; shift; fi
bin=${1:-bin/linux-arm64}
dockerfile=${DOCKERFILE:-Dockerfile.arm64}
ARM64_DIR=${ARM64_DIR:-$PWD/var/arm64}
SYSROOT=$ARM64_DIR/sysroot
pkgs_tsv=$ARM64_DIR/packages.tsv
idx=$ARM64_DIR/index

die() { echo "check-runtime: $*" >&2; exit 1; }
[ -f "$pkgs_tsv" ] && [ -d "$SYSROOT" ] || die "no arm64 sysroot: run scripts/arm64/sysroot.sh (make arm64-sysroot)"
[ -f "$dockerfile" ] || die "$dockerfile missing"
for b in edged edgectl; do [ -x "$bin/$b" ] || die "$bin/$b missing: run make arm64"; done
readelf=$(command -v aarch64-linux-gnu-readelf || command -v readelf) || die "readelf missing (binutils-aarch64-linux-gnu)"

# --- the .debs' contents and control fields, indexed once per package set.
stamp=$(sha256sum "$pkgs_tsv" | cut -c1-16)
if [ "$(cat "$idx/stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "check-runtime: indexing $(wc -l <"$pkgs_tsv") arm64 packages"
  rm -rf "$idx"
  mkdir -p "$idx"
  while IFS=$'\t' read -r name _ _ deb; do
    # Shared-object paths (merged /usr, as in the sysroot) -> package.
    dpkg-deb -c "$deb" | awk -v p="$name" '{
        path = $6; sub(/^\./, "", path); sub(/^\/lib\//, "/usr/lib/", path)
        if (path ~ /\.so(\.[0-9]+)*$/) print path "\t" p }' >>"$idx/files.tsv"
    # package -> Depends + Pre-Depends -> Provides (continuation lines joined).
    dpkg-deb -f "$deb" | awk -v p="$name" '
        /^[A-Za-z-]+:/ { f = $0; sub(/:.*/, "", f); v = $0; sub(/^[^:]*: ?/, "", v); val[f] = v; last = f; next }
        /^[ \t]/ { val[last] = val[last] " " $0 }
        END {
          d = val["Pre-Depends"]; if (val["Depends"] != "") d = (d == "" ? "" : d ", ") val["Depends"]
          print p "\t" d "\t" val["Provides"] }' >>"$idx/control.tsv"
  done <"$pkgs_tsv"
  echo "$stamp" >"$idx/stamp"
fi

# --- 1 and 2: the shared objects the binaries load, and their packages.
declare -A seen=() pkg_of=() why=()
sysdirs=(/usr/lib/aarch64-linux-gnu /usr/lib)
queue=()
for b in edged edgectl; do queue+=("$bin/$b|$b"); done
lookup_pkg() { # path in the sysroot (absolute, from /) -> package, or empty
  awk -F'\t' -v p="$1" '$1 == p { print $2; exit }' "$idx/files.tsv"
}
unresolved=()
while [ ${#queue[@]} -gt 0 ]; do
  item=${queue[0]}
  queue=("${queue[@]:1}")
  file=${item%%|*}
  label=${item#*|}
  dyn=$("$readelf" -d "$file" 2>/dev/null) || die "readelf -d $file failed"
  origin=$(dirname "${file#"$SYSROOT"}")
  runpath=$(sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p' <<<"$dyn" | tr ':' ' ' | sed "s|\\\$ORIGIN|$origin|g; s|\\\${ORIGIN}|$origin|g")
  for soname in $(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dyn"); do
    [ -z "${seen[$soname]:-}" ] || { why[$soname]="${why[$soname]}, $label"; continue; }
    found=""
    # shellcheck disable=SC2086
    for d in $runpath "${sysdirs[@]}"; do
      if [ -e "$SYSROOT$d/$soname" ]; then found=$d/$soname; break; fi
    done
    seen[$soname]=${found:-?}
    why[$soname]=$label
    if [ -z "$found" ]; then unresolved+=("$soname (needed by $label)"); continue; fi
    p=$(lookup_pkg "$found")
    if [ -z "$p" ]; then # an update-alternatives link: the file it points to
      real=$(realpath "$SYSROOT$found")
      p=$(lookup_pkg "${real#"$SYSROOT"}")
    fi
    pkg_of[$soname]=${p:-?}
    queue+=("$SYSROOT$found|$soname")
  done
done
[ ${#unresolved[@]} -eq 0 ] || die "shared objects not found in the sysroot: ${unresolved[*]}"

# --- the Dockerfile's apt-get install lists, by stage (build, runtime).
install_list() { # stage name -> package names of its apt-get install RUNs
  awk -v stage="$1" '
    /^[ \t]*#/ { next }
    { line = $0 }
    cont != "" { line = cont " " line; cont = "" }
    line ~ /\\[ \t]*$/ { sub(/\\[ \t]*$/, "", line); cont = line; next }
    toupper(line) ~ /^[ \t]*FROM[ \t]/ { n = split(line, w, /[ \t]+/); cur = tolower(w[n]); next }
    cur == stage && line ~ /apt-get[^&;|]* install/ {
      s = line; sub(/.*apt-get[^&;|]* install/, "", s); sub(/&&.*/, "", s); sub(/;.*/, "", s)
      n = split(s, w, /[ \t]+/)
      for (i = 1; i <= n; i++) if (w[i] ~ /^[a-z0-9][a-z0-9.+-]+$/) print w[i]
    }' "$dockerfile"
}
mapfile -t runtime < <(install_list runtime)
mapfile -t builder < <(install_list build)
[ ${#runtime[@]} -gt 0 ] || die "$dockerfile: no apt-get install list in the stage named runtime"
[ ${#builder[@]} -gt 0 ] || die "$dockerfile: no apt-get install list in the stage named build"

problems=()
# --- 4: no -dev packages at run time; the builder has the libraries' -dev packages.
for p in "${runtime[@]}"; do
  case $p in *-dev) problems+=("runtime stage installs $p: a -dev package has no place in the runtime image") ;; esac
done
mapfile -t devs < <(sed -n '/^packages=(/,/^)/p' scripts/deps.sh | sed -e 's/#.*//' -e 's/^packages=(//' -e 's/^)//' |
  tr -s ' \t' '\n' | grep -E '^lib.*-dev$')
for p in "${devs[@]}"; do
  printf '%s\n' "${builder[@]}" | grep -qx -- "$p" || problems+=("build stage lacks $p, which scripts/deps.sh installs")
done

# --- 3: the runtime list's Depends closure, as apt would pull it in.
closure=$(printf '%s\n' "${runtime[@]}" | awk -F'\t' '
  NR == FNR { listed[$1] = 1; order[++n] = $1; next }
  { exists[$1] = 1; dep[$1] = $2
    m = split($3, pv, /,[ \t]*/)
    for (i = 1; i <= m; i++) { v = pv[i]; sub(/[ \t(].*/, "", v); gsub(/[ \t]/, "", v); if (v != "") prov[v] = prov[v] " " $1 } }
  function norm(a) { sub(/\(.*/, "", a); sub(/:[a-z0-9]+/, "", a); gsub(/[ \t]/, "", a); return a }
  function has(a,   k, ps, j) {
    if (a in in_set) return 1
    k = split(prov[a], ps, " "); for (j = 1; j <= k; j++) if (ps[j] in in_set) return 1
    return 0 }
  function pick(a,   k, ps) {
    if (a in exists) return a
    k = split(prov[a], ps, " "); return k > 0 ? ps[1] : "" }
  END {
    for (i = 1; i <= n; i++) {
      p = order[i]
      if (!(p in exists)) { print "UNKNOWN\t" p; continue }
      in_set[p] = 1; via[p] = "listed"; q[++t] = p
    }
    for (h = 1; h <= t; h++) {
      p = q[h]
      g = split(dep[p], groups, /,[ \t]*/)
      for (i = 1; i <= g; i++) {
        k = split(groups[i], alts, /\|/); ok = 0
        for (j = 1; j <= k; j++) if (has(norm(alts[j]))) { ok = 1; break }
        if (ok) continue
        c = ""
        for (j = 1; j <= k; j++) { c = pick(norm(alts[j])); if (c != "") break }
        if (c == "" || c in in_set) continue
        in_set[c] = 1; via[c] = p; q[++t] = c
      }
    }
    for (p in via) print "IN\t" p "\t" via[p]
  }' - "$idx/control.tsv")

declare -A via=() outside=()
while IFS=$'\t' read -r kind p v; do
  case $kind in
  UNKNOWN)
    # Not a library of the build's closure (certificates, data): it must at
    # least be a Debian 12 arm64 package.
    info=$(apt-cache -c "$ARM64_DIR/apt/apt.conf" show --no-all-versions "$p" 2>/dev/null || true)
    if grep -q '^Package:' <<<"$info"; then
      outside[$p]=1
    else
      problems+=("runtime stage installs $p, which is no Debian 12 arm64 package (misspelt?)")
    fi
    ;;
  IN) via[$p]=$v ;;
  esac
done <<<"$closure"

table=""
declare -A needed_pkgs=()
for soname in $(printf '%s\n' "${!seen[@]}" | sort); do
  p=${pkg_of[$soname]:-?}
  needed_pkgs[$p]=1
  v=${via[$p]:-}
  case $v in
  "") status="MISSING" ;;
  listed) status="listed" ;;
  *) status="pulled in by $v" ;;
  esac
  table+=$(printf '  %-32s %-28s %s' "$soname" "$p" "$status")$'\n'
  if [ -z "$v" ]; then
    problems+=("$p (ships $soname, needed by ${why[$soname]}) is neither in the runtime stage's apt-get install list nor pulled in by a package in it")
  fi
done
if $verbose || [ ${#problems[@]} -gt 0 ]; then
  echo "check-runtime: ${#seen[@]} shared objects loaded by $bin/edged and $bin/edgectl (recursively):"
  printf '%s' "$table"
fi
for p in "${runtime[@]}"; do
  if [ -n "${outside[$p]:-}" ]; then
    echo "check-runtime: note: $p (listed) ships no library: outside the libraries' closure, a Debian 12 arm64 package all the same"
  elif [ -z "${needed_pkgs[$p]:-}" ]; then
    echo "check-runtime: note: $p is listed but ships none of the shared objects the binaries load"
  fi
done

if [ ${#problems[@]} -gt 0 ]; then
  echo "check-runtime: $dockerfile does not match the arm64 binaries:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "check-runtime: ok: the ${#seen[@]} shared objects $bin/edged and $bin/edgectl load come from ${#needed_pkgs[@]} packages, each installed by the runtime stage of $dockerfile (${#runtime[@]} listed, $(grep -c . <<<"$closure") with their dependencies)"
