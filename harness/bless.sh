#!/usr/bin/env bash
# Regenerate every golden file under tests/golden/ from the current build;
# review the diff before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
PROBESAFE_BLESS=1 cargo test --locked --test golden
git status --short tests/golden
