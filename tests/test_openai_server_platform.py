"""The Files, Fine-tuning and Batch APIs of the local OpenAI-compatible test server
(tests/servers/openai_server.py --platform), end to end through the real `openai` SDK: uploads and
downloads, fine-tuning jobs that succeed, fail or are cancelled, and batches that complete, fail,
expire or are cancelled. Jobs and batches move on with the time since their creation
(--ft-step-s, --batch-step-s: 0.2 s per state by default)."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import openai
import pytest

from tests.servers.server_process import ServerProcess

API_KEY = "sk-test"
FT_STATES = ["validating_files", "queued", "running", "succeeded"]
BATCH_STATES = ["validating", "in_progress", "finalizing", "completed"]


def client(srv: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key=API_KEY, max_retries=0, timeout=10)


def jsonl(objects: list[Any]) -> bytes:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects).encode("utf-8")


def parse_jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def chat_examples(n: int) -> list[dict[str, Any]]:
    return [{"messages": [{"role": "system", "content": "你是语法纠错助手。"},
                          {"role": "user", "content": f"句子{i}有错。"},
                          {"role": "assistant", "content": f"句子{i}没错。"}]} for i in range(n)]


def batch_lines(n: int, model: str = "test-model") -> list[dict[str, Any]]:
    return [{"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": model, "messages": [{"role": "user", "content": f"请改正：\n句子{i}。"}]}}
            for i in range(n)]


def poll(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 5.0) -> tuple[Any, list[str]]:
    """Call fetch() until done(result); return the last result and the distinct statuses seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        obj = fetch()
        if not seen or seen[-1] != obj.status:
            seen.append(obj.status)
        if done(obj):
            return obj, seen
        if time.monotonic() > deadline:
            pytest.fail(f"still {obj.status!r} after {timeout} s (seen {seen})")
        time.sleep(0.03)


def in_order(seen: list[str], states: list[str]) -> bool:
    return [states.index(s) for s in seen] == sorted(states.index(s) for s in seen)


def upload(c: openai.OpenAI, data: bytes, purpose: str = "fine-tune", name: str = "train.jsonl"):
    return c.files.create(file=(name, data), purpose=purpose)


def run_batch(c: openai.OpenAI, lines: list[dict[str, Any]], metadata: dict[str, str] | None = None):
    f = upload(c, jsonl(lines), purpose="batch", name="batch_input.jsonl")
    b = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h",
                         metadata=metadata)
    final, seen = poll(lambda: c.batches.retrieve(b.id),
                       lambda x: x.status in ("completed", "failed", "expired", "cancelled"))
    return b, final, seen


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("platform") / "requests.jsonl"
    with ServerProcess("--platform", log=log) as server:
        yield server


@pytest.fixture()
def c(srv: ServerProcess) -> Iterator[openai.OpenAI]:
    with client(srv) as oc:
        yield oc


# --------------------------------------------------------------------------- files


def test_upload_read_back_list_and_delete(srv: ServerProcess, c: openai.OpenAI) -> None:
    data = jsonl(chat_examples(3))
    f = c.files.create(file=("训练集.jsonl", data), purpose="fine-tune")
    assert f.id.startswith("file-") and f.object == "file"
    assert (f.filename, f.purpose, f.bytes, f.status) == ("训练集.jsonl", "fine-tune", len(data), "processed")
    assert abs(f.created_at - time.time()) < 60
    assert c.files.retrieve(f.id) == f
    assert c.files.content(f.id).content == data
    assert f.id in [x.id for x in c.files.list()]
    assert f.id in [x.id for x in c.files.list(purpose="fine-tune")]
    assert f.id not in [x.id for x in c.files.list(purpose="batch")]

    deleted = c.files.delete(f.id)
    assert (deleted.id, deleted.deleted) == (f.id, True)
    with pytest.raises(openai.NotFoundError, match="No such File object"):
        c.files.retrieve(f.id)
    with pytest.raises(openai.NotFoundError):
        c.files.content(f.id)

    # The SDK sends multipart/form-data (Content-Length, fields `purpose` then `file`); the log keeps
    # a null body and the file name.
    upload_record = [r for r in srv.requests() if (r["method"], r["path"]) == ("POST", "/v1/files")][0]
    assert (upload_record["body"], upload_record["filename"], upload_record["status"]) == (None, "训练集.jsonl", 200)


def test_upload_of_a_bare_file_object_and_a_bad_purpose(c: openai.OpenAI, tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_bytes(jsonl(chat_examples(1)))
    f = c.files.create(file=path, purpose="fine-tune")             # a Path: the SDK sends its name
    assert f.filename == "dev.jsonl"
    with path.open("rb") as fh:
        assert c.files.create(file=fh, purpose="batch").filename == "dev.jsonl"
    with pytest.raises(openai.BadRequestError, match="purpose"):
        c.files.create(file=("x.jsonl", b"{}\n"), purpose="not-a-purpose")  # type: ignore[arg-type]


def test_file_processing_delay() -> None:
    with ServerProcess("--platform", "--file-processing-s", "0.5") as srv, client(srv) as c:
        f = upload(c, jsonl(chat_examples(2)))
        assert f.status == "uploaded"
        with pytest.raises(openai.BadRequestError, match="still being processed"):
            c.fine_tuning.jobs.create(training_file=f.id, model="test-model")
        assert c.files.wait_for_processing(f.id, poll_interval=0.05, max_wait_seconds=5).status == "processed"
        assert c.fine_tuning.jobs.create(training_file=f.id, model="test-model").status == "validating_files"


def test_platform_routes_are_off_without_the_option() -> None:
    with ServerProcess() as srv, client(srv) as c:
        with pytest.raises(openai.NotFoundError):
            c.batches.list()


# --------------------------------------------------------------------------- fine-tuning


def test_fine_tuning_job_succeeds_with_events_checkpoints_and_results(c: openai.OpenAI) -> None:
    training, validation = upload(c, jsonl(chat_examples(5))), upload(c, jsonl(chat_examples(2)), name="dev.jsonl")
    job = c.fine_tuning.jobs.create(training_file=training.id, validation_file=validation.id, model="test-model",
                                    suffix="cgec", seed=42, hyperparameters={"n_epochs": 4})
    assert job.id.startswith("ftjob-") and job.object == "fine_tuning.job"
    assert (job.status, job.fine_tuned_model, job.finished_at, job.trained_tokens) == \
        ("validating_files", None, None, None)
    assert (job.seed, job.hyperparameters.n_epochs, job.training_file, job.validation_file) == \
        (42, 4, training.id, validation.id)

    final, seen = poll(lambda: c.fine_tuning.jobs.retrieve(job.id), lambda j: j.status in ("succeeded", "failed"))
    assert final.status == "succeeded" and in_order(seen, FT_STATES)
    assert final.fine_tuned_model == f"ft:test-model:test-org:cgec:{job.id.removeprefix('ftjob-')[:8]}"
    assert final.finished_at is not None and final.finished_at >= final.created_at and final.error is None
    chars_per_epoch = sum(len(m["content"]) for ex in chat_examples(5) for m in ex["messages"])
    assert final.trained_tokens == 4 * chars_per_epoch
    assert job.id in [j.id for j in c.fine_tuning.jobs.list()]

    events = list(c.fine_tuning.jobs.list_events(job.id, limit=5))    # auto-paginates with `after`
    messages = [e.message for e in events]
    assert messages[0] == "The job has successfully completed"           # newest first
    assert messages[-1] == f"Created fine-tuning job: {job.id}"
    assert any(m.startswith("Validating training file") for m in messages)
    assert "Fine-tuning job started" in messages
    assert [e.created_at for e in events] == sorted((e.created_at for e in events), reverse=True)
    assert len({e.id for e in events}) == len(events)
    metrics = [e for e in events if e.type == "metrics"]
    assert metrics and all("training loss=" in e.message and "validation loss=" in e.message for e in metrics)
    assert metrics[0].message.startswith("Step 20/20: training loss=")  # 4 epochs x 5 examples
    assert metrics[0].data["total_steps"] == 20 and metrics[0].data["train_loss"] > 0

    checkpoints = list(c.fine_tuning.jobs.checkpoints.list(job.id))
    assert [ck.step_number for ck in checkpoints] == [20, 15, 10]           # the last 3 epochs, newest first
    assert checkpoints[0].fine_tuned_model_checkpoint == f"{final.fine_tuned_model}:ckpt-step-20"
    assert all(ck.fine_tuning_job_id == job.id and ck.metrics.step == ck.step_number for ck in checkpoints)
    assert all(ck.metrics.train_loss > 0 and ck.metrics.full_valid_loss is not None for ck in checkpoints)

    (result_id,) = final.result_files
    result = c.files.retrieve(result_id)
    assert (result.purpose, result.filename) == ("fine-tune-results", "step_metrics.csv")
    csv_rows = base64.b64decode(c.files.content(result_id).content).decode().splitlines()  # base64, like OpenAI
    assert csv_rows[0].startswith("step,train_loss,") and len(csv_rows) == 1 + 20


def test_fine_tuning_job_with_fail_in_suffix_fails(c: openai.OpenAI) -> None:
    f = upload(c, jsonl(chat_examples(3)))
    job = c.fine_tuning.jobs.create(training_file=f.id, model="test-model", suffix="please-fail")
    final, seen = poll(lambda: c.fine_tuning.jobs.retrieve(job.id), lambda j: j.status in ("succeeded", "failed"))
    assert final.status == "failed" and in_order(seen, FT_STATES[:3] + ["failed"])
    assert final.error is not None and final.error.code and final.error.message
    assert (final.fine_tuned_model, final.trained_tokens, final.result_files) == (None, None, [])
    events = list(c.fine_tuning.jobs.list_events(job.id))
    assert events[0].level == "error" and "failed" in events[0].message
    assert list(c.fine_tuning.jobs.checkpoints.list(job.id)) == []


def test_fine_tuning_cancel() -> None:
    with ServerProcess("--platform", "--ft-step-s", "1") as srv, client(srv) as c:
        f = upload(c, jsonl(chat_examples(2)))
        job = c.fine_tuning.jobs.create(training_file=f.id, model="test-model")
        cancelled = c.fine_tuning.jobs.cancel(job.id)
        assert cancelled.status == "cancelled" and cancelled.fine_tuned_model is None
        assert c.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
        assert next(iter(c.fine_tuning.jobs.list_events(job.id))).message == "Fine-tuning job cancelled"
        with pytest.raises(openai.BadRequestError, match="cannot be cancelled"):
            c.fine_tuning.jobs.cancel(job.id)
        with pytest.raises(openai.NotFoundError):
            c.fine_tuning.jobs.cancel("ftjob-nope")


def test_fine_tuning_create_rejects_missing_and_invalid_files(c: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="file-does-not-exist") as info:
        c.fine_tuning.jobs.create(training_file="file-does-not-exist", model="test-model")
    assert info.value.param == "training_file"
    not_json = upload(c, jsonl(chat_examples(1)) + b"{not json\n")
    with pytest.raises(openai.BadRequestError, match="line 2 is not valid JSON"):
        c.fine_tuning.jobs.create(training_file=not_json.id, model="test-model")
    no_messages = upload(c, jsonl([{"prompt": "a", "completion": "b"}]))
    with pytest.raises(openai.BadRequestError, match="'messages' list"):
        c.fine_tuning.jobs.create(training_file=no_messages.id, model="test-model")
    batch_purpose = upload(c, jsonl(chat_examples(1)), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="purpose"):
        c.fine_tuning.jobs.create(training_file=batch_purpose.id, model="test-model")


def test_fine_tuning_list_pages_newest_first(c: openai.OpenAI) -> None:
    f = upload(c, jsonl(chat_examples(1)))
    ids = [c.fine_tuning.jobs.create(training_file=f.id, model="test-model", suffix=f"s{i}").id for i in range(3)]
    page = c.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in page.data] == ids[::-1][:2] and page.has_more
    listed = [j.id for j in c.fine_tuning.jobs.list(limit=2)]     # all pages
    assert [i for i in listed if i in ids] == ids[::-1]


# --------------------------------------------------------------------------- batches


def test_batch_of_5_completes_with_shuffled_output_equal_to_chat_completions(srv: ServerProcess,
                                                                           c: openai.OpenAI) -> None:
    lines = batch_lines(5)
    b, final, seen = run_batch(c, lines, metadata={"purpose": "test"})
    assert b.id.startswith("batch_") and b.object == "batch" and b.status == "validating"
    assert final.status == "completed" and in_order(seen, BATCH_STATES)
    assert (final.request_counts.total, final.request_counts.completed, final.request_counts.failed) == (5, 5, 0)
    assert final.error_file_id is None and final.errors is None and final.metadata == {"purpose": "test"}
    assert final.completed_at is not None and final.in_progress_at is not None and final.finalizing_at is not None
    assert b.id in [x.id for x in c.batches.list()]

    out_file = c.files.retrieve(final.output_file_id)
    assert out_file.purpose == "batch_output"
    out = parse_jsonl(c.files.content(final.output_file_id).text)
    custom_ids = [line["custom_id"] for line in out]
    assert sorted(custom_ids) == [line["custom_id"] for line in lines]
    assert custom_ids != [line["custom_id"] for line in lines]               # unordered, like OpenAI's
    by_id = {line["custom_id"]: line for line in lines}
    for line in out:
        assert line["id"].startswith("batch_req_") and line["error"] is None
        assert line["response"]["status_code"] == 200 and line["response"]["request_id"]
        req = urllib.request.Request(srv.url("/v1/chat/completions"), method="POST",
                                     data=json.dumps(by_id[line["custom_id"]]["body"]).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            direct = json.load(resp)
        got = line["response"]["body"]
        assert {k: v for k, v in got.items() if k not in ("id", "created")} == \
               {k: v for k, v in direct.items() if k not in ("id", "created")}
        assert got["id"].startswith("chatcmpl-")


def test_batch_output_order_is_seeded(tmp_path: Path) -> None:
    def order() -> list[str]:
        with ServerProcess("--platform", "--seed", "3", "--batch-step-s", "0") as srv, client(srv) as c:
            _, final, _ = run_batch(c, batch_lines(6))
            return [line["custom_id"] for line in parse_jsonl(c.files.content(final.output_file_id).text)]
    assert order() == order()


def test_batch_invalid_bodies_go_to_the_error_file(c: openai.OpenAI) -> None:
    lines = batch_lines(3) + [{"custom_id": "no-messages", "method": "POST", "url": "/v1/chat/completions",
                               "body": {"model": "test-model"}}]
    _, final, _ = run_batch(c, lines)
    assert final.status == "completed"
    assert (final.request_counts.total, final.request_counts.completed, final.request_counts.failed) == (4, 3, 1)
    assert len(parse_jsonl(c.files.content(final.output_file_id).text)) == 3
    (err,) = parse_jsonl(c.files.content(final.error_file_id).text)
    assert err["custom_id"] == "no-messages" and err["error"]["code"] and "messages" in err["error"]["message"]
    assert err["response"]["status_code"] == 400 and "error" in err["response"]["body"]


def test_batch_with_a_malformed_line_fails_validation(c: openai.OpenAI) -> None:
    f = upload(c, jsonl(batch_lines(2)) + b"not json\n", purpose="batch")
    b = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    final, _ = poll(lambda: c.batches.retrieve(b.id), lambda x: x.status != "validating")
    assert final.status == "failed" and final.output_file_id is None
    assert [(e.code, e.line) for e in final.errors.data] == [("invalid_json_line", 3)]


def test_scripted_failed_and_expired_batches(c: openai.OpenAI) -> None:
    _, failed, seen = run_batch(c, batch_lines(4), metadata={"test_outcome": "failed"})
    assert failed.status == "failed" and seen == ["validating", "failed"]
    assert failed.errors.data and failed.errors.data[0].message and failed.failed_at is not None
    assert (failed.output_file_id, failed.error_file_id) == (None, None)

    _, expired, seen = run_batch(c, batch_lines(4), metadata={"test_outcome": "expired"})
    assert expired.status == "expired" and seen[-1] == "expired" and expired.expired_at is not None
    assert (expired.request_counts.total, expired.request_counts.completed) == (4, 2)
    done = parse_jsonl(c.files.content(expired.output_file_id).text)
    not_done = parse_jsonl(c.files.content(expired.error_file_id).text)
    assert sorted(x["custom_id"] for x in done) == ["req-0", "req-1"]
    assert sorted(x["custom_id"] for x in not_done) == ["req-2", "req-3"]
    assert all(x["response"] is None and x["error"]["code"] == "batch_expired" for x in not_done)


def test_batch_cancel() -> None:
    with ServerProcess("--platform", "--batch-step-s", "0.5") as srv, client(srv) as c:
        f = upload(c, jsonl(batch_lines(3)), purpose="batch")
        b = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
        cancelling = c.batches.cancel(b.id)
        assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
        final, seen = poll(lambda: c.batches.retrieve(b.id), lambda x: x.status != "cancelling")
        assert final.status == "cancelled" and final.cancelled_at is not None and final.output_file_id is None
        assert {x["error"]["code"] for x in parse_jsonl(c.files.content(final.error_file_id).text)} == \
               {"batch_cancelled"}
        with pytest.raises(openai.BadRequestError, match="cannot be cancelled"):
            c.batches.cancel(b.id)


def test_batch_create_validation(c: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        c.batches.create(input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h")
    tuning = upload(c, jsonl(batch_lines(1)), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="purpose"):
        c.batches.create(input_file_id=tuning.id, endpoint="/v1/chat/completions", completion_window="24h")
    batch_file = upload(c, jsonl(batch_lines(1)), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="endpoint"):
        c.batches.create(input_file_id=batch_file.id, endpoint="/v1/embeddings", completion_window="24h")
    with pytest.raises(openai.BadRequestError, match="test_outcome"):
        c.batches.create(input_file_id=batch_file.id, endpoint="/v1/chat/completions", completion_window="24h",
                         metadata={"test_outcome": "exploded"})
    with pytest.raises(openai.NotFoundError):
        c.batches.retrieve("batch_nope")
