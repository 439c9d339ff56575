"""gunicorn settings: ``gunicorn -c config/gunicorn.py wsgi:app``.

With PROMETHEUS_MULTIPROC_DIR set (an empty directory, cleared before start), each
worker writes its counters there and ``/metrics`` adds them up; a worker that exits is
marked dead so that its live gauges stop counting.
"""

import os


def child_exit(server, worker):
    """Forget a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
