"""Hotline call-log import: rows per second and peak memory for a generated file.

    .venv/bin/python bench/calllog.py [--rows 100000] [--database postgresql|sqlite]

Writes a CSV of ``--rows`` realistic keyed calls (Vietnamese text, quotes, commas,
newlines inside fields), then runs the real command in a subprocess, as cron would:
``flask --app wsgi import-calls FILE`` against a throw-away database. Reports rows/s
(wall time of the command, start-up included) and the subprocess's peak resident
memory (``ru_maxrss`` of the child), for the whole file and for a tenth of it: flat
memory means the two peaks are about the same.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import postgres_database  # noqa: E402
from gateway.cli import upgrade  # noqa: E402
from tests.factories import keyed_call_rows  # noqa: E402

COLUMNS = ("call_id", "started_at", "caller", "caller_name", "address", "email", "title", "transcript")


def write_file(path: Path, rows: int, first: int = 0) -> None:
    """A keyed-call CSV of ``rows`` rows, generated in chunks (the generator's memory stays small too)."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for start in range(first, first + rows, 10_000):
            writer.writerows(keyed_call_rows(min(10_000, first + rows - start), start))


def run_import(path: Path, url: str, tmp: str) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, last lines of output) of one import-calls subprocess."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "b" * 48, "INSTANCE_PATH": tmp,
           "REDIS_URL": "redis://127.0.0.1:6379/8"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "import-calls", str(path)], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux; the largest child so far
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    if peak <= before:
        print("(peak RSS not above an earlier child's: measure sizes in increasing order)")
    return seconds, peak / 1024, "\n".join(done.stdout.strip().splitlines()[:2])


def main() -> int:
    """Import a tenth of the file, then the whole file (new rows), and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, postgres_database() as pg_url:
        url = pg_url if args.database == "postgresql" else f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        small, big = Path(tmp) / "small.csv", Path(tmp) / "big.csv"
        write_file(small, args.rows // 10, first=10_000_000)
        write_file(big, args.rows)
        print(f"database {args.database}; file {big.stat().st_size / 2**20:.1f} MiB, {args.rows} rows")
        for label, path, rows in (("tenth", small, args.rows // 10), ("whole", big, args.rows)):
            seconds, peak, summary = run_import(path, url, tmp)
            print(f"{label}: {rows} rows in {seconds:.1f} s = {rows / seconds:.0f} rows/s, "
                  f"peak RSS {peak:.0f} MiB\n  {summary}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
