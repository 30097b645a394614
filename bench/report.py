"""``results/bench/report.md``: the machine, one table of every figure, the plots."""

from __future__ import annotations

import json
from pathlib import Path


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if v == float("inf"):
            return "never"
        return f"{v:.4f}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)


def table(results: list[dict]) -> list[str]:
    lines = ["| benchmark | figure | ours | peer | peer is | ratio ours/peer | better |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        if r.get("error"):
            lines.append(f"| {r['benchmark']} | failed: {r['error'][:120]} | | | | | |")
        for f in r.get("figures", []):
            lines.append(f"| {r['benchmark']} | {f['name']} ({f['unit']}) | {_fmt(f['ours'])} | {_fmt(f['peer'])} | "
                         f"{f['peer_name']} | {_fmt(f['ratio'])} | {f['better']} |")
    return lines


def write_report(out: Path, names: list[str], machine: dict) -> Path:
    results = []
    for name in names:
        path = out / f"{name}.json"
        if path.exists():
            results.append(json.loads(path.read_text()))
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v)
    lines = [
        "# fer-search benchmarks", "",
        f"Machine: {machine['cores']} cores, {machine['memory_gib']} GiB, {machine['cpu']} "
        f"(flags: {', '.join(machine['cpu_flags']) or 'none of note'}), Python {machine['python']}.", "",
        f"Libraries: {versions}.", "",
        f"Data: {', '.join(sorted({r['data'] for r in results}))}"
        f"{' (quick settings)' if any(r.get('quick') for r in results) else ''}.", "",
        "Every figure is measured beside its peer in the same run; the ratio is ours / peer.", "",
        *table(results), "",
    ]
    for r in results:
        for plot in r.get("plots", []):
            lines += [f"![{r['benchmark']}: {plot}]({plot})", ""]
        for name, family in r.get("families", {}).items():
            lines += [f"## {r['benchmark']}: {name}", "",
                      "| method | best val | test of the winner | trials | search wall (s) | s to the strongest peer's best val |",
                      "| --- | --- | --- | --- | --- | --- |"]
            for method, m in family["methods"].items():
                lines.append(f"| {method} | {_fmt(m['best_val'])} | {_fmt(m['test'])} | {m['trials']} | "
                             f"{_fmt(m['search_wall_s'])} | {_fmt(m.get('time_to_strongest_peer_best_s'))} |")
            lines.append("")
    path = out / "report.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
