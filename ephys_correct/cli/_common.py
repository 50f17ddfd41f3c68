"""Helpers shared by the sub-commands: JSON output and plain-text tables."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Iterable, Sequence


def _default(obj: Any):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    if hasattr(obj, "items"):
        return dict(obj)
    return str(obj)


def _clean(obj: Any):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def print_json(obj: Any, stream=None) -> None:
    """Print *obj* as JSON (NaN -> null) to stdout."""
    text = json.dumps(_clean(json.loads(json.dumps(obj, default=_default, allow_nan=True))),
                      indent=2, default=_default)
    print(text, file=stream or sys.stdout)


def format_table(header: Sequence[str], rows: Iterable[Sequence[Any]], floatfmt: str = ".3f") -> str:
    """A plain monospace table (no third-party dependency)."""
    def fmt(v):
        if isinstance(v, float):
            return format(v, floatfmt) if math.isfinite(v) else str(v)
        return "" if v is None else str(v)

    body = [[fmt(v) for v in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in body)) if body else len(str(h))
              for i, h in enumerate(header)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    for r in body:
        lines.append("  ".join(c.rjust(w) if _num(c) else c.ljust(w) for c, w in zip(r, widths)))
    return "\n".join(lines)


def _num(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False
