"""`harness serve-local`: a llama.cpp server for a local model (the `local` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import Subcommands, add_command, positive_float, positive_int
from harness.data.manifest import DataSettings


def add_serve_local_command(commands: Subcommands) -> None:
    """`harness serve-local`: a llama.cpp server for a local model."""
    local = add_command(commands, "serve-local", "a llama.cpp OpenAI-compatible server with a small model",
                        "Start llama.cpp's OpenAI-compatible server on 127.0.0.1 (the `local` extra), publish what it "
                        "serves (GGUF sha256, template, version) for run records, and stop it on Ctrl-C.")
    local.add_argument("--model", default=None, help="a GGUF file (default: the packaged Gemma 3 270M)")
    local.add_argument("--chat-format", default=None,
                       help="llama-cpp-python chat format (chatml, llama-2, gemma, qwen...); default: the template "
                            "stored in the GGUF, or gemma for the packaged model")
    local.add_argument("--ctx", type=positive_int, default=2048, help="context size in tokens (default 2048)")
    local.add_argument("--port", type=int, default=8011, help="port on 127.0.0.1 (default 8011)")
    local.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: llama.cpp's)")
    local.add_argument("--log", default=None, help="the server's log file (default "
                                                   "$CGEC_CACHE_DIR/serve-local/server-<port>.log)")
    local.add_argument("--ready-timeout", type=positive_float, default=120.0,
                       help="seconds to wait for the server to answer (default 120)")
    local.set_defaults(func=cmd_serve_local)


def cmd_serve_local(args: argparse.Namespace) -> int:
    """The server publishes what it serves under the cache, where run records find it."""
    from harness.backends import SERVE_LOCAL_DIR
    from harness.backends.serve_local import serve

    identities = DataSettings.from_env().cache_dir / SERVE_LOCAL_DIR
    return serve(args.model, args.port, identities, args.ready_timeout, args.threads, args.chat_format, args.ctx,
                 Path(args.log) if args.log else None)
