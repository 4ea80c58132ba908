"""Fit -> sample -> download over lookalike's REST API: `python rest_client.py loans.csv` (after `lookalike serve`)."""
import os, sys, time  # noqa: E401
import httpx

api = httpx.Client(base_url=os.environ.get("LOOKALIKE_URL", "http://127.0.0.1:8765") + "/api",
                   headers={"Authorization": f"Bearer {os.environ['LOOKALIKE_TOKEN']}"}, timeout=60)


def run(job: dict) -> dict:  # queue a job, wait until it finishes
    id = api.post("/jobs", json=job).raise_for_status().json()["id"]
    while (state := api.get(f"/jobs/{id}").json())["status"] in ("queued", "running"):
        time.sleep(0.5)
    return state if state["status"] == "done" else sys.exit(f"{job['type']} job {state['status']}: {state['message']}")


dataset = api.post("/datasets", files={"file": open(sys.argv[1], "rb")}).raise_for_status().json()["id"]
model = run({"type": "fit", "dataset": dataset, "model": "copula", "max_time": 60})["result"]["model"]
sample = run({"type": "sample", "model": model, "n": 1000, "format": "csv", "seed": 1})
open("synthetic.csv", "wb").write(api.get(f"/jobs/{sample['id']}/output").content)
