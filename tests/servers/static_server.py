"""A throwaway HTTP server on 127.0.0.1 so download tests exercise a real socket, in its own process.

Usage: static_server.py ROOT [--corrupt RELPATH]... [--fail RELPATH]... [--log FILE]

Prints the chosen port on its first stdout line. Serves files under ROOT; a --corrupt path is
served with the same length but flipped bytes, a --fail path answers 500. Each request is
appended to --log as `METHOD PATH STATUS` before the response is sent.
"""

from __future__ import annotations

import argparse
import http.server
import sys
import threading
import urllib.parse
from functools import partial
from pathlib import Path


class Handler(http.server.SimpleHTTPRequestHandler):
    corrupt: frozenset[str] = frozenset()
    fail: frozenset[str] = frozenset()
    log_path: Path | None = None
    log_lock = threading.Lock()

    def _relpath(self) -> str:
        return urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")

    def _record(self, status: int) -> None:
        if self.log_path is None:
            return
        with self.log_lock, open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(f"{self.command} /{self._relpath()} {status}\n")
            fh.flush()

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        relpath = self._relpath()
        if relpath in self.fail:
            self._record(500)
            self.send_error(500, "deliberate failure")
            return
        if relpath in self.corrupt:
            data = bytes(b ^ 0xFF for b in (Path(self.directory) / relpath).read_bytes())
            self._record(200)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        target = Path(self.directory) / relpath
        self._record(200 if target.is_file() else 404)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--corrupt", action="append", default=[], metavar="RELPATH")
    parser.add_argument("--fail", action="append", default=[], metavar="RELPATH")
    parser.add_argument("--log", type=Path, default=None, metavar="FILE")
    args = parser.parse_args(argv)

    handler = type(
        "ConfiguredHandler",
        (Handler,),
        {
            "corrupt": frozenset(args.corrupt),
            "fail": frozenset(args.fail),
            "log_path": args.log,
        },
    )
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(args.root.resolve()))
    )
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
