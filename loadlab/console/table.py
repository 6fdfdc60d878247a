"""The table and verdicts printed at the end of a run and by `loadlab show`."""

from typing import Any

from loadlab.judge.claims import verdicts

COLUMNS = (  # header, width, how to format an entry
    ("target", 6, lambda e: e["target"]),
    ("scenario", 15, lambda e: e["scenario"]),
    ("server", 20, lambda e: f"{e['server']} x{e['workers']}"),
    ("load", 12, lambda e: f"{e['rate']:g}/s open" if e["load_model"] == "open" else f"{e['users']} {e['load_model']}"),
    ("requests", 8, lambda e: str(e["requests"])),
    ("errors", 6, lambda e: str(e["failures"])),
    ("rps", 8, lambda e: _num(e["rps"], "{:.1f}")),
    ("p50 ms", 7, lambda e: _num(e["p50_ms"])),
    ("p95 ms", 7, lambda e: _num(e["p95_ms"])),
    ("p99 ms", 7, lambda e: _num(e["p99_ms"])),
    ("max ms", 7, lambda e: _num(e["max_ms"])),
    ("gen cpu", 7, lambda e: _num(e["generator_cpu_max"], "{:.0f}%")),
    ("SLO", 4, lambda e: "ok" if not e["slo_broken"] else "FAIL"),
)


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def table(entries: list[dict[str, Any]]) -> str:
    lines = ["  ".join(h.rjust(w) for h, w, _ in COLUMNS)]
    for e in entries:
        line = "  ".join(f(e).rjust(w) for _, w, f in COLUMNS)
        lines.append(
            line + ("  ! untrustworthy: " + "; ".join(e["untrustworthy_reasons"]) if e["untrustworthy"] else "")
        )
        if e.get("steps"):
            lines.append(
                f"{'':>8}ramp steps: "
                + ", ".join(f"{st['users']} users {st['rps']:.1f} rps p95 {_num(st['p95_ms'])} ms" for st in e["steps"])
            )
        if e.get("p99_scheduled_ms") is not None:
            lines.append(
                f"{'':>8}open model: p99 from schedule {e['p99_scheduled_ms']:.0f} ms, "
                f"{e['late'] or 0:.0f} requests sent late"
            )
    return "\n".join(lines)


def render(summary: dict[str, Any]) -> str:
    entries = summary["points"]
    out = [f"run {summary['run_id']} ({summary['status']})", "", table(entries), ""]
    out.append("Published claims (figures are the article's; see loadlab/judge/claims.py):")
    for claim, verdict in verdicts(entries):
        out.append(f"  {claim.id} {claim.text} [{claim.claimed}]")
        out.append(f"     -> {verdict}")
    broken = [(e["point"], b) for e in entries for b in e["slo_broken"]]
    out.append("")
    if broken:
        out.append("SLOs broken:")
        out += [f"  {point}: {what}" for point, what in broken]
    else:
        out.append(f"SLOs: all {len(entries)} points meet them")
    return "\n".join(out)
