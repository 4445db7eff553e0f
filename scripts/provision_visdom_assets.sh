#!/usr/bin/env bash
# Provision the JavaScript, CSS and font files of visdom's web page from the npm registry, so
# the visdom server (python -m pytracking.visdom_server) serves a working page without network.
#
# visdom's own start-up (visdom.server.build.download_scripts) fetches these files from
# unpkg/cdnjs/plot.ly/d3js.org at every start and fails offline; only main.js and visdom's CSS
# ship in the Python package. Every file below is the one download_scripts would fetch, taken
# from the same package version on npm (`npm pack`), and written under the same name into
# visdom's static folder (<site-packages>/visdom/static/{js,css,fonts}). With all of them in
# place and static/version.built written, even the stock `visdom` command finds nothing to fetch.
#
# Usage: scripts/provision_visdom_assets.sh            (uses <repo>/.venv/bin/python)
#        VPY=/path/to/python scripts/provision_visdom_assets.sh
# Idempotent: a second run checks the files (well under a second) and changes nothing.
# Needs: npm (Debian package `npm`) on the first run only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VPY="${VPY:-$ROOT/.venv/bin/python}"
say() { printf '[visdom-assets] %s\n' "$*"; }

# locate the package without importing it (importing visdom takes seconds)
if ! VISDOM_DIR="$("$VPY" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("visdom").origin))' 2>/dev/null)" \
   || [ ! -f "$VISDOM_DIR/VERSION" ]; then
    say "ERROR: visdom is not installed for $VPY (install the Python dependencies first)" >&2
    exit 1
fi
STATIC="$VISDOM_DIR/static"
VISDOM_VERSION="$(tr -d '[:space:]' < "$VISDOM_DIR/VERSION")"

# npm package@version | file inside the package | destination below visdom/static
ASSETS=(
    "jquery@3.1.1|dist/jquery.min.js|js/jquery.min.js"
    "bootstrap@3.3.7|dist/js/bootstrap.min.js|js/bootstrap.min.js"
    "bootstrap@3.3.7|dist/css/bootstrap.min.css|css/bootstrap.min.css"
    "bootstrap@3.3.7|dist/fonts/glyphicons-halflings-regular.eot|fonts/glyphicons-halflings-regular.eot"
    "bootstrap@3.3.7|dist/fonts/glyphicons-halflings-regular.woff2|fonts/glyphicons-halflings-regular.woff2"
    "bootstrap@3.3.7|dist/fonts/glyphicons-halflings-regular.woff|fonts/glyphicons-halflings-regular.woff"
    "bootstrap@3.3.7|dist/fonts/glyphicons-halflings-regular.ttf|fonts/glyphicons-halflings-regular.ttf"
    "bootstrap@3.3.7|dist/fonts/glyphicons-halflings-regular.svg|fonts/glyphicons-halflings-regular.svg"
    "bootstrap@3.3.7|dist/fonts/glyphicons-halflings-regular.svg|fonts/glyphicons-halflings-regular.svg#glyphicons_halflingsregular"
    "react@16.2.0|umd/react.production.min.js|js/react-react.min.js"
    "react-dom@16.2.0|umd/react-dom.production.min.js|js/react-dom.min.js"
    "react-modal@3.1.10|dist/react-modal.min.js|js/react-modal.min.js"
    "plotly.js-dist-min@2.11.1|plotly.min.js|js/plotly-plotly.min.js"
    "sjcl@1.0.7|sjcl.js|js/sjcl.js"
    "layout-bin-packer@1.4.0|dist/layout-bin-packer.js|js/layout_bin_packer.js"
    "layout-bin-packer@1.4.0|dist/layout-bin-packer.js.map|js/layout-bin-packer.js.map"
    "d3@3.5.17|d3.min.js|js/d3.v3.min.js"
    "d3-selection-multi@1.0.1|build/d3-selection-multi.js|js/d3-selection-multi.v1.js"
    "save-svg-as-png@1.4.17|lib/saveSvgAsPng.js|js/saveSvgAsPng.js"
    "react-resizable@1.4.6|css/styles.css|css/react-resizable-styles.css"
    "react-grid-layout@0.16.3|css/styles.css|css/react-grid-layout-styles.css"
    "classnames@2.2.5|index.js|fonts/classnames"
    "mathjax@2.7.5|MathJax.js|js/mathjax/2.7.5/MathJax.js"
)
# MathJax loads further files at run time; these folders of the npm package (about 15 MB) cover
# the TeX input and the SVG / HTML-CSS outputs visdom's page configures.
MATHJAX_PKG="mathjax@2.7.5"
MATHJAX_DIRS=(config extensions jax/element jax/input jax/output/CommonHTML jax/output/PreviewHTML
              jax/output/NativeMML jax/output/SVG/fonts/TeX fonts/HTML-CSS/TeX/woff)
MATHJAX_FILES=(jax/output/SVG/jax.js jax/output/SVG/config.js jax/output/SVG/autoload
               jax/output/HTML-CSS/jax.js jax/output/HTML-CSS/config.js jax/output/HTML-CSS/autoload
               jax/output/HTML-CSS/imageFonts.js jax/output/HTML-CSS/fonts/TeX)
MATHJAX_DEST="js/mathjax/2.7.5"

STAMP="$STATIC/.ebmtrack-assets"
STAMP_TEXT="assets-v1 visdom=$VISDOM_VERSION"

all_present() {
    local entry dest
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ] || return 1
    for entry in "${ASSETS[@]}"; do
        dest="${entry##*|}"
        [ -s "$STATIC/$dest" ] || return 1
    done
    [ -s "$STATIC/$MATHJAX_DEST/config/TeX-AMS-MML_HTMLorMML.js" ] || return 1
    [ -s "$STATIC/$MATHJAX_DEST/jax/output/SVG/jax.js" ] || return 1
    [ -f "$VISDOM_DIR/user/style.css" ] || return 1
}

if all_present; then
    say "visdom page assets present in $STATIC"
    exit 0
fi

if ! command -v npm >/dev/null; then
    say "ERROR: npm is needed to provision visdom's page assets (apt-get install npm)" >&2
    exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# unique package@version list, packed and unpacked one folder each
declare -A UNPACKED=()
unpack() {
    local spec="$1" dir
    [ -n "${UNPACKED[$spec]:-}" ] && return 0
    dir="$WORK/$(printf '%s' "$spec" | tr '@/' '__')"
    mkdir -p "$dir"
    say "fetching $spec from npm"
    (cd "$dir" && npm pack --silent "$spec" >/dev/null)
    tar -xzf "$dir"/*.tgz -C "$dir" --warning=no-unknown-keyword
    UNPACKED[$spec]="$dir/package"
}

for entry in "${ASSETS[@]}" "$MATHJAX_PKG||"; do
    unpack "${entry%%|*}"
done

mkdir -p "$STATIC/js" "$STATIC/css" "$STATIC/fonts"
for entry in "${ASSETS[@]}"; do
    IFS='|' read -r spec src dest <<<"$entry"
    mkdir -p "$(dirname "$STATIC/$dest")"
    install -m 0644 "${UNPACKED[$spec]}/$src" "$STATIC/$dest"
done

MJ_SRC="${UNPACKED[$MATHJAX_PKG]}"
for sub in "${MATHJAX_DIRS[@]}" "${MATHJAX_FILES[@]}"; do
    mkdir -p "$(dirname "$STATIC/$MATHJAX_DEST/$sub")"
    cp -R "$MJ_SRC/$sub" "$(dirname "$STATIC/$MATHJAX_DEST/$sub")/"
done

# the page links ../user/style.css (served from the user's settings); an empty file here only
# stops tornado from logging an error while it computes that link's version hash
mkdir -p "$VISDOM_DIR/user" && touch "$VISDOM_DIR/user/style.css"
printf '%s\n' "$VISDOM_VERSION" > "$STATIC/version.built"
printf '%s\n' "$STAMP_TEXT" > "$STAMP"
say "visdom page assets written to $STATIC"
