"""The website: server-rendered Jinja2 pages and plain HTML forms, one small script (static/app.js) for
drag and drop and live progress. Logged in with the service token, kept in an HttpOnly, SameSite=Strict
cookie. Every page works with the keyboard and every control has a label."""
from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from lookalike.service.core import OUTPUT_FORMATS, Service, ServiceError, view_job
from lookalike.service.views import describe_columns, spec_lines

COOKIE = "lookalike_token"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'self'; "
       "form-action 'self'; base-uri 'none'")
"""Our pages load only our own files (the report, framed in the job page, is served without it: it embeds its
scripts inline)."""
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
EXAMPLE_SPEC = """\
format: csv
tables:
  customers:
    columns:
      customer_id: {dist: sequence}
      name: {faker: name}
      age: {dist: normal, mean: 42, sd: 12}
      segment: {dist: categorical, values: {retail: 0.7, business: 0.3}}
"""


class LoginRequired(Exception):
    pass


def logged_in(request: Request) -> Service:
    svc: Service = request.app.state.service
    token = request.cookies.get(COOKIE, "")
    if not token or not secrets.compare_digest(token.encode(), svc.token.encode()):
        raise LoginRequired()
    return svc


router = APIRouter(include_in_schema=False)


def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    from lookalike import __version__

    response = templates.TemplateResponse(request, name, {"version": __version__, **context}, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    return response


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------------------------------------- login
@router.get("/login")
def login_form(request: Request, error: str = ""):
    return page(request, "login.html", error=error)


@router.post("/login")
async def login(request: Request):
    form = await request.form()
    return _login(request, str(form.get("token", "")))


def _login(request: Request, token: str) -> Response:
    svc: Service = request.app.state.service
    if not token or not secrets.compare_digest(token.strip().encode(), svc.token.encode()):
        return page(request, "login.html", status=401, error="That token is not this server's token.")
    response = back("/")
    response.set_cookie(COOKIE, svc.token, httponly=True, samesite="strict", path="/")
    return response


@router.post("/logout")
def logout():
    response = back("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/docs")
def docs(request: Request):
    """The API reference, drawn from the OpenAPI schema on the server (FastAPI's own /docs loads Swagger UI from
    a CDN, which would break offline)."""
    return page(request, "docs.html", api=request.app.openapi())


# ---------------------------------------------------------------------------------------------- home
@router.get("/")
def home(request: Request, token: str = "", error: str = ""):
    if token:  # the URL printed at start, as Jupyter does: log in, then drop the token from the address bar
        return _login(request, token)
    svc = logged_in(request)
    from lookalike.models import REGISTRY

    return page(request, "home.html", error=error, datasets=svc.store.all("datasets"),
                databases=svc.store.all("databases"), generators=["auto", *sorted(REGISTRY)],
                models=svc.store.all("models"), jobs=[view_job(j) for j in svc.store.all("jobs")])


@router.post("/upload")
async def upload(request: Request, svc: Service = Depends(logged_in)):
    try:
        name, path = await svc.receive(request)
        row = await run_in_threadpool(svc.add_dataset, name, path)
    except ServiceError as exc:
        return back(f"/?error={quote(exc.message)}")
    return back(f"/datasets/{row['id']}")


@router.post("/models/upload")
async def upload_model(request: Request, svc: Service = Depends(logged_in)):
    try:
        name, path = await svc.receive(request)
        row = await run_in_threadpool(svc.add_model, name, path)
    except ServiceError as exc:
        return back(f"/?error={quote(exc.message)}")
    return back(f"/models/{row['id']}")


# ---------------------------------------------------------------------------------------------- databases
def _fit_db_body(form, **source) -> dict:
    return {"type": "fit-db", **source, "model": form.get("model") or "auto", "max_time": _num(form.get("max_time")),
            "seed": _int(form.get("seed"))}


@router.post("/databases/fit")
async def fit_database_url(request: Request, svc: Service = Depends(logged_in)):
    """A whole database from its URL; the password is never shown again (the job keeps it masked)."""
    form = await request.form()
    return _queue(svc, _fit_db_body(form, url=str(form.get("url", "")).strip()), "/")


@router.post("/databases/upload")
async def fit_database_zip(request: Request, svc: Service = Depends(logged_in)):
    """A whole database as a zip of tables: kept, then a fit-db job queued with the form's settings."""
    fields: dict = {}
    try:
        name, path = await svc.receive(request, fields=fields)
        row = await run_in_threadpool(svc.add_database, name, path)
    except ServiceError as exc:
        return back(f"/?error={quote(exc.message)}")
    return _queue(svc, _fit_db_body(fields, database=row["id"]), "/")


@router.post("/databases/{id}/fit")
async def refit_database(request: Request, id: str, svc: Service = Depends(logged_in)):
    form = await request.form()
    return _queue(svc, _fit_db_body(form, database=id), "/")


@router.post("/databases/{id}/delete")
def delete_database(id: str, svc: Service = Depends(logged_in)):
    svc.delete_database(id)
    return back("/")


# ---------------------------------------------------------------------------------------------- datasets
@router.get("/datasets/{id}")
def dataset_page(request: Request, id: str, error: str = "", saved: int = 0, svc: Service = Depends(logged_in)):
    from lookalike.models import REGISTRY
    from lookalike.schema.kinds import KINDS

    row = svc.dataset(id)
    schema, inferred = svc.schema(id), svc.schema(id, "inferred")
    return page(request, "dataset.html", dataset=row, preview=svc.preview(id), kinds=KINDS,
                columns=describe_columns(schema, inferred), rules=schema.rules, error=error, saved=saved,
                keys={"primary key": schema.primary_key, "foreign keys": [fk.to_dict() for fk in schema.foreign_keys],
                      "entity": schema.entity, "order": schema.order},
                generators=["auto", *sorted(REGISTRY)], holdout_ok=row["rows"] >= 50)


@router.post("/datasets/{id}/schema")
async def save_schema(request: Request, id: str, svc: Service = Depends(logged_in)):
    form = await request.form()
    schema = svc.schema(id)
    for i, col in enumerate(schema.columns):
        kind = str(form.get(f"kind-{i}", col.kind.value))
        pii = str(form.get(f"pii-{i}", "")).strip()
        if not _ok_kind(kind):
            return back(f"/datasets/{id}?error={quote(f'column {col.name!r}: unknown kind {kind!r}')}")
        entry = col.to_dict()
        entry["kind"] = kind
        if kind == "pii":
            entry["pii"] = pii or col.options.get("pii") or "name"
        else:
            entry.pop("pii", None)
        schema.columns[i] = type(col).from_dict(entry)
    try:
        svc.put_schema(id, schema.to_dict())
    except ServiceError as exc:
        return back(f"/datasets/{id}?error={quote(exc.message)}")
    return back(f"/datasets/{id}?saved=1#schema")


def _ok_kind(kind: str) -> bool:
    from lookalike.schema.kinds import KINDS

    return kind in KINDS


@router.post("/datasets/{id}/fit")
async def start_fit(request: Request, id: str, svc: Service = Depends(logged_in)):
    form = await request.form()
    body = {"type": "fit", "dataset": id, "model": form.get("model") or "auto",
            "max_time": _num(form.get("max_time")), "max_epochs": _int(form.get("max_epochs")),
            "seed": _int(form.get("seed")), "target": form.get("target") or None,
            "holdout": 0.2 if form.get("report") else None}
    return _queue(svc, body, f"/datasets/{id}")


@router.post("/datasets/{id}/delete")
def delete_dataset(id: str, svc: Service = Depends(logged_in)):
    svc.delete_dataset(id)
    return back("/")


# ---------------------------------------------------------------------------------------------- models
@router.get("/models/{id}")
def model_page(request: Request, id: str, error: str = "", svc: Service = Depends(logged_in)):
    row = svc.model(id)
    trained_on = svc.store.one("datasets", row["dataset"]) if row.get("dataset") else None
    from lookalike.service.databases import DB_FORMATS

    return page(request, "model.html", model=row, dataset=trained_on, error=error, formats=OUTPUT_FORMATS,
                db_formats=DB_FORMATS, whole=(row.get("info") or {}).get("kind") == "database")


@router.post("/models/{id}/sample-db")
async def start_sample_db(request: Request, id: str, svc: Service = Depends(logged_in)):
    form = await request.form()
    body = {"type": "sample-db", "model": id, "scale": _num(form.get("scale")), "seed": _int(form.get("seed")),
            "format": form.get("format") or "csv"}
    return _queue(svc, body, f"/models/{id}")


@router.post("/models/{id}/sample")
async def start_sample(request: Request, id: str, svc: Service = Depends(logged_in)):
    form = await request.form()
    try:
        conditions = _pairs(str(form.get("conditions", "")), "conditions")
        rebalance: dict = {}
        for col, rest in _pairs(str(form.get("rebalance", "")), "rebalance").items():
            value, sep, share = rest.rpartition(":")
            if not sep:
                raise ServiceError(400, f"rebalance: write COLUMN=VALUE:SHARE, got {col}={rest}")
            rebalance.setdefault(col, {})[value] = float(share)
    except (ServiceError, ValueError) as exc:
        return back(f"/models/{id}?error={quote(getattr(exc, 'message', str(exc)))}")
    body = {"type": "sample", "model": id, "n": _int(form.get("n")), "seed": _int(form.get("seed")),
            "format": form.get("format") or "csv", "conditions": conditions or None, "rebalance": rebalance or None}
    return _queue(svc, body, f"/models/{id}")


@router.post("/models/{id}/report")
async def start_report(request: Request, id: str, svc: Service = Depends(logged_in)):
    form = await request.form()
    return _queue(svc, {"type": "report", "model": id, "target": form.get("target") or None}, f"/models/{id}")


@router.get("/models/{id}/download")
def download_model(id: str, svc: Service = Depends(logged_in)):
    svc.model(id)
    return FileResponse(svc.store.model_file(id), filename=f"{id}.lookalike", media_type="application/zip")


@router.post("/models/{id}/delete")
def delete_model(id: str, svc: Service = Depends(logged_in)):
    svc.delete_model(id)
    return back("/")


# ---------------------------------------------------------------------------------------------- jobs
@router.get("/jobs/{id}")
def job_page(request: Request, id: str, svc: Service = Depends(logged_in)):
    job = view_job(svc.job(id))
    return page(request, "job.html", job=job)


@router.get("/jobs/{id}/status")
def job_status(id: str, svc: Service = Depends(logged_in)):
    return JSONResponse(view_job(svc.job(id)))


@router.post("/jobs/{id}/cancel")
def cancel_job(id: str, svc: Service = Depends(logged_in)):
    svc.runner.cancel(svc.job(id)["id"])
    return back(f"/jobs/{id}")


@router.post("/jobs/{id}/delete")
def delete_job(id: str, svc: Service = Depends(logged_in)):
    svc.delete_job(id)
    return back("/")


@router.get("/jobs/{id}/files/{name}")
def job_file(id: str, name: str, svc: Service = Depends(logged_in)):
    path = svc.job_file(id, name)
    inline = path.suffix == ".html"  # the report shows in the page's frame; tables download
    return FileResponse(path, filename=None if inline else path.name,
                        media_type="text/html" if inline else None)


# ---------------------------------------------------------------------------------------------- no real data
@router.get("/fake")
def fake_form(request: Request, svc: Service = Depends(logged_in)):
    return page(request, "fake.html", spec=EXAMPLE_SPEC, n=1000, seed=0, error="", lines=[], bad_line=None)


@router.post("/fake")
async def start_fake(request: Request, svc: Service = Depends(logged_in)):
    form = await request.form()
    spec = str(form.get("spec", ""))
    n, seed = _int(form.get("n")) or 1000, _int(form.get("seed")) or 0
    try:
        job = svc.create_job({"type": "fake", "spec": spec, "n": n, "seed": seed})
    except ServiceError as exc:
        lines, bad = spec_lines(spec, exc.message)
        return page(request, "fake.html", status=400, spec=spec, n=n, seed=seed, error=exc.message, lines=lines,
                    bad_line=bad)
    return back(f"/jobs/{job['id']}")


@router.get("/simulate")
def simulate_form(request: Request, error: str = "", svc: Service = Depends(logged_in)):
    return page(request, "simulate.html", error=error, formats=OUTPUT_FORMATS)


@router.post("/simulate/{simulator}")
async def start_simulate(request: Request, simulator: str, svc: Service = Depends(logged_in)):
    form = await request.form()
    keys = ("accounts", "days", "seed", "laundering_rate") if simulator == "aml" else ("assets", "days", "seed")
    options = {k: (_num(form.get(k)) if k == "laundering_rate" else _int(form.get(k))) for k in keys}
    options = {k: v for k, v in options.items() if v is not None}
    if simulator == "market":
        options["intraday"] = bool(form.get("intraday"))
    body = {"type": "simulate", "simulator": simulator, "options": options, "format": form.get("format") or "csv"}
    return _queue(svc, body, "/simulate")


# ---------------------------------------------------------------------------------------------- helpers
def _queue(svc: Service, body: dict, on_error: str) -> RedirectResponse:
    try:
        job = svc.create_job({k: v for k, v in body.items() if v is not None})
    except ServiceError as exc:
        return back(f"{on_error}?error={quote(exc.message)}")
    return back(f"/jobs/{job['id']}")


def _pairs(text: str, what: str) -> dict:
    """Lines 'COLUMN=VALUE' (one per line, or separated by ';') -> {column: value text}."""
    result = {}
    for item in [x.strip() for line in text.splitlines() for x in line.split(";")]:
        if not item:
            continue
        col, sep, value = item.partition("=")
        if not sep or not col.strip():
            raise ServiceError(400, f"{what}: write COLUMN=VALUE, got {item!r}")
        result[col.strip()] = value.strip()
    return result


def _int(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return value  # the job check names it


def _num(value) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(str(value).strip())
    except ValueError:
        return value


__all__ = ["router", "LoginRequired", "page"]
