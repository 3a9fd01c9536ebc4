#!/usr/bin/env bash
# Update this project from its template release and commit the result on a branch,
# for CI's template-update job to open a pull/merge request from (dependency bots
# do the same for dependencies). Writes the request's body to $1 and prints the
# branch name; prints nothing when the project is up to date.
#
# The body carries prodready's report (the changelog between the two releases,
# every file changed, renamed, kept or in conflict) and every conflict left in the
# tree: inline markers in any file and .rej files, even ones .gitignore hides.
# Conflicts are committed as they are, for review in the request.
#
# prodready comes from the template repository the project records, at its default
# branch (the newest release's tooling); PRODREADY_SPEC overrides what pip installs,
# PRODREADY_SPEC=none uses the prodready on PATH (see scripts/prodready.sh).
set -euo pipefail

body=${1:?usage: scripts/template-update.sh BODY_FILE}

report=$(mktemp)
status=0
PRODREADY_REF="" "$(dirname "$0")/prodready.sh" update --defaults >"$report" 2>&1 || status=$?
if [ "$status" -gt 1 ]; then
  cat "$report" >&2
  exit "$status"
fi
# prodready stages the whole update, .rej files .gitignore hides included; this also
# stages conflicted files as they are (markers and all).
git add --all
if git diff --cached --quiet; then
  exit 0
fi

version=$(sed -n 's/^_commit: *//p' .copier-answers.yml | tr -d "'\"")
branch="template-update/${version}"
markers=$(git grep -n --cached -e '^<<<<<<< ' -e '^>>>>>>> ' || true)
rejects=$(git diff --cached --name-only --diff-filter=A | grep '\.rej$' || true)
{
  echo "Updates this project to template release ${version} with \`prodready update\`."
  echo
  if [ "$status" -eq 1 ] || [ -n "$markers" ] || [ -n "$rejects" ]; then
    echo "**Needs a person**: resolve what is listed below before merging."
    echo
  fi
  echo '```text'
  cat "$report"
  echo '```'
  if [ -n "$markers" ] || [ -n "$rejects" ]; then
    echo
    echo "Conflicts left in the tree:"
    echo
    echo '```text'
    [ -z "$markers" ] || echo "$markers"
    [ -z "$rejects" ] || echo "$rejects"
    echo '```'
  fi
} >"$body"

git switch --quiet --create "$branch"
git -c user.name="prodready template update" -c user.email="template-update@localhost" \
  commit --quiet --no-verify --message "Update to template release ${version}"
echo "$branch"
