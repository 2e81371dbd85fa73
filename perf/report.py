"""Merges the benchmark's JSON lines (one per system and concurrency) into Markdown tables with ratios.

    python perf/report.py target/perf/server.jsonl target/perf/references.jsonl

Two tables: tokens per second all in (prefills, decode steps, sampling; with the p50 time to the
first audio chunk's tokens), and the decode rate (N / median decode step at full batch).
"""
import json
import math
import sys

OURS = "cosyvoice-batching"


def load(paths):
    rows = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    r = json.loads(line)
                    rows[(r["system"], int(r["concurrency"]))] = r
    return rows


def number(r, key):
    v = None if r is None else r.get(key)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def table(rows, title, key, extra=None):
    systems = sorted({s for s, _ in rows}, key=lambda s: (not s.startswith("cosyvoice"), s))
    others = [s for s in systems if s != OURS]
    levels = sorted({c for _, c in rows})
    print(f"**{title}**\n")
    print("| concurrency | " + " | ".join(systems) + "".join(f" | batching ÷ {s}" for s in others) + " |")
    print("|---" * (1 + len(systems) + len(others)) + "|")
    for c in levels:
        cells = []
        for s in systems:
            r = rows.get((s, c))
            v = number(r, key)
            cell = "–" if v is None else f"{v:.1f}"
            e = number(r, extra) if extra else None
            if e is not None:
                cell += f" ({e:.0f} ms)"
            cells.append(cell)
        ours = number(rows.get((OURS, c)), key)
        ratios = []
        for s in others:
            other = number(rows.get((s, c)), key)
            ratios.append("–" if ours is None or not other else f"{ours / other:.2f}×")
        print(f"| {c} | " + " | ".join(cells) + "".join(f" | {x}" for x in ratios) + " |")
    print()


def main(paths):
    rows = load(paths)
    table(rows, "Speech tokens per second, all in (first-chunk tokens p50)", "tokens_per_second", "first_chunk_p50_ms")
    table(rows, "Decode tokens per second (N / median decode step)", "decode_tokens_per_second")


if __name__ == "__main__":
    main(sys.argv[1:])
