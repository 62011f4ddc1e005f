#!/usr/bin/env bash
# Claude Code (npm @anthropic-ai/claude-code, pinned) for its end-to-end test through the
# gateway: installs it once under ~/.cache, prints the path of its launcher. A no-op (well
# under a second) when that version is already there.
set -euo pipefail
VERSION="${CLAUDE_CODE_VERSION:-2.1.328}"
DIR="${CLAUDE_CODE_DIR:-${HOME:-/root}/.cache/switchyard/claude-code-$VERSION}"
LAUNCHER="$DIR/node_modules/@anthropic-ai/claude-code/cli-wrapper.cjs"
if ! node "$LAUNCHER" --version 2>/dev/null | grep -q "^$VERSION "; then
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error \
    "@anthropic-ai/claude-code@$VERSION" >&2
  node "$LAUNCHER" --version >&2
fi
echo "$LAUNCHER"
