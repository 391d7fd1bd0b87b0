"""The OpenAI fine-tuning workflow: prepare and validate chat JSONL with the run config's own
prompt, upload, launch, follow, and hand the fine-tuned model to `harness run`."""
