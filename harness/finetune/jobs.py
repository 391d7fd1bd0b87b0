"""Launch, follow, cancel and list OpenAI fine-tuning jobs through the official SDK; records
under results/finetune/<job>.json so that following resumes, and a run config for the model
the job produced. Stopping `follow` never cancels a job."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import openai
import yaml

from harness.backends.platform import api_call
from harness.core.errors import HarnessError
from harness.core.atomic import create_text, write_json

FINAL_STATES = {"succeeded", "failed", "cancelled"}


@dataclass(frozen=True)
class Connection:
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"

    def client(self) -> openai.OpenAI:
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise HarnessError(f"environment variable {self.api_key_env} is not set (it must hold the API key)")
        return openai.OpenAI(api_key=key, base_url=self.base_url, max_retries=3, timeout=120)


def upload(client: openai.OpenAI, path: Path, wait_s: float = 600, poll_s: float = 1.0) -> str:
    """Upload a training file and wait until the API has processed it."""
    with path.open("rb") as handle:
        created = api_call(lambda: client.files.create(file=handle, purpose="fine-tune"), f"uploading {path}")
    deadline = time.monotonic() + wait_s
    while True:
        info = api_call(lambda: client.files.retrieve(created.id), f"checking {created.id}")
        if info.status == "processed":
            return created.id
        if info.status == "error":
            raise HarnessError(f"the API could not process the file: {getattr(info, 'status_details', '')}", path)
        if time.monotonic() > deadline:
            raise HarnessError(f"file {created.id} not processed after {wait_s:g} s", path)
        time.sleep(poll_s)


def launch(connection: Connection, train: Path, model: str, records: Path, validation: Path | None = None,
           epochs: int | None = None, suffix: str | None = None, seed: int | None = None,
           run_config: Path | None = None, poll_s: float = 1.0) -> dict:
    client = connection.client()
    training_file = upload(client, train, poll_s=poll_s)
    validation_file = upload(client, validation, poll_s=poll_s) if validation else None
    arguments: dict[str, Any] = {"training_file": training_file, "model": model}
    if validation_file:
        arguments["validation_file"] = validation_file
    if epochs:
        arguments["hyperparameters"] = {"n_epochs": epochs}
    if suffix:
        arguments["suffix"] = suffix
    if seed is not None:
        arguments["seed"] = seed
    job = api_call(lambda: client.fine_tuning.jobs.create(**arguments), "creating the fine-tuning job")
    record = {"job_id": job.id, "model": model, "training_file": training_file, "validation_file": validation_file,
              "train_path": str(train), "validation_path": str(validation) if validation else None,
              "epochs": epochs, "suffix": suffix, "seed": seed, "run_config": str(run_config) if run_config else None,
              "base_url": connection.base_url, "status": job.status, "created_at": job.created_at,
              "fine_tuned_model": None, "events_seen": [], "error": None}
    write_json(records / f"{job.id}.json", record)
    return record


def _record(records: Path, job_id: str) -> dict:
    path = records / f"{job_id}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"job_id": job_id, "events_seen": [], "run_config": None}


def follow(connection: Connection, job_id: str, records: Path, configs: Path, poll_s: float = 10.0,
           echo: Callable[[str], None] = print) -> dict:
    """Print status, new events and checkpoint metrics until the job ends. Ctrl-C stops
    following only; the record keeps which events were shown, so following again resumes."""
    client = connection.client()
    record = _record(records, job_id)
    seen = set(record.get("events_seen", []))
    try:
        while True:
            job = api_call(lambda: client.fine_tuning.jobs.retrieve(job_id), f"reading job {job_id}")
            events = api_call(lambda: client.fine_tuning.jobs.list_events(job_id, limit=100), "reading events")
            for event in sorted(events.data, key=lambda e: (e.created_at, e.id)):
                if event.id not in seen:
                    seen.add(event.id)
                    echo(f"[{time.strftime('%H:%M:%S', time.gmtime(event.created_at))}] {event.message}")
            record.update(status=job.status, fine_tuned_model=job.fine_tuned_model, events_seen=sorted(seen),
                          trained_tokens=getattr(job, "trained_tokens", None))
            if job.status == "failed":
                error = getattr(job, "error", None)
                record["error"] = {"code": getattr(error, "code", None), "message": getattr(error, "message", None)}
            write_json(records / f"{job_id}.json", record)
            echo(f"status: {job.status}" + (f" · model {job.fine_tuned_model}" if job.fine_tuned_model else ""))
            if job.status in FINAL_STATES:
                break
            time.sleep(poll_s)
    except KeyboardInterrupt:
        echo(f"stopped following; job {job_id} goes on (follow it again with: finetune follow {job_id})")
        raise
    if job.status == "succeeded":
        checkpoints = api_call(lambda: client.fine_tuning.jobs.checkpoints.list(job_id), "reading checkpoints")
        for checkpoint in checkpoints.data:
            metrics = checkpoint.metrics
            echo(f"checkpoint step {checkpoint.step_number}: train loss {getattr(metrics, 'train_loss', None)}")
        if record.get("config") is None or not Path(record["config"]).is_file():
            path = write_run_config(record, configs)
            record["config"] = str(path)
            write_json(records / f"{job_id}.json", record)
            wanted = configs / f"{record.get('suffix') or job_id}.yaml"
            if path != wanted:
                echo(f"{wanted} exists and is left as it is")
        echo(f"run config for {job.fine_tuned_model}: {record['config']}")
    return record


def write_run_config(record: dict, configs: Path) -> Path:
    """A run config for the fine-tuned model: the prompt of the config the data was prepared
    with (so train and test prompts are the same), the model id filled in."""
    name = record.get("suffix") or record["job_id"]
    base: dict[str, Any] = {}
    if record.get("run_config") and Path(record["run_config"]).is_file():
        base = yaml.safe_load(Path(record["run_config"]).read_text(encoding="utf-8")) or {}
    model = dict(base.get("model") or {"backend": "openai"})
    model.update(backend="openai", model=record["fine_tuned_model"])
    if record.get("base_url"):
        model["base_url"] = record["base_url"]
    config = {**base, "name": name, "model": model,
              "report": {**(base.get("report") or {}), "label": (base.get("report") or {}).get("label", name)}}
    config.setdefault("dataset", "nacgec-dev")
    header = f"# Written by `harness finetune follow {record['job_id']}`: the model that job produced.\n"
    text = header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    for number in range(1, 1000):
        path = configs / (f"{name}.yaml" if number == 1 else f"{name}-{number}.yaml")
        if create_text(path, text):
            return path
    raise HarnessError(f"no free name for the run config of {record['fine_tuned_model']}", configs / f"{name}.yaml")


def cancel(connection: Connection, job_id: str) -> str:
    job = api_call(lambda: connection.client().fine_tuning.jobs.cancel(job_id), f"cancelling {job_id}")
    return job.status


def list_jobs(connection: Connection, limit: int = 20) -> list[tuple[str, str, str, str | None]]:
    page = api_call(lambda: connection.client().fine_tuning.jobs.list(limit=limit), "listing jobs")
    return [(job.id, job.model, job.status, job.fine_tuned_model) for job in page.data]
