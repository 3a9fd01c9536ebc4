#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs what the tests need
# (Debian packages, Python packages), then lints, type-checks and runs pytest.
# CI (.ci/run) calls exactly this. Re-runs skip what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Go 1.23 comes from bookworm-backports; PostgreSQL and Redis from Debian;
# prometheus for promtool, which checks and unit-tests the rendered alert rules.
apt_packages=(postgresql redis-server golang-1.23-go git jq prometheus)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ ! -e /etc/apt/sources.list.d/backports.sources ]] && grep -q bookworm /etc/os-release; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      > /etc/apt/sources.list.d/backports.sources
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports golang-1.23-go >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

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
