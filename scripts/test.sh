#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs what the tests need
# (Debian packages, Python packages), then lints, type-checks and runs pytest.
# CI (.ci/run) calls exactly this. Re-runs skip what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL and Redis from Debian; prometheus for promtool, which checks and
# unit-tests the rendered alert rules. Go is the machine's own (on PATH).
apt_packages=(postgresql redis-server git jq prometheus)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "scripts/test.sh: Go is not on PATH" >&2; exit 1; }

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
# checkov lives in its own venv: its dependency pins clash with the suite's.
if [[ ! -x .tools/checkov-venv/bin/checkov ]]; then
  python3 -m venv .tools/checkov-venv
  .tools/checkov-venv/bin/pip install --quiet --disable-pip-version-check 'checkov>=3.2,<4'
fi

lint_paths=()
for dir in src tests benchmarks tools; do [[ -d $dir ]] && lint_paths+=("$dir"); done
ruff check "${lint_paths[@]}"
ruff format --check "${lint_paths[@]}"
mypy

exec python3 -m pytest -n 2 --dist loadgroup "$@"
