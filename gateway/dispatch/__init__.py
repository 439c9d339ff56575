"""The database tells the worker what is pending.

The web tier only writes rows. A dispatcher in every ``python worker.py`` claims pending
rows (a lease in ``next_attempt_at``) and enqueues their RQ jobs; a job that fails, or
whose worker dies, leaves the row pending and it is claimed again when the lease or the
backoff runs out. Periodic jobs are claimed per period in ``scheduled_run``, so any
number of workers run each period once.
"""

from gateway.dispatch.dispatcher import Dispatcher, dispatch_once
from gateway.dispatch.work import KINDS, WorkKind, backoff, claim, pending_counts, record_failure

__all__ = ["KINDS", "Dispatcher", "WorkKind", "backoff", "claim", "dispatch_once", "pending_counts",
           "record_failure"]
