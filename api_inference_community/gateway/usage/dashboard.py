"""The dashboard's HTML pages: the login form and the usage of a date range (no script).

Every figure shown sits in an element with `data-figure` (what it is) and `data-value` (its exact
value), so that tests and scrapers read the same numbers a person sees.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Iterable, List, Mapping, Optional

from .charts import bar_chart, line_chart, number
from .queries import Figures, Report

STYLESHEET = "/dashboard/static/dashboard.css"
SUMMARY = (
    ("requests", "Requests"),
    ("characters", "Characters"),
    ("images", "Images"),
    ("audio_seconds", "Audio seconds"),
    ("error_rate", "Error rate"),
    ("p50", "p50 latency"),
    ("p95", "p95 latency"),
    ("p99", "p99 latency"),
)
COLUMNS = (
    ("requests", "Requests"),
    ("errors", "Errors"),
    ("error_rate", "Error rate"),
    ("characters", "Characters"),
    ("images", "Images"),
    ("audio_seconds", "Audio s"),
    ("p50", "p50 ms"),
    ("p95", "p95 ms"),
    ("p99", "p99 ms"),
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="{STYLESHEET}"></head>'
        f"<body>{body}</body></html>"
    )


def login_page(error: Optional[str] = None, query: str = "") -> str:
    """The form that takes a token once (it becomes a session cookie, never stored in the page)."""
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    action = "/dashboard/login" + (f"?{escape(query)}" if query else "")
    return _page(
        "Sign in: usage dashboard",
        '<main class="login"><h1>Usage dashboard</h1>'
        "<p>Sign in with an API token (<code>api-inference-community gateway tokens create</code>). "
        "The browser keeps a signed session cookie, not the token.</p>"
        f'{message}<form method="post" action="{action}">'
        '<label for="token">API token</label>'
        '<input id="token" name="token" type="password" autocomplete="off" required '
        'placeholder="aic_..." maxlength="128">'
        '<button type="submit">Sign in</button></form></main>',
    )


def _values(figures: Figures) -> dict:
    data = figures.as_dict()
    latency = data.pop("latency_ms")
    return {**data, **latency, "errors": data["client_errors"] + data["server_errors"]}


def _cell(name: str, value: float) -> str:
    if name == "error_rate":
        shown = f"{100 * value:.2f} %"
    elif name in {"p50", "p95", "p99"}:
        shown = f"{value:,.1f}"
    else:
        shown = number(value)
    return f'<td data-figure="{name}" data-value="{value}">{escape(shown)}</td>'


def _table(caption: str, name: str, heading: str, rows: Iterable[tuple]) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for _, label in COLUMNS)
    lines: List[str] = []
    for label, figures in rows:
        values = _values(figures)
        cells = "".join(_cell(column, values[column]) for column, _ in COLUMNS)
        lines.append(f'<tr data-key="{escape(str(label))}"><th scope="row">{escape(str(label))}</th>{cells}</tr>')
    if not lines:
        lines.append(f'<tr><td colspan="{len(COLUMNS) + 1}" class="empty">No requests in this range</td></tr>')
    return (
        f'<table class="figures" data-table="{name}"><caption>{escape(caption)}</caption>'
        f"<thead><tr><th>{escape(heading)}</th>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
    )


def _summary(total: Figures) -> str:
    values = _values(total)
    cards = []
    for name, label in SUMMARY:
        value = values[name]
        if name == "error_rate":
            shown = f"{100 * value:.2f} %"
        elif name in {"p50", "p95", "p99"}:
            shown = f"{value:,.1f} ms"
        else:
            shown = number(value)
        cards.append(
            f'<div class="card"><div class="label">{escape(label)}</div>'
            f'<div class="value" data-figure="{name}" data-value="{value}">{escape(shown)}</div></div>'
        )
    return f'<section class="summary">{"".join(cards)}</section>'


def _filters(report: Report) -> str:
    query = report.query
    options = ['<option value="">All models</option>'] + [
        f'<option value="{escape(model)}"{" selected" if model == query.model else ""}>{escape(model)}</option>'
        for model in report.models
    ]
    return (
        '<form class="filters" method="get" action="/dashboard">'
        f'<label>From <input type="date" name="from" value="{query.start.isoformat()}"></label>'
        f'<label>To <input type="date" name="to" value="{query.end.isoformat()}"></label>'
        f'<label>Model <select name="model">{"".join(options)}</select></label>'
        '<button type="submit">Show</button></form>'
    )


def dashboard_page(report: Report, caller: str, admin: bool, token_names: Mapping[int, str]) -> str:
    """The usage of the report's range: summary, charts by day, tables by model, day and token."""
    days = list(report.by_day)
    labels = [day.isoformat() for day in days]
    per_day = [_values(report.by_day[day]) for day in days]
    charts = [
        bar_chart("Requests per day", "requests", labels, [v["requests"] for v in per_day]),
        bar_chart("Characters per day", "characters", labels, [v["characters"] for v in per_day]),
        bar_chart("Images per day", "images", labels, [v["images"] for v in per_day]),
        bar_chart("Audio seconds per day", "audio_seconds", labels, [v["audio_seconds"] for v in per_day], " s"),
        bar_chart("Error rate per day", "error_rate", labels, [100 * v["error_rate"] for v in per_day], " %"),
        line_chart(
            "Latency per day (ms)",
            "latency",
            labels,
            {name: [v[name] for v in per_day] for name in ("p50", "p95", "p99")},
            " ms",
        ),
    ]
    scope = "all tokens" if admin else f"token {caller}"
    model = f", model {report.query.model}" if report.query.model else ""
    tables = [
        _table("By model", "by-model", "Model", report.by_model.items()),
        _table(
            "By day (days with requests)",
            "by-day",
            "Day",
            ((d.isoformat(), report.by_day[d]) for d in reversed(days) if report.by_day[d].sums["requests"]),
        ),
    ]
    if admin and report.by_token:
        named = sorted(
            ((token_names.get(token_id, f"#{token_id}"), figures) for token_id, figures in report.by_token.items()),
            key=lambda item: -item[1].sums["requests"],
        )
        tables.append(_table("By token", "by-token", "Token", named))
    body = (
        '<header><h1>Usage</h1><form method="post" action="/dashboard/logout">'
        f'<span class="who" data-figure="caller">{escape(caller)}{" (admin)" if admin else ""}</span>'
        '<button type="submit">Sign out</button></form></header>'
        f"<main>{_filters(report)}"
        f'<p class="scope">{escape(_range(report.query.start, report.query.end))}, {escape(scope)}{escape(model)}. '
        "Percentiles are read from latency histograms (within about 19 %).</p>"
        f'{_summary(report.total)}<section class="charts">{"".join(charts)}</section>{"".join(tables)}</main>'
    )
    return _page("Usage dashboard", body)


def _range(start: date, end: date) -> str:
    return f"{start.isoformat()} to {end.isoformat()} (UTC)"
