"""The usage figures of a date range, read from the daily roll-ups (never from the raw rows).

A range of days reads at most days x tokens x models roll-up rows and their latency counts, however
many requests they stand for: the answer takes the same time at ten rows or ten million.
Percentiles come from the summed latency histograms (`records.percentiles`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import Connection, Engine, func, select

from ...errors import InvalidInput
from .records import percentiles
from .schema import LATENCY_COLUMNS, ROLLUP_SUMS, usage_daily

GROUPS = ("day", "model", "token")
DEFAULT_DAYS = 30
MAX_DAYS = 400
INTEGER_SUMS = frozenset({"requests", "client_errors", "server_errors", "characters", "images", "request_bytes",
                          "response_bytes"})  # fmt: skip


@dataclass(frozen=True)
class UsageQuery:
    """A range of days (both included), optionally one model, the tokens whose usage is read."""

    start: date
    end: date
    model: Optional[str] = None
    token_ids: Optional[Tuple[int, ...]] = None  # None: every caller (an admin's view)
    group_by: str = "day"

    @property
    def days(self) -> List[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def parse_range(params: Mapping[str, str], today: date) -> Tuple[date, date]:
    """`from` and `to` (YYYY-MM-DD, both included): by default the last 30 days up to today."""
    end = _date(params, "to") or today
    try:
        start = _date(params, "from") or end - timedelta(days=DEFAULT_DAYS - 1)
    except OverflowError:
        raise InvalidInput("`to` is too early for a default range: give `from` too") from None
    if start > end:
        raise InvalidInput(f"`from` ({start}) is after `to` ({end})")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"The range is longer than {MAX_DAYS} days")
    return start, end


def parse_group(params: Mapping[str, str]) -> str:
    group = params.get("group_by", "day") or "day"
    if group not in GROUPS:
        raise InvalidInput(f"`group_by` must be one of {', '.join(GROUPS)}, not {group[:40]!r}")
    return group


def _date(params: Mapping[str, str], name: str) -> Optional[date]:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidInput(f"`{name}` must be a date as YYYY-MM-DD, not {value[:40]!r}")


@dataclass
class Figures:
    """The sums of a group of roll-up rows, and its latency histogram."""

    sums: Dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROLLUP_SUMS, 0))
    histogram: Dict[int, int] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        for name, value in other.sums.items():
            self.sums[name] += value
        for bucket, count in other.histogram.items():
            self.histogram[bucket] = self.histogram.get(bucket, 0) + count

    def as_dict(self) -> dict:
        sums = {name: int(value) if name in INTEGER_SUMS else round(value, 3) for name, value in self.sums.items()}
        requests = sums["requests"]
        p50, p95, p99 = percentiles(self.histogram)
        errors = sums["client_errors"] + sums["server_errors"]
        return {
            "requests": requests,
            "client_errors": sums["client_errors"],
            "server_errors": sums["server_errors"],
            "error_rate": round(errors / requests, 4) if requests else 0.0,
            "characters": sums["characters"],
            "images": sums["images"],
            "audio_seconds": sums["audio_seconds"],
            "compute_seconds": sums["compute_seconds"],
            "request_bytes": sums["request_bytes"],
            "response_bytes": sums["response_bytes"],
            "latency_ms": {
                "mean": round(self.sums["latency_ms_sum"] / requests, 3) if requests else 0.0,
                "p50": p50,
                "p95": p95,
                "p99": p99,
            },
        }


def _filters(query: UsageQuery) -> list:
    table = usage_daily
    conditions = [table.c.day >= query.start, table.c.day <= query.end]
    if query.model is not None:
        conditions.append(table.c.model == query.model)
    if query.token_ids is not None:
        conditions.append(table.c.token_id.in_(query.token_ids))
    return conditions


def grouped(connection: Connection, query: UsageQuery, by: Sequence[str]) -> Dict[tuple, Figures]:
    """Figures per distinct value of the columns `by` (of day, token_id, model): one GROUP BY."""
    keys = [usage_daily.c[name] for name in by]
    summed = (*ROLLUP_SUMS, *LATENCY_COLUMNS)
    statement = select(*keys, *(func.sum(usage_daily.c[name]).label(name) for name in summed))
    groups: Dict[tuple, Figures] = {}
    for row in connection.execute(statement.where(*_filters(query)).group_by(*keys)):
        values = row._mapping
        histogram = {bucket: int(values[name]) for bucket, name in enumerate(LATENCY_COLUMNS) if values[name]}
        groups[tuple(values[name] for name in by)] = Figures(
            {name: values[name] or 0 for name in ROLLUP_SUMS}, histogram
        )
    return groups


def models(connection: Connection, query: UsageQuery) -> List[str]:
    """The models with usage in the range (for the tokens of the query, every model)."""
    everything = UsageQuery(query.start, query.end, None, query.token_ids)
    statement = select(usage_daily.c.model).where(*_filters(everything)).distinct()
    return sorted(row[0] for row in connection.execute(statement))


def _total(groups: Mapping[tuple, Figures]) -> Figures:
    total = Figures()
    for figures in groups.values():
        total.add(figures)
    return total


@dataclass
class Report:
    """A range's figures: in total, by day (every day of the range), by model, by token."""

    query: UsageQuery
    total: Figures
    by_day: Dict[date, Figures]
    by_model: Dict[str, Figures]
    by_token: Dict[int, Figures]
    models: List[str]


def report(engine: Engine, query: UsageQuery, with_tokens: bool = False) -> Report:
    """The figures the dashboard shows (by token too when `with_tokens`: an admin's view).

    One GROUP BY per view, so that the database, not Python, adds up the roll-up rows.
    """
    with engine.connect() as connection:
        days = grouped(connection, query, ("day",))
        by_model = {key[0]: figures for key, figures in grouped(connection, query, ("model",)).items()}
        by_token = (
            {key[0]: figures for key, figures in grouped(connection, query, ("token_id",)).items()}
            if with_tokens
            else {}
        )
        names = models(connection, query)
    by_day: Dict[date, Figures] = {day: days.get((day,), Figures()) for day in query.days}
    by_model = dict(sorted(by_model.items(), key=lambda item: -item[1].sums["requests"]))
    return Report(query, _total(days), by_day, by_model, by_token, names)


def usage_json(engine: Engine, query: UsageQuery, token_names: Mapping[int, str]) -> dict:
    """The answer of `GET /usage`: totals, one entry per group (`group_by`), the models of the range."""
    column = {"day": "day", "model": "model", "token": "token_id"}[query.group_by]
    with engine.connect() as connection:
        groups = {key[0]: figures for key, figures in grouped(connection, query, (column,)).items()}
        names = models(connection, query)
    if query.group_by == "day":
        groups = {day: groups.get(day, Figures()) for day in query.days}
    entries = []
    for key, figures in groups.items():
        label: Any = key.isoformat() if isinstance(key, date) else key
        if query.group_by == "token":
            label = token_names.get(int(key), f"#{key}")
        entries.append({query.group_by: label, **figures.as_dict()})
    if query.group_by != "day":
        entries.sort(key=lambda entry: -entry["requests"])
    total = _total({(key,): figures for key, figures in groups.items()})
    return {
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "model": query.model,
        "group_by": query.group_by,
        "totals": total.as_dict(),
        "groups": entries,
        "models": names,
    }
