"""``ephys-correct planner``: the solution planner as a local web page.

Starts a small web server (Flask, the ``web`` extra) bound to 127.0.0.1 and
prints its URL; open it in a browser.  ``--host``/``--port`` change where it
listens (``--port 0``: any free port).
"""

from __future__ import annotations

from ephys_correct._validate import message
from ephys_correct.errors import ParameterError


def register(sub) -> None:
    p = sub.add_parser(
        "planner",
        help="plan solutions in a web browser (local page; needs the 'web' extra)",
        description="Serve the solution planner on this machine: pick or edit a pipette and a bath "
        "recipe and see, as you type, the LJP (Henderson and Nernst-Planck), reversal potentials, "
        "osmolality, ionic strength, free Ca2+/Mg2+ and planning targets; download the recipe as TOML. "
        "Listens on 127.0.0.1 unless --host says otherwise. Stop it with Ctrl+C.",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1: this machine only; the page has no log-in)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--open", dest="open_browser", action="store_true",
                   help="also open the page in the default web browser")
    p.set_defaults(func=run)


def run(args) -> int:
    if not 0 <= args.port <= 65535:
        raise ParameterError(message("--port", args.port, "outside 0-65535", "0 picks a free port",
                                     where="ephys-correct planner"))
    from ..web import serve

    return serve(args.host, args.port, open_browser=args.open_browser)
