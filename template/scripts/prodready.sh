#!/usr/bin/env bash
# Runs prodready as installed from the template repository this project records
# (`_src_path` in .copier-answers.yml), at the release the project was rendered
# from or last updated to (`_commit`): CI checks the project with the same
# release that rendered it, and every release is a tag of that repository.
#
#   scripts/prodready.sh check --format sarif
#
# PRODREADY_REF installs another ref instead (empty: the default branch);
# PRODREADY_SPEC overrides what pip installs; PRODREADY_SPEC=none uses the
# prodready already on PATH.
set -euo pipefail

answers=.copier-answers.yml
answer() { sed -n "s/^$1: *//p" "$answers" | tr -d "'\""; }

spec=${PRODREADY_SPEC:-}
if [ -z "$spec" ]; then
  [ -f "$answers" ] || { echo "scripts/prodready.sh: no $answers here; run it from the project root" >&2; exit 2; }
  source_url=$(answer _src_path)
  case $source_url in
    http://* | https://* | ssh://* | git@*) ;;
    *) echo "scripts/prodready.sh: _src_path '$source_url' is not a repository URL; set PRODREADY_SPEC" >&2; exit 2 ;;
  esac
  ref=${PRODREADY_REF-$(answer _commit)}
  # `git describe` form (v1.2.0-3-gabc1234) of an unreleased commit: its hash.
  if [[ $ref =~ -g([0-9a-f]{7,40})$ ]]; then
    ref=${BASH_REMATCH[1]}
  fi
  spec="prodready @ git+${source_url}${ref:+@$ref}"
fi
if [ "$spec" != none ]; then
  python3 -m pip install --quiet --disable-pip-version-check "$spec" >&2
fi
exec prodready "$@"
