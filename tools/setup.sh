#!/usr/bin/env bash
# Installs the Debian packages, builds build/nspbert, and runs a zero-shot classification on the
# small model bundled in tests/data, so a newcomer sees the whole pipeline work offline.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Python package (tools/python) needs pybind11 and NumPy; its tests pytest and pandas; setuptools,
# pip and venv serve `pip install --no-build-isolation ./tools/python` (README, "Python").
# clang builds the sanitizer and fuzz targets (tools/run_tests.sh): libclang-rt-dev holds the
# ASan/UBSan/libFuzzer runtimes (only recommended by clang) and libomp-dev clang's OpenMP (not pulled in).
# python3-dask/python3-distributed run nspbert.distributed (README, "Scaling out"); slurm-wlm and
# munge the one-node Slurm cluster tests/slurm_test.sh starts.
# clang-format checks the C++ style in the test command (.clang-format, tools/check_format.sh).
# python3-jieba ships jieba's dict.txt, the dictionary RoFormer's word-level vocabularies need (README).
packages=(build-essential cmake pkg-config libdnnl-dev libsentencepiece-dev sentencepiece libcli11-dev
          nlohmann-json3-dev libspdlog-dev libutf8proc-dev libgtest-dev python3 clang libclang-rt-dev libomp-dev
          python3-jieba python3-dev pybind11-dev python3-pybind11 python3-numpy python3-pytest python3-pandas
          python3-setuptools python3-pip python3-venv clang-format
          python3-dask python3-distributed slurm-wlm munge)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"

echo
echo "== zero-shot demo: build/nspbert classify with models/pretrained/zh-mini (trained here, tools/train) =="
build/nspbert classify --model models/pretrained/zh-mini \
  --template '这是一则{label}新闻' --labels 体育,财经,科技,娱乐 --format table \
  '梅西超越贝利成为南美射手王' '央行宣布下调存款准备金率'
build/nspbert classify --model models/pretrained/zh-mini \
  --template '这次买的东西很{label}' --labels 好,差 --format table \
  '物流很快，质量也不错，下次还来' '用了两天就坏了，客服也不理人'

echo
echo "== the same from Python: PYTHONPATH=build/python /usr/bin/python3 =="
PYTHONPATH=build/python /usr/bin/python3 -c "
import nspbert
m = nspbert.Model('models/pretrained/zh-mini')
for r in m.classify(['物流很快，质量也不错，下次还来'], ['好', '差'], '这次买的东西很{label}'):
    print(r['text'], r['label'])
"
