"""The planner's Flask application and its local server.

Endpoints (JSON in, JSON out; computed by :mod:`ephys_correct.web.api`):

``GET  /``                        the page
``GET  /api/meta``                compounds, ions, activity models, target quantities
``GET  /api/solutions``           recipes of the solutions database
``GET  /api/solutions/<id>``      one of them, as an editable recipe
``POST /api/evaluate``            LJP, reversal potentials, osmolality, ... of a pipette/bath pair
``POST /api/solve``               planning targets
``POST /api/recipe.toml``         the recipe as a file ``ephys_correct.load_recipe`` reads

``/api/evaluate`` and ``/api/solve`` answer 200 with ``ok`` false and
``errors`` (where, type, message) when recipes or conditions are wrong: a
half-typed recipe is a normal state of the page.  A body that is not JSON gets
400; a recipe download that would not load gets 422 with the reason.  Nothing
is ever answered with an empty page or a default value.
"""

from __future__ import annotations

import sys

from ephys_correct._fileio import to_jsonable
from ephys_correct.errors import EphysCorrectError, MissingDependencyError, ParameterError

from . import api

__all__ = ["create_app", "make_server", "serve", "LOOPBACK_HOSTS"]

#: hosts that mean "this machine only"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_MAX_REQUEST_BYTES = 1 << 20


def _flask():
    try:
        import flask
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise MissingDependencyError(
            "the planner needs Flask: install the 'web' extra, pip install 'ephys_correct[web]' "
            f"({exc})."
        ) from None
    return flask


def create_app(*, loopback_only: bool = True):
    """The planner as a Flask application.

    Parameters
    ----------
    loopback_only : bool
        Answer only requests addressed to 127.0.0.1 / localhost / [::1] (the
        ``Host`` header), which keeps other web sites from reaching the planner
        through DNS rebinding. Set False when serving on another interface.

    Returns
    -------
    flask.Flask

    Raises
    ------
    MissingDependencyError
        Flask is not installed (the ``web`` extra).
    """
    flask = _flask()
    app = flask.Flask("ephys_correct.web", static_folder="static", template_folder="templates")
    app.config["MAX_CONTENT_LENGTH"] = _MAX_REQUEST_BYTES
    app.json.sort_keys = False

    def reply(body: dict, status: int = 200):
        # a computation that could not be done is an answer (ok false, errors say why), not an
        # HTTP failure: the page shows it while the user is still typing
        return flask.jsonify(to_jsonable(body)), status

    def error(where: str, exc: BaseException, status: int):
        return reply({"ok": False, "errors": [{"where": where, "type": type(exc).__name__,
                                               "message": str(exc)}], "warnings": []}, status)

    def payload():
        data = flask.request.get_json(silent=True)
        if data is None:
            raise EphysCorrectError("the request body must be a JSON object (Content-Type: application/json).")
        return data

    @app.before_request
    def _check_host():
        if loopback_only:
            host = flask.request.host.rsplit(":", 1)[0] if not flask.request.host.startswith("[") \
                else flask.request.host[1:].split("]", 1)[0]
            if host not in LOOPBACK_HOSTS:
                return error("request", PermissionError(
                    f"host {flask.request.host!r} refused: this planner answers on localhost only."), 403)
        return None

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
        return resp

    @app.get("/")
    def index():
        return flask.render_template("planner.html", version=api.ec.__version__)

    @app.get("/api/meta")
    def meta():
        return reply(api.meta())

    @app.get("/api/solutions")
    def solutions():
        return reply({"ok": True, "solutions": api.shipped_recipes()})

    @app.get("/api/solutions/<recipe_id>")
    def solution(recipe_id: str):
        try:
            return reply({"ok": True, "recipe": api.shipped_recipe(recipe_id)})
        except EphysCorrectError as exc:
            return error("solutions", exc, 404)

    @app.post("/api/evaluate")
    def evaluate():
        try:
            data = payload()
        except EphysCorrectError as exc:
            return error("request", exc, 400)
        return reply(api.evaluate(data))

    @app.post("/api/solve")
    def solve():
        try:
            data = payload()
        except EphysCorrectError as exc:
            return error("request", exc, 400)
        return reply(api.solve(data))

    @app.post("/api/recipe.toml")
    def recipe_toml():
        try:
            data = payload()
        except EphysCorrectError as exc:
            return error("request", exc, 400)
        side = data.get("side") if isinstance(data, dict) else None
        where = f"{side} recipe" if side in api.SIDES else "recipe"
        try:
            recipe = api.recipe_from_json(data.get("recipe") if isinstance(data, dict) else None, where=where)
            # refuse a file the toolkit would refuse to use (e.g. charge imbalance)
            recipe.to_solution(activity_model=data.get("activity_model") or "truesdell-jones")
            text = api.recipe_to_toml(recipe)
        except EphysCorrectError as exc:
            return error(side if side in api.SIDES else "recipe", exc, 422)
        resp = flask.Response(text, mimetype="application/toml")
        resp.headers["Content-Disposition"] = f'attachment; filename="{api.recipe_filename(recipe)}"'
        return resp

    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def _http_error(exc):
        return error("request", exc, exc.code)

    @app.errorhandler(Exception)
    def _unexpected(exc):  # a bug: still an answer the page can show, never a blank
        if hasattr(exc, "code") and hasattr(exc, "description"):
            return error("request", exc, exc.code)
        app.logger.exception("unexpected error")
        return error("server", RuntimeError(f"unexpected {type(exc).__name__}: {exc} "
                                            "(please report this as a bug)"), 500)

    return app


def make_server(host: str = "127.0.0.1", port: int = 8765):
    """A threaded WSGI server (werkzeug) for the planner; ``port=0`` picks a free port.

    Returns
    -------
    werkzeug.serving.BaseWSGIServer
        ``server.server_port`` is the port bound; call ``serve_forever()``.

    Raises
    ------
    ParameterError
        The port is in use or not allowed.
    """
    _flask()
    import errno
    import socket

    from werkzeug.serving import make_server as _make

    if port:
        # werkzeug answers a busy port with sys.exit(1): find out first, and say it our way
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    raise ParameterError(f"{host}:{port} cannot be used ({exc.strerror}); choose another "
                                         "--port (0 picks a free one).") from None
                raise
    return _make(host, port, create_app(loopback_only=host in LOOPBACK_HOSTS), threaded=True)


def url_of(server) -> str:
    """``http://host:port/`` of a server made by :func:`make_server`."""
    host = server.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{server.server_port}/"


def serve(host: str = "127.0.0.1", port: int = 8765, *, open_browser: bool = False, stream=None) -> int:
    """Run the planner until interrupted (Ctrl+C), printing its URL first.

    Parameters
    ----------
    host : str
        Interface to bind; default 127.0.0.1 (this machine only).
    port : int
        0 picks a free port.
    open_browser : bool
        Open the page in the default web browser.
    stream : file, optional
        Where the URL is printed (default stdout).

    Returns
    -------
    int
        0 after Ctrl+C.
    """
    import logging

    stream = stream or sys.stdout
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(host, port)
    url = url_of(server)
    print(f"ephys_correct planner: {url}", file=stream, flush=True)
    if host not in LOOPBACK_HOSTS:
        print(f"warning: listening on {host}: anyone who can reach this address can use the planner "
              "(it has no log-in).", file=stream, flush=True)
    print("Press Ctrl+C to stop.", file=stream, flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
