"""The REST service and the website: ``lookalike serve``, or ``create_app`` for your own ASGI server.

One process serves both; long jobs run in worker processes (one per job, so a cancel really stops it) and
their state lives in SQLite in the workspace, so a restart keeps the history. See ``api.py`` for the REST
contract (OpenAPI docs at /docs) and ``web.py`` for the pages.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
from contextlib import asynccontextmanager
from pathlib import Path

DEFAULT_PORT = 8765
DEFAULT_MAX_UPLOAD_MB = 200


def create_app(workspace: str | Path, token: str | None = None, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 2**20,
               workers: int = 1):
    """The FastAPI app over a workspace folder. ``token``: the bearer token (default: LOOKALIKE_TOKEN, else a
    new random one, readable as ``app.state.service.token``). ``workers``: jobs that run at the same time."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, RedirectResponse
    from fastapi.staticfiles import StaticFiles

    from lookalike import __version__
    from lookalike.errors import LookalikeError
    from lookalike.service import api, web
    from lookalike.service.core import Service, ServiceError

    token = token or os.environ.get("LOOKALIKE_TOKEN") or secrets.token_urlsafe(24)
    service = Service(workspace, token, max_upload_bytes=max_upload_bytes, workers=workers)

    @asynccontextmanager
    async def lifespan(app):
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(title="lookalike", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Synthetic data over HTTP: upload a table, fit, sample, report; fake data and "
                              "simulators. Every /api call needs `Authorization: Bearer TOKEN`.")
    app.state.service = service

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 404 and not request.url.path.startswith("/api/") and _wants_html(request):
            return web.page(request, "error.html", status=404, message=exc.message)
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(LookalikeError)
    async def lookalike_error(request: Request, exc: LookalikeError):
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid request')}".lstrip(": "),
                             "errors": _plain(exc.errors())}, status_code=422)

    @app.exception_handler(web.LoginRequired)
    async def login_required(request: Request, exc: web.LoginRequired):
        return RedirectResponse("/login", status_code=303)

    app.include_router(api.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static")
    return app


def _wants_html(request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _plain(errors) -> list:
    return [{k: (v if isinstance(v, (str, int, float, list, type(None))) else str(v)) for k, v in e.items()
             if k in ("loc", "msg", "type")} for e in errors]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, workspace: str | Path = "lookalike-workspace",
          max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB, workers: int = 1, echo=print) -> None:
    """Run the service with Uvicorn until interrupted; prints the page's URL with the token."""
    import uvicorn

    app = create_app(workspace, max_upload_bytes=int(max_upload_mb * 2**20), workers=workers)
    token = app.state.service.token
    if not is_loopback(host):
        echo(f"warning: listening on {host}, not 127.0.0.1: anyone who can reach this address and has the token "
             "can use the service; the traffic is not encrypted (put a TLS proxy in front)")
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
    echo(f"lookalike serving workspace {Path(workspace).resolve()}")
    echo(f"open http://{shown}:{port}/?token={token}")
    echo(f"REST: Authorization: Bearer {token}  (docs at http://{shown}:{port}/docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
