"""Merges the benchmark's JSON lines (one per system and concurrency) into one Markdown table with ratios.

    python perf/report.py target/perf/server.jsonl target/perf/references.jsonl
"""
import json
import sys


def main(paths):
    rows = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    r = json.loads(line)
                    rows[(r["system"], int(r["concurrency"]))] = r
    systems = sorted({s for s, _ in rows}, key=lambda s: (not s.startswith("cosyvoice"), s))
    levels = sorted({c for _, c in rows})
    print("| concurrency | " + " | ".join(f"{s} tok/s (first chunk p50 ms)" for s in systems) + " | batching ÷ " +
          " | batching ÷ ".join(s for s in systems if s != "cosyvoice-batching") + " |")
    print("|---" * (1 + len(systems) + len(systems) - 1) + "|")
    for c in levels:
        cells = []
        for s in systems:
            r = rows.get((s, c))
            cells.append("–" if r is None else f"{r['tokens_per_second']:.1f} ({r.get('first_chunk_p50_ms', float('nan')):.0f})")
        ours = rows.get(("cosyvoice-batching", c))
        ratios = []
        for s in systems:
            if s == "cosyvoice-batching":
                continue
            other = rows.get((s, c))
            ratios.append("–" if ours is None or other is None or not other["tokens_per_second"]
                          else f"{ours['tokens_per_second'] / other['tokens_per_second']:.2f}×")
        print(f"| {c} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
