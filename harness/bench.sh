#!/usr/bin/env bash
# Benchmarks (figures, not tests): trials per second per core on corpus
# regions, and the cost of probesafe's harness relative to a plain unhooked
# Unicorn run of the same function, measured side by side in one run.
#   harness/bench.sh [FILTER]     e.g. harness/bench.sh aarch64
set -euo pipefail
cd "$(dirname "$0")/.."
./harness/setup.sh
cargo bench --locked --bench trials -- "$@" >/dev/null 2>&1
python3 - <<'PY'
import json, pathlib
root = pathlib.Path("target/criterion")
rows = {}
for est in root.glob("trials_*/*/new/estimates.json"):
    group, bench = est.parts[-4], est.parts[-3]
    fn, _, kind = bench.rpartition("_")
    ns = json.loads(est.read_text())["median"]["point_estimate"]
    rows.setdefault((group.removeprefix("trials_"), fn), {})[kind] = ns
print(f"{'target':<10} {'function':<18} {'probesafe trials/s':>19} {'unhooked runs/s':>16} {'harness cost':>13}")
for (target, fn), r in sorted(rows.items()):
    if "probesafe" in r and "unhooked" in r:
        p, u = 1e9 / r["probesafe"], 1e9 / r["unhooked"]
        print(f"{target:<10} {fn:<18} {p:>19,.0f} {u:>16,.0f} {r['probesafe'] / r['unhooked']:>12.2f}x")
PY
