"""numpydoc sections of the public API: today's gaps are allowed, and that list only shrinks.

The walk over the public API, the checks (GL08, SS01, PR01, PR02, RT01, YD01) and
the allow-list format live in ``scripts/numpydoc_allowlist.py``; regenerate the
list with ``python scripts/numpydoc_allowlist.py --write`` after moving code.
"""

from __future__ import annotations

import importlib.util

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("numpydoc_allowlist", ROOT / "scripts" / "numpydoc_allowlist.py")
nal = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nal)


def test_numpydoc_gaps_are_the_allowed_ones():
    """A new gap fails, and so does an allow-list entry that is no longer a gap (one validation run)."""
    gaps = nal.gaps()
    allowed = nal.read_allowlist()
    new, fixed = sorted(gaps - allowed), sorted(allowed - gaps)
    message = []
    if new:
        message.append("numpydoc gaps not in tests/numpydoc_allowlist.txt (fix the docstring):\n" + "\n".join(
            f"  {k} {c}: {nal.CHECKS[c]}" for k, c in new))
    if fixed:
        message.append("no longer gaps: remove them from tests/numpydoc_allowlist.txt "
                       "(python scripts/numpydoc_allowlist.py --write):\n" + "\n".join(f"  {k} {c}" for k, c in fixed))
    assert not message, "\n".join(message)


def test_allowlist_is_written_as_the_script_writes_it():
    text = nal.ALLOWLIST.read_text(encoding="utf-8")
    assert text == nal.format_allowlist(nal.read_allowlist())


def test_walk_covers_the_public_api():
    objs = nal.public_objects()
    import ephys_correct

    for name in ephys_correct.__all__:
        obj = getattr(ephys_correct, name)
        if callable(obj):
            assert f"{obj.__module__}.{obj.__qualname__}" in objs, name
    # methods of public classes and functions of public sub-packages are in; private ones are not
    assert "ephys_correct.io._recording.Recording.sweep_data" in objs
    assert "ephys_correct.potentials.ljp.liquid_junction_potential" in objs
    assert not any(k.rsplit(".", 1)[-1].startswith("_") for k in objs)


def test_checks_find_gaps(tmp_path, monkeypatch):
    """The validation does flag an undocumented parameter and a missing Returns section."""
    mod = tmp_path / "nal_probe.py"
    mod.write_text('def f(a, b):\n    """Do it.\n\n    Parameters\n    ----------\n    a : int\n'
                   '        The a.\n    """\n    return a + b\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    from numpydoc.validate import validate

    codes = {c for c, _m in validate("nal_probe.f")["errors"]}
    assert {"PR01", "RT01"} <= codes
