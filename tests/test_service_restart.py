"""kill -9 of `lookalike serve` during a fit, then a restart: the job shows failed (interrupted), its worker is
gone, no half-written model or output is left anywhere in the workspace, and the service keeps working (the
REST client in examples/ runs fit -> sample -> download against it)."""
from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

httpx = pytest.importorskip("httpx", reason="httpx is not installed")
pytest.importorskip("uvicorn", reason="uvicorn is not installed")

TOKEN = "restart-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ANES = Path(str(files("lookalike") / "data" / "anes96.csv"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workspace: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "LOOKALIKE_TOKEN": TOKEN, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen([sys.executable, "-c", "from lookalike.cli import run; run()", "serve", "--port", str(port),
                             "--workspace", str(workspace)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/info", headers=AUTH, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read().decode()}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start within 60 s")


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def poll(url: str, until, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(url, headers=AUTH, timeout=5).json()
        if until(job):
            return job
        time.sleep(0.2)
    raise AssertionError(f"{url}: still {job}")


def leftovers(workspace: Path) -> list[str]:
    return sorted(str(p.relative_to(workspace)) for p in workspace.rglob("*")
                  if p.is_file() and (p.name.endswith(".tmp") or p.suffix in (".lookalike", ".csv", ".parquet", ".html"))
                  and "datasets" not in p.parts)


@pytest.mark.skipif(sys.platform != "linux", reason="kill -9 and /proc are Linux-specific")
def test_kill_9_during_a_fit_then_restart(tmp_path):
    workspace, port = tmp_path / "ws", free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(workspace, port)
    try:
        with open(ANES, "rb") as fh:
            dataset = httpx.post(f"{base}/api/datasets", headers=AUTH, files={"file": ("anes96.csv", fh)}).json()["id"]
        job = httpx.post(f"{base}/api/jobs", headers=AUTH, json={
            "type": "fit", "dataset": dataset, "model": "argn", "max_time": 300, "max_epochs": 10_000}).json()["id"]
        poll(f"{base}/api/jobs/{job}", lambda j: j["status"] == "running" and j["progress"] > 0)
        worker = sqlite3.connect(workspace / "lookalike.db").execute("SELECT pid FROM jobs WHERE id = ?", (job,)).fetchone()[0]
        assert alive(worker)
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    deadline = time.monotonic() + 10  # the worker follows its server
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(worker), "the job's worker outlived a killed server"

    server = start_server(workspace, port)
    try:
        state = httpx.get(f"{base}/api/jobs/{job}", headers=AUTH).json()
        assert state["status"] == "failed" and state["message"].startswith("interrupted")
        assert state["result"] is None
        assert leftovers(workspace) == []
        assert list((workspace / "models").iterdir()) == [] and not (workspace / "jobs" / job).exists()
        assert httpx.get(f"{base}/api/models", headers=AUTH).json() == []
        # the service keeps working: examples/rest_client.py uploads, fits, samples and downloads
        example = Path(__file__).parents[1] / "examples" / "rest_client.py"
        run = subprocess.run([sys.executable, str(example), str(ANES)], cwd=tmp_path, capture_output=True, text=True,
                             timeout=180, env={**os.environ, "LOOKALIKE_URL": base, "LOOKALIKE_TOKEN": TOKEN})
        assert run.returncode == 0, run.stderr
        assert len(pd.read_csv(tmp_path / "synthetic.csv")) == 1000
        jobs = httpx.get(f"{base}/api/jobs", headers=AUTH).json()
        assert len(jobs) == 3 and job in {j["id"] for j in jobs}  # the history survived the restart
        assert len(example.read_text().splitlines()) < 20
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_recovery_removes_half_written_files_and_orphans(tmp_path):
    """What a kill -9 can leave mid-write (temp files beside an output, a model folder no row owns) is swept
    at start; finished jobs and their outputs are kept."""
    from lookalike.service.jobs import JobRunner
    from lookalike.service.store import Store, new_id

    store = Store(tmp_path)
    running, done, queued = new_id(), new_id(), new_id()
    store.insert("jobs", id=running, type="sample", params={}, status="running", started=time.time())
    store.insert("jobs", id=queued, type="sample", params={}, status="queued")
    store.insert("jobs", id=done, type="sample", params={}, status="done", result={"output": "synthetic.csv"})
    for job in (running, done):
        store.job_dir(job).mkdir()
    (store.job_dir(running) / ".synthetic.csv.x1y2.tmp").write_text("a,b\n1,")
    (store.job_dir(done) / "synthetic.csv").write_text("a,b\n1,2\n")
    orphan = store.model_file(new_id())
    orphan.parent.mkdir()
    orphan.write_bytes(b"PK")
    (tmp_path / "uploads" / new_id()).write_bytes(b"half an upload")

    assert JobRunner(store).recover() == [running]
    job = store.one("jobs", running)
    assert job["status"] == "failed" and job["message"].startswith("interrupted")
    assert not store.job_dir(running).exists() and not orphan.parent.exists()
    assert list((tmp_path / "uploads").iterdir()) == []
    assert (store.job_dir(done) / "synthetic.csv").read_text() == "a,b\n1,2\n"
    assert store.one("jobs", queued)["status"] == "queued"  # still runs after the restart
