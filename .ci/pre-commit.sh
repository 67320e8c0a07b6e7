#!/usr/bin/env bash
# The pre-commit hooks on a sample repository made by `rapidata init`, with pre-commit from
# PyPI, as a team would use them (docs/install.md):
#   1. `rapidata-validate` of .pre-commit-hooks.yaml (language: system, the `rapidata` on
#      PATH): passes on the valid project, is skipped when no manifest changed, and stops a
#      commit that breaks a manifest, naming file:line.
#   2. the `repo: local` variant (language: python, `additional_dependencies:
#      [rapidata-manifests==VERSION]`): pre-commit installs the wheel into its own
#      environment. The wheel is not on PyPI before a release, so pip finds it in WHEEL_DIR
#      (--find-links); pre-commit's placeholder package needs setuptools from PyPI.
#
# Usage: .ci/pre-commit.sh PRE_COMMIT WHEEL_DIR   (with the wheel's `rapidata` first on PATH)
set -euo pipefail
pre_commit="$1"
wheel_dir="$(cd "$2" && pwd)"
here="$(cd "$(dirname "$0")/.." && pwd)"
command -v rapidata >/dev/null || { echo "rapidata is not on PATH" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export PRE_COMMIT_HOME="$work/pre-commit-cache"
export GIT_CONFIG_GLOBAL="$work/gitconfig" GIT_CONFIG_NOSYSTEM=1
git config --global user.name "rapidata ci"
git config --global user.email "ci@rapidata.invalid"
git config --global init.defaultBranch main
git config --global commit.gpgsign false
passed=0
failed=0
check() { # check NAME COMMAND...: run, count, keep going
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"
  else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

# The hook repository: this checkout's .pre-commit-hooks.yaml as it is in the work tree
# (committed or not), in a repository of its own that pre-commit clones (a local path:
# no network).
hooks="$work/hooks"
mkdir -p "$hooks"
cp "$here/.pre-commit-hooks.yaml" "$hooks/"
git -C "$hooks" init -q
git -C "$hooks" add .pre-commit-hooks.yaml
git -C "$hooks" commit -q -m hooks
rev="$(git -C "$hooks" rev-parse HEAD)"

# The sample repository: a project from `rapidata init`, and the snippet of docs/install.md
# with `repo:` and `rev:` pointing at the hook repository.
sample="$work/sample"
rapidata init -q "$sample"
cd "$sample"
git init -q
cat > .pre-commit-config.yaml <<EOF
repos:
  - repo: $hooks
    rev: $rev
    hooks:
      - id: rapidata-validate
EOF
echo "# notes" > README.md
git add -A
git commit -q -m "rapidata init"
"$pre_commit" install

out="$work/out.txt"
expect_pass() { "$pre_commit" "$@" > "$out" 2>&1 || { cat "$out"; return 1; }; cat "$out"; }
expect_fail() { if "$pre_commit" "$@" > "$out" 2>&1; then cat "$out"; return 1; fi; cat "$out"; }

check "valid project passes" expect_pass run --all-files
check "valid project passes: the hook ran" grep -q "rapidata validate.*Passed" "$out"

echo "more notes" >> README.md
git add README.md
check "no manifest changed: skipped" expect_pass run
check "no manifest changed: skipped (said)" grep -q "rapidata validate.*no files to check.*Skipped" "$out"
git commit -q -m "notes"

sed -i 's/^instruction: Is this review positive or negative?$/instrution: Is this review positive or negative?/' manifests/example.yaml
git add manifests/example.yaml
check "broken manifest fails" expect_fail run
check "broken manifest fails: names file and field" grep -q "unknown field .instrution." "$out"
check "broken manifest fails: file:line" grep -q "manifests/example.yaml:[0-9]*:[0-9]*" "$out"
# The installed git hook stops the commit.
before="$(git rev-parse HEAD)"
check "git commit refused" bash -c '! git commit -q -m broken > /dev/null 2>&1'
check "git commit refused: HEAD unchanged" test "$(git rev-parse HEAD)" = "$before"
git reset -q --hard

# 2. The `repo: local` variant with the wheel pinned by version.
version="$(rapidata --version | awk '{print $2}')"
cat > .pre-commit-config.yaml <<EOF
repos:
  - repo: local
    hooks:
      - id: rapidata-validate
        name: rapidata validate
        entry: rapidata validate
        language: python
        additional_dependencies: ["rapidata-manifests==$version"]
        pass_filenames: false
        files: '(\.ya?ml|\.jsonl|\.csv|(^|/)rapidata\.toml)$'
EOF
git add .pre-commit-config.yaml
export PIP_FIND_LINKS="$wheel_dir" PIP_DISABLE_PIP_VERSION_CHECK=1
check "local python hook (wheel $version from $wheel_dir) passes" expect_pass run --all-files
check "local python hook: its own rapidata" \
  bash -c 'ls "$PRE_COMMIT_HOME"/repo*/py_env-*/bin/rapidata >/dev/null'

echo
echo "pre-commit hooks: $passed passed, $failed failed"
test "$failed" -eq 0
