"""Load on `lookalike serve`: while a fit runs, N concurrent clients poll the job's status for S seconds.

Starts the server in a subprocess (a fresh workspace), uploads the bundled ANES table, starts an argn fit
with a time budget longer than the test, then runs the clients (asyncio + httpx, one connection each) in
this process. The target (issue 18): p95 under 200 ms and no failed request. Writes its own section of
benchmarks/RESULTS.md.

    python benchmarks/service_load.py [--clients 50] [--seconds 30] [--interval 0.25] [--no-write]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path

import json

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from results_sections import update_section  # noqa: E402

TOKEN = "load-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STATUSES = ("queued", "running", "done", "failed", "cancelled")


def start_server(workspace: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "LOOKALIKE_TOKEN": TOKEN, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen([sys.executable, "-c", "from lookalike.cli import run; run()", "serve", "--port", str(port),
                             "--workspace", str(workspace)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/info", headers=AUTH, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def client(port: int, url: str, until: float, interval: float, latencies: list, failures: list) -> None:
    """One client on its own keep-alive connection. Plain HTTP/1.1 over asyncio streams (as wrk or hey do),
    so the clients' own CPU use, on the same machine, stays small beside the server's."""
    request = (f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\n"
               "Accept: application/json\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length:")))
                body = await reader.readexactly(length)
                ok = head.startswith(b"HTTP/1.1 200") and json.loads(body)["status"] in STATUSES
                problem = head.split(b"\r\n")[0].decode()
            except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration) as exc:
                ok, problem = False, repr(exc)
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            elapsed = time.perf_counter() - started
            (latencies if ok else failures).append(elapsed if ok else problem)
            await asyncio.sleep(max(0.0, interval - elapsed))
    finally:
        writer.close()


async def load(port: int, url: str, clients: int, seconds: float, interval: float):
    latencies: list[float] = []
    failures: list[str] = []
    until = time.monotonic() + seconds
    await asyncio.gather(*(client(port, url, until, interval, latencies, failures) for _ in range(clients)))
    return np.array(latencies) * 1000, failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--interval", type=float, default=0.25, help="Seconds between one client's polls.")
    ap.add_argument("--no-write", action="store_true", help="Print only; leave RESULTS.md alone.")
    args = ap.parse_args()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "ws", port)
        try:
            with open(str(files("lookalike") / "data" / "anes96.csv"), "rb") as fh:
                dataset = httpx.post(f"{base}/api/datasets", headers=AUTH, files={"file": ("anes96.csv", fh)}).json()["id"]
            job = httpx.post(f"{base}/api/jobs", headers=AUTH, json={
                "type": "fit", "dataset": dataset, "model": "argn", "max_time": args.seconds + 60,
                "max_epochs": 100_000, "model_params": {"patience": 100_000}}).json()["id"]
            url = f"/api/jobs/{job}"
            while (state := httpx.get(base + url, headers=AUTH).json())["progress"] == 0:  # training has begun
                time.sleep(0.2)
            load_before, cpu_before = os.getloadavg()[0], cpu_seconds(server.pid)
            mine = time.process_time()
            ms, failures = asyncio.run(load(port, url, args.clients, args.seconds, args.interval))
            client_cpu = time.process_time() - mine
            after = httpx.get(base + url, headers=AUTH).json()
            load_after, server_cpu = os.getloadavg()[0], cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=30)
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    fitting = after["status"] == "running"
    verdict = "meets" if p95 < 200 and not failures and fitting else "misses"
    text = f"""## REST service under load (issue 18)

`benchmarks/service_load.py`: `lookalike serve` (one Uvicorn process) while an argn fit of the ANES table runs
in its worker process; {args.clients} concurrent clients (one connection each) poll `GET /api/jobs/{{id}}` every
{args.interval:g} s for {args.seconds:g} s. The clients run on the same machine ({os.cpu_count()} cores, {platform.machine()},
load average {load_before:.1f} before and {load_after:.1f} after).

| requests | failed | req/s | p50 ms | p95 ms | p99 ms | max ms | fit still running at the end |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
| {len(ms):,} | {len(failures)} | {len(ms) / args.seconds:.0f} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {ms.max():.1f} | {"yes" if fitting else "no"} (progress {state['progress']:.2f} -> {after['progress']:.2f}) |

The server spent {1000 * server_cpu / max(len(ms), 1):.2f} ms of CPU per status request ({server_cpu:.1f} s in all), so one core
serves about {len(ms) / max(server_cpu, 1e-9):.0f} polls a second; the clients used {client_cpu:.1f} s of CPU. Latency above that
is time spent waiting for a CPU.

Target: p95 < 200 ms and no failed request while a fit runs: this run **{verdict}** it.
"""
    print(text)
    if failures:
        print("first failures:", failures[:5])
    if not args.no_write:
        update_section("service-load", text)
        print("written to benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
