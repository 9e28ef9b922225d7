"""One table of every benchmark's headline figures, read from bench/results/*.json.

python -m bench.summary
"""

from __future__ import annotations

import json

from bench.results import results_dir


def main() -> int:
    rows = []
    folder = results_dir()
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        for f in data.get("figures", []):
            verdict = "" if f["met"] is None else ("met" if f["met"] else "MISSED")
            ratio = f"{f['ratio']:.2f}x {f['baseline']}" if f["ratio"] is not None else ""
            value = f"{f['value']:,.0f}" if abs(f["value"]) >= 1000 else f"{f['value']:.4g}"
            rows.append(
                (
                    data["bench"],
                    f["name"],
                    f"{value} {f['unit']}",
                    f["target"],
                    verdict,
                    ratio,
                    data["at"][:16],
                )
            )
    if not rows:
        print(f"no results in {folder}: run `make bench` first")
        return 1
    header = ("bench", "figure", "measured", "target", "", "vs baseline (same run)", "when")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
