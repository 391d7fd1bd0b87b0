"""`harness finetune ACTION`: the OpenAI fine-tuning workflow of harness.finetune."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from harness.cli.common import Subcommands, add_command, positive_float, positive_int
from harness.data.manifest import DataSettings


def add_finetune_command(commands: Subcommands) -> None:
    """`harness finetune ACTION`: the OpenAI fine-tuning workflow."""
    finetune = add_command(commands, "finetune", "prepare, validate, launch and follow OpenAI fine-tuning",
                           "The OpenAI fine-tuning workflow: chat JSONL rendered with a run config's prompt, checked "
                           "as OpenAI's guide does, uploaded, the job created, followed, and a run config written.")
    actions = finetune.add_subparsers(dest="action", required=True, metavar="ACTION")
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"),
                            help="API base URL (default $OPENAI_BASE_URL, else OpenAI's)")
    connection.add_argument("--api-key-env", default="OPENAI_API_KEY",
                            help="the environment variable holding the key (default OPENAI_API_KEY)")
    connection.add_argument("--records", default="results/finetune",
                            help="where job records are kept (default results/finetune)")
    prep = actions.add_parser("prepare", help="chat JSONL rendered with a run config's prompt",
                              description="Render training pairs as chat JSONL with the prompt of a run config.")
    prep.add_argument("--train", required=True, help="instruction.json, a para file or chat JSONL (or a manifest path)")
    prep.add_argument("--validation", default=None, help="a validation set in the same forms")
    prep.add_argument("--config", required=True, help="the run config whose prompt to use (e.g. configs/gpt35.yaml)")
    prep.add_argument("--out", required=True, help="folder for train.jsonl (and validation.jsonl)")
    prep.add_argument("--drop-identity", action="store_true", help="drop pairs whose target equals the source")
    prep.add_argument("--drop-duplicates", action="store_true", help="drop repeated (source, target) pairs")
    prep.add_argument("--force", action="store_true", help="train even on sources that overlap the evaluation set")
    prep.add_argument("--data-dir", default=None, help="local data mirror (default: $CGEC_DATA_DIR)")
    check = actions.add_parser("validate", help="check a chat JSONL as OpenAI's guide does",
                               description="Check a chat JSONL file: each problem with its line; tokens and cost.")
    check.add_argument("file", help="the chat JSONL file")
    check.add_argument("--model", default="gpt-3.5-turbo", help="the model to fine-tune (limits and price)")
    check.add_argument("--epochs", type=positive_int, default=3, help="epochs, for the cost estimate (default 3)")
    start = actions.add_parser("launch", parents=[connection], help="upload, create the job, record it",
                               description="Upload the training (and validation) file and create the job.")
    start.add_argument("--train", required=True, help="the chat JSONL to train on")
    start.add_argument("--validation", default=None, help="a chat JSONL to validate on")
    start.add_argument("--model", default="gpt-3.5-turbo", help="the base model (default gpt-3.5-turbo)")
    start.add_argument("--epochs", type=positive_int, default=None, help="epochs (default: the API's choice)")
    start.add_argument("--suffix", default=None, help="a suffix for the model name (and the config's name)")
    start.add_argument("--seed", type=int, default=None, help="the job's seed")
    start.add_argument("--config", default=None, help="the run config the data was prepared with")
    start.add_argument("--poll", type=positive_float, default=1.0, help="seconds between file status checks")
    watch = actions.add_parser("follow", parents=[connection], help="status, events, losses until the job ends",
                               description="Follow a job; on success write a run config for its model (never "
                                           "over an existing file). Ctrl-C stops following, not the job.")
    watch.add_argument("job", help="the job id")
    watch.add_argument("--poll", type=positive_float, default=10.0, help="seconds between checks (default 10)")
    watch.add_argument("--configs", default="configs", help="where the run config of the new model goes")
    stop = actions.add_parser("cancel", parents=[connection], help="cancel a job", description="Cancel a job.")
    stop.add_argument("job", help="the job id")
    actions.add_parser("list", parents=[connection], help="recent jobs", description="The account's recent jobs.")
    finetune.set_defaults(func=cmd_finetune)


def cmd_finetune(args: argparse.Namespace) -> int:
    """Each action calls harness.finetune and prints what it did; `validate` exits 2 on a problem,
    `follow` 1 when the job did not succeed."""
    from harness.finetune import jobs

    if args.action == "prepare":
        from harness.config.schema import load_config
        from harness.finetune.prepare import prepare

        config = load_config(args.config, strict_env=False)
        settings = DataSettings.from_env(data_dir=args.data_dir)
        for report in prepare(args.train, config, settings, Path(args.out), args.validation,
                              args.drop_identity, args.drop_duplicates, args.force):
            overlap = (f"{len(report.exact_overlap)} exact, {len(report.near_overlap)} near (forced)"
                       if report.exact_overlap or report.near_overlap else "none")
            print(f"{report.input}: {report.read} pairs read, {report.examples} examples written; "
                  f"{report.stripped} had stray whitespace; identity pairs {report.identity} "
                  f"(dropped {report.identity_dropped}); duplicates {report.duplicates} "
                  f"(dropped {report.duplicates_dropped}); overlap with the evaluation set: {overlap}")
        print(f"written to {args.out}")
        return 0
    if args.action == "validate":
        from harness.finetune.validate import validate

        result = validate(args.file, args.model, args.epochs)
        print(result.report())
        return 0 if result.ok else 2
    connection = jobs.Connection(base_url=args.base_url, api_key_env=args.api_key_env)
    records, configs = Path(args.records), Path(getattr(args, "configs", "configs"))
    if args.action == "launch":
        record = jobs.launch(connection, Path(args.train), args.model, records,
                             Path(args.validation) if args.validation else None, args.epochs, args.suffix, args.seed,
                             Path(args.config) if args.config else None, poll_s=args.poll)
        print(f"job {record['job_id']} created ({record['status']}); record {records / (record['job_id'] + '.json')}")
        print(f"follow it with: python -m harness finetune follow {record['job_id']}")
        return 0
    if args.action == "follow":
        try:
            record = jobs.follow(connection, args.job, records, configs, poll_s=args.poll)
        except KeyboardInterrupt:
            return 130
        if record["status"] != "succeeded":
            error = record.get("error") or {}
            print(f"job {args.job} ended {record['status']}" + (f": {error.get('message')}" if error else ""))
            return 1
        return 0
    if args.action == "cancel":
        print(f"job {args.job}: {jobs.cancel(connection, args.job)}")
        return 0
    for job_id, model, status, fine_tuned in jobs.list_jobs(connection):
        print(f"{job_id}  {model}  {status}  {fine_tuned or ''}")
    return 0
