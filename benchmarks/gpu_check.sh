#!/usr/bin/env bash
# GPU check (issue 5), for a machine with an NVIDIA GPU; finishes in under 5 minutes.
#   1. makes CuPy importable: uses a CuPy that is already installed (GPU machines may come with
#      cupy-cuda13x and no network), else `pip install -e '.[gpu]'`;
#   2. runs the cupy cases of the test suite (python3 -m pytest -q -k cupy tests/) and fails if they
#      all skip: on a GPU machine a skip means CuPy is not working;
#   3. times W2 and W3 on CuPy against hand-written CuPy: benchmarks/run.py --device cupy --only W2,W3.
# Usage: bash benchmarks/gpu_check.sh        (PYTHON=python3.12 bash benchmarks/gpu_check.sh to pick one)
# JSON results go to $OUT when that is set (the device runner's folder), else benchmarks/results/.
# Exits non-zero when a step fails; every step still runs where it can, and a summary closes the output.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
RESULTS_DIR=${OUT:-benchmarks/results}
start=$SECONDS
declare -a summary
fail=0
note() { summary+=("$1"); echo "-- $1"; }

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,utilization.gpu --format=csv,noheader 2>/dev/null \
  || echo "nvidia-smi: not available"
echo "python: $($PY --version 2>&1) at $(command -v "$PY")"
echo "commit: $(git describe --always --dirty 2>/dev/null || echo unknown)"

echo "== 1. CuPy"
if $PY -c "import cupy" 2>/dev/null; then
  note "cupy already importable: install skipped"
else
  echo "cupy not importable: pip install -e '.[gpu]' (at most 120 s)"
  if timeout 120 $PY -m pip install -q --retries 1 --timeout 20 -e '.[gpu]'; then
    note "installed the gpu extra"
  else
    note "FAIL: pip install -e '.[gpu]' failed (no network? no wheel for this Python/CUDA?)"
    fail=1
  fi
fi
if ! timeout 120 $PY - <<'EOF'
import cupy
n = cupy.cuda.runtime.getDeviceCount()
props = cupy.cuda.runtime.getDeviceProperties(0)
name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
x = cupy.arange(10, dtype=cupy.float64)
assert float((x * x).sum()) == 285.0  # a kernel compiles and runs
print(f"cupy {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}, {n} device(s): {name}")
EOF
then
  note "FAIL: CuPy does not run a kernel on this machine; nothing more to check"
  printf '%s\n' "== summary" "${summary[@]}"
  exit 1
fi
if ! $PY -c "import irgraph" 2>/dev/null; then
  echo "irgraph not importable here (missing dependency?): pip install -e . (at most 60 s)"
  timeout 60 $PY -m pip install -q --retries 1 --timeout 20 -e . || true
fi
if ! $PY -c "import irgraph; irgraph.compile('y = x*x').run({'x': 2.0}, device='cupy')"; then
  note "FAIL: irgraph cannot run a program on device cupy"
  fail=1
fi

echo "== 2. cupy tests"
if $PY -c "import pytest" 2>/dev/null; then
  # -o addopts= : the project's addopts already say -q, and -qq would hide the closing count line.
  log=$(mktemp)
  timeout 150 $PY -m pytest -o addopts= -q -ra -k cupy tests/ -p no:cacheprovider 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  counts=$(tail -n 1 "$log")
  rm -f "$log"
  if [ "$rc" = 0 ] && ! grep -q "passed" <<<"$counts"; then
    rc=skipped
  fi
  case $rc in
    0) note "cupy tests: $counts" ;;
    skipped) note "FAIL: every cupy test was skipped on a GPU machine ($counts): see the SKIPPED reasons"; fail=1 ;;
    5) note "FAIL: no cupy test was collected (-k cupy selected nothing)"; fail=1 ;;
    124) note "FAIL: cupy tests took over 150 s and were stopped"; fail=1 ;;
    *) note "FAIL: cupy tests failed (pytest exit $rc): $counts"; fail=1 ;;
  esac
else
  note "FAIL: pytest is not installed here: cupy tests not run"
  fail=1
fi

echo "== 3. W2, W3 on cupy vs hand-written CuPy"
timeout 150 $PY benchmarks/run.py --device cupy --only W2,W3 --results-dir "$RESULTS_DIR"
rc=$?
case $rc in
  0) note "benchmark ran; ratios in its summary above" ;;
  124) note "FAIL: benchmark took over 150 s and was stopped"; fail=1 ;;
  *) note "FAIL: benchmark exited $rc (1: an answer was wrong, 2: CuPy or GPU missing)"; fail=1 ;;
esac

printf '%s\n' "== summary ($((SECONDS - start)) s)" "${summary[@]}"
exit $fail
