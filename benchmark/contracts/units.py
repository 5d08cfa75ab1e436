"""A figure's value as people read it, by its registered unit (figures.UNITS): times in ms
or s, memory in MiB, fractions in %; and a moment, to the minute in UTC. The terminal table,
`history` and the HTML report all use them; beside a sample count, the worker processes it
came from."""

from __future__ import annotations

from datetime import datetime, timezone


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1e3:.3f} ms" if value < 1 else f"{value:.3f} s"
    if unit == "bytes":
        return f"{value / 2**20:.1f} MiB"
    if unit == "tokens/s":
        return f"{value:.1f} tok/s"
    if unit == "count":
        return f"{value:.0f}" if value == int(value) else f"{value:g}"
    if unit == "bool":
        return f"{value:.0%} yes"
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "J":
        return f"{value * 1e3:.3f} mJ" if value < 1 else f"{value:.3f} J"
    return f"{value:.4g}" + (f" {unit}" if unit else "")


def when(ts: float | None) -> str:
    """Unix seconds as "YYYY-MM-DD HH:MM" (UTC); "-" for unknown."""
    return "-" if ts is None else datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")


def processes_note(processes: int) -> str:
    """Beside a sample count: how many worker processes gave it (`run --processes`); nothing for one."""
    return f" in {processes} processes" if processes > 1 else ""
