#!/usr/bin/env bash
# The long crash-safety run: N SIGKILL trials (default 1000) against a real vault.
# Usage: scripts/crash-trials.sh [N] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
export CASEBOOK_CRASH_TRIALS="${1:-1000}"
[ -n "${2:-}" ] && export CASEBOOK_CRASH_SEED="$2"
exec cargo test --release -p casebook-cli --test crash_safety -- --nocapture
