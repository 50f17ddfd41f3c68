"""Tiny HTML tables for notebook display (``_repr_html_``) — base layer, no dependencies.

Every object a person looks at in a notebook (a solution, an LJP, a
recording, a corrected recording, a plan) shows the few numbers wanted at a
glance as one small table.  All text is escaped with :func:`html.escape`
(solution names, file comments and tag texts come from files and may hold
``<`` or ``&``).  Units live in the row labels, so a value cell is a bare
number that parses back with :func:`float`.
"""
from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

#: significant digits shown for a float
DIGITS = 4

_STYLE = "border-collapse:collapse;text-align:left"


def number(x: Any, digits: int = DIGITS, *, signed: bool = False) -> str:
    """One value as display text (not escaped).

    Parameters
    ----------
    x : Any
        A float is shown with *digits* significant digits (non-finite as
        ``nan``/``inf``), None as an empty string, anything else with ``str``.
    digits : int
        Significant digits of a float.
    signed : bool
        Show ``+`` before a positive float (potentials).

    Returns
    -------
    str
    """
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float) or type(x).__name__.startswith("float"):
        x = float(x)
        if not math.isfinite(x):
            return str(x)
        return f"{x:+.{digits}g}" if signed else f"{x:.{digits}g}"
    return str(x)


def _cell(tag: str, value: Any) -> str:
    return f"<{tag}>{html.escape(number(value) if not isinstance(value, str) else value)}</{tag}>"


def table(title: str, rows: Iterable[Sequence[Any]], *, columns: Sequence[str] | None = None,
          notes: Iterable[str] = ()) -> str:
    """A captioned HTML table.

    Parameters
    ----------
    title : str
        Caption (escaped).
    rows : iterable of sequences
        Without *columns*: ``(label, value)`` pairs, the label a header cell.
        With *columns*: one cell per column.  Strings are shown as they are
        (escaped), other values through :func:`number`.
    columns : sequence of str, optional
        Header row.
    notes : iterable of str
        Lines shown under the table (warnings, caveats), escaped.

    Returns
    -------
    str
        An HTML fragment (one ``<div>``).
    """
    out = [f'<div class="ephys-correct"><table style="{_STYLE}">',
           f"<caption style=\"text-align:left\"><b>{html.escape(title)}</b></caption>"]
    if columns is not None:
        out.append("<thead><tr>" + "".join(_cell("th", c) for c in columns) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        if columns is None:
            label, value = row
            out.append(f"<tr>{_cell('th', label)}{_cell('td', value)}</tr>")
        else:
            out.append("<tr>" + "".join(_cell("td", v) for v in row) + "</tr>")
    out.append("</tbody></table>")
    for note in notes:
        out.append(f"<p>{html.escape(str(note))}</p>")
    out.append("</div>")
    return "".join(out)


def tables(*fragments: str) -> str:
    """Several fragments side by side in one ``<div>``.

    Parameters
    ----------
    *fragments : str
        Outputs of :func:`table`.

    Returns
    -------
    str
    """
    return '<div style="display:flex;gap:1.5em;flex-wrap:wrap">' + "".join(fragments) + "</div>"
