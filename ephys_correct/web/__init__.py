"""The solution planner in a web browser (``ephys-correct planner``).

A local page where a pipette and a bath recipe are picked or edited and the
liquid junction potential (both methods), reversal potentials, osmolality,
ionic strength, free Ca2+/Mg2+ and planning targets update as one types; the
recipe downloads as a TOML file :func:`ephys_correct.load_recipe` reads.

Needs the ``web`` extra (Flask): ``pip install 'ephys_correct[web]'``.
:mod:`ephys_correct.web.api` holds the computations (no Flask needed),
:mod:`ephys_correct.web.app` the application and server.  See ``docs/planner.md``.
"""

from __future__ import annotations

__all__ = ["create_app", "serve"]


def create_app(**kwargs):
    """The planner's Flask application (see :func:`ephys_correct.web.app.create_app`)."""
    from .app import create_app as _create

    return _create(**kwargs)


def serve(host: str = "127.0.0.1", port: int = 8765, **kwargs) -> int:
    """Serve the planner until Ctrl+C (see :func:`ephys_correct.web.app.serve`)."""
    from .app import serve as _serve

    return _serve(host, port, **kwargs)
