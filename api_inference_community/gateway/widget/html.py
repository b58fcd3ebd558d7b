"""HTML from the package's templates: every value escaped unless it is markup built here (`Safe`).

Templates are `string.Template` files in `templates/` (`$name` placeholders, no logic). A value
substituted into one is HTML-escaped (quotes included) unless it is a `Safe` string, which only the
functions of this sub-package make, out of escaped parts.
"""

from __future__ import annotations

import functools
import html
import string
from importlib import resources
from typing import Iterable, Union

Value = Union[str, int, float, None]


class Safe(str):
    """Markup already escaped: substituted as is."""


def escape(value: Value) -> Safe:
    """`value` as text in HTML (element content or a quoted attribute)."""
    return Safe(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[Safe], separator: str = "\n") -> Safe:
    return Safe(separator.join(parts))


def element(tag: str, content: Union[Safe, Value] = "", **attributes: Value) -> Safe:
    """`<tag attributes>content</tag>`; `class_` stands for `class`, `data_x` for `data-x`, None is left out,
    True is a bare attribute."""
    names = []
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        key = name.rstrip("_").replace("_", "-")
        names.append(f" {key}" if value is True else f' {key}="{escape(value)}"')
    body = content if isinstance(content, Safe) else escape(content)
    return Safe(f"<{tag}{''.join(names)}>{body}</{tag}>")


def void(tag: str, **attributes: Value) -> Safe:
    """An element without content (`input`, `img`, `link`)."""
    markup = element(tag, **attributes)
    return Safe(markup[: -len(f"</{tag}>")])


@functools.cache
def template(name: str) -> string.Template:
    source = resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")
    return string.Template(source)


def render(name: str, **values: Union[Safe, Value]) -> str:
    """The template `name` with `values` substituted (plain values escaped)."""
    return template(name).substitute(
        {key: value if isinstance(value, Safe) else escape(value) for key, value in values.items()}
    )
