"""The REST API under /api: every call needs ``Authorization: Bearer TOKEN``. OpenAPI docs at /docs."""
from __future__ import annotations

import json
import secrets
from typing import Any, Literal, Optional

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from lookalike.service.core import Service, ServiceError, view_job


async def service(request: Request) -> Service:
    return request.app.state.service


async def require_token(request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = request.app.state.service.token
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), expected.encode()):
        raise ServiceError(401, "missing or wrong token: send 'Authorization: Bearer TOKEN' (the token "
                                "printed by `lookalike serve`, or LOOKALIKE_TOKEN)")


router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])


class Created(BaseModel):
    id: str


class DatasetOut(BaseModel):
    id: str
    name: str
    rows: int
    columns: int


class JobIn(BaseModel):
    """One job. fit: dataset, model, max_time, max_epochs, seed, model_params, holdout (share kept away to
    judge against; adds a report), target. sample: model (a model id), n, format (csv|parquet), seed,
    conditions {column: value}, rebalance {column: {value: share}}. report: model (judged against its
    dataset's holdout), or dataset + synthetic (+ holdout) dataset ids; target, n, seed. fake: spec (YAML
    text), n, seed. simulate: simulator (aml|market), options, format. fit-db: url (sqlite:///FILE inside the
    workspace, or postgresql://user:password@host/db; the password is kept out of every record) or database
    (an uploaded zip's id), model, max_time, max_epochs, seed, tables [names], orphans (keep|drop). sample-db:
    model (a database model id), scale, seed, format (csv|parquet: a zip, one file per table; sqlite: one file)."""

    model_config = ConfigDict(extra="allow")
    type: Literal["fit", "sample", "report", "fake", "simulate", "fit-db", "sample-db"]


class JobOut(BaseModel):
    id: str
    type: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float
    message: str
    result: Optional[dict[str, Any]] = None
    params: Optional[dict[str, Any]] = None
    loss: Optional[float] = None
    created: float
    elapsed: Optional[float] = None
    remaining: Optional[float] = None


@router.get("/info", summary="Version, generators and workspace")
def info(svc: Service = Depends(service)) -> dict:
    from lookalike import __version__
    from lookalike.models import REGISTRY

    return {"version": __version__, "generators": ["auto", *sorted(REGISTRY)], "workers": svc.runner.workers,
            "max_upload_bytes": svc.max_upload_bytes}


# ---------------------------------------------------------------------------------------------- datasets
@router.post("/datasets", status_code=201, response_model=DatasetOut, summary="Upload a table (multipart 'file')")
async def upload_dataset(request: Request, svc: Service = Depends(service)):
    name, path = await svc.receive(request)
    row = await run_in_threadpool(svc.add_dataset, name, path)
    return {k: row[k] for k in ("id", "name", "rows", "columns")}


@router.get("/datasets", summary="All datasets, newest first")
def list_datasets(svc: Service = Depends(service)) -> list[dict]:
    return svc.store.all("datasets")


@router.get("/datasets/{id}", summary="A dataset and a preview of its first rows")
def get_dataset(id: str, svc: Service = Depends(service)) -> dict:
    return {**svc.dataset(id), "preview": svc.preview(id)}


@router.delete("/datasets/{id}", status_code=204, summary="Delete a dataset and its files")
def delete_dataset(id: str, svc: Service = Depends(service)):
    svc.delete_dataset(id)
    return Response(status_code=204)


@router.get("/datasets/{id}/schema", summary="The dataset's schema (JSON; ?format=yaml for the YAML file)")
def get_schema(id: str, format: Literal["json", "yaml"] = "json", svc: Service = Depends(service)):
    schema = svc.schema(id)
    if format == "yaml":
        return PlainTextResponse(schema.to_yaml(), media_type="application/yaml")
    return schema.to_dict()


@router.put("/datasets/{id}/schema", summary="Replace the schema: JSON, or YAML with Content-Type application/yaml")
async def put_schema(id: str, request: Request, svc: Service = Depends(service),
                     body: Any = Body(None, description="the schema as JSON (as GET returns it)")):
    ctype = request.headers.get("content-type", "")
    if "yaml" in ctype or ctype.startswith("text/"):
        raw = await request.body()
        data: Any = raw.decode("utf-8", "replace")
    else:
        data = body
        if not isinstance(data, dict):
            raise ServiceError(400, "send the schema as a JSON object, or as YAML with Content-Type application/yaml")
    return svc.put_schema(id, data).to_dict()


# ---------------------------------------------------------------------------------------------- databases
class DatabaseOut(BaseModel):
    id: str
    name: str
    tables: dict[str, int]
    rows: int


def _database_out(row: dict) -> dict:
    info = row.get("info") or {}
    return {"id": row["id"], "name": row["name"], "tables": info.get("tables", {}), "rows": info.get("rows", 0),
            "created": row["created"]}


@router.post("/databases", status_code=201, response_model=DatabaseOut,
             summary="Upload a whole database: a zip of CSV/Parquet files, one per table (multipart 'file')")
async def upload_database(request: Request, svc: Service = Depends(service)):
    name, path = await svc.receive(request)
    row = await run_in_threadpool(svc.add_database, name, path)
    return _database_out(row)


@router.get("/databases", summary="All uploaded databases, newest first")
def list_databases(svc: Service = Depends(service)) -> list[dict]:
    return [_database_out(r) for r in svc.store.all("databases")]


@router.get("/databases/{id}", summary="An uploaded database: its tables and their rows")
def get_database(id: str, svc: Service = Depends(service)) -> dict:
    return _database_out(svc.database(id))


@router.delete("/databases/{id}", status_code=204, summary="Delete an uploaded database and its files")
def delete_database(id: str, svc: Service = Depends(service)):
    svc.delete_database(id)
    return Response(status_code=204)


# ---------------------------------------------------------------------------------------------- jobs
@router.post("/jobs", status_code=202, response_model=Created, summary="Queue a job")
def create_job(job: JobIn, svc: Service = Depends(service)):
    return {"id": svc.create_job(job.model_dump())["id"]}


@router.get("/jobs", summary="All jobs, newest first")
def list_jobs(svc: Service = Depends(service)) -> list[dict]:
    return [view_job(j) for j in svc.store.all("jobs")]


@router.get("/jobs/{id}", response_model=JobOut, summary="A job's status, progress and result")
async def get_job(id: str, svc: Service = Depends(service)):
    # The call clients poll: one indexed SQLite read on the event loop (no thread hop), JSON written directly.
    return Response(json.dumps(view_job(svc.job(id))), media_type="application/json")


@router.delete("/jobs/{id}", summary="Cancel a queued or running job; delete a finished one with its files")
def delete_job(id: str, svc: Service = Depends(service)):
    job = svc.delete_job(id)
    return Response(status_code=204) if job is None else JSONResponse(view_job(job))


@router.get("/jobs/{id}/output", summary="Download a finished job's output file")
def job_output(id: str, svc: Service = Depends(service)):
    path = svc.job_file(id)
    return FileResponse(path, filename=path.name)


@router.get("/jobs/{id}/files/{name}", summary="Download one named file of a finished job (e.g. report.html)")
def job_file(id: str, name: str, svc: Service = Depends(service)):
    path = svc.job_file(id, name)
    return FileResponse(path, filename=path.name)


# ---------------------------------------------------------------------------------------------- models
@router.get("/models", summary="All models, newest first")
def list_models(svc: Service = Depends(service)) -> list[dict]:
    return svc.store.all("models")


@router.get("/models/{id}", summary="Download a model file")
def get_model(id: str, svc: Service = Depends(service)):
    svc.model(id)
    return FileResponse(svc.store.model_file(id), filename=f"{id}.lookalike", media_type="application/zip")


@router.post("/models", status_code=201, response_model=Created,
             summary="Upload a model file (multipart 'file'); only JSON + safetensors are accepted")
async def upload_model(request: Request, svc: Service = Depends(service)):
    name, path = await svc.receive(request)
    row = await run_in_threadpool(svc.add_model, name, path)
    return {"id": row["id"]}


@router.delete("/models/{id}", status_code=204, summary="Delete a model")
def delete_model(id: str, svc: Service = Depends(service)):
    svc.delete_model(id)
    return Response(status_code=204)
