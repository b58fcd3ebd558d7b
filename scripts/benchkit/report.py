"""Reports: numbers formatted for tables, tables in text or markdown, targets judged and listed."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence


def fmt(value: Any, digits: int = 1) -> str:
    """A number with `digits` decimals; "-" for None and NaN."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def pct(value: Optional[float]) -> str:
    """A share (1.0 = one core, or all of something) as a whole percentage."""
    return "-" if value is None else f"{100 * value:.0f}%"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    """Right-aligned columns: a markdown table, or plain text with a rule under the headers."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" for _ in headers) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def target(name: str, value: str, met: bool) -> Dict[str, Any]:
    """One judged target: what it asks, the measured value, whether it is met."""
    return {"name": name, "value": value, "met": met}


def section(title: str, lines: Sequence[str]) -> List[str]:
    """A titled block ("Title:", a blank line, the lines, a blank line); nothing when `lines` is empty."""
    return [f"{title}:", "", *lines, ""] if lines else []


def target_lines(targets: Sequence[Dict[str, Any]]) -> List[str]:
    """`- [x] name: value -> met` per target."""
    return [
        f"- [{'x' if t['met'] else ' '}] {t['name']}: {t['value']} -> {'met' if t['met'] else 'MISSED'}"
        for t in targets
    ]
