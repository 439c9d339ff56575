"""Intake writes as one SQL statement on PostgreSQL (one round trip, durable on return).

The case row, its accepted inbound row and the ``received`` event are inserted by one
statement of data-modifying CTEs that also sends ``pg_notify`` to the worker's
dispatcher. Outside a transaction the statement runs in autocommit: PostgreSQL commits
it (to disk, ``synchronous_commit`` permitting) before answering, so there is no BEGIN
or COMMIT round trip. Unique keys still refuse duplicates: the statement fails whole
with an IntegrityError and nothing is written.

SQLite keeps the ORM path of :mod:`gateway.intake` (one transaction, several statements).
"""

from gateway.fastwrite.statements import InboundRow, insert_case, insert_command, notify, supported

__all__ = ["InboundRow", "insert_case", "insert_command", "notify", "supported"]
