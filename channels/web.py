"""Web form and JSON API: request data → InboundMessage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.datastructures import FileStorage

from channels.base import InboundMessage, RawFile
from gateway.constants import Channel
from normalizer.record import FIELDS, OPTIONS


def read_files(uploads: Iterable[FileStorage], limit: int) -> tuple[RawFile, ...]:
    """Read uploaded files (empty file inputs skipped), at most ``limit`` + 1 bytes each."""
    files = []
    for upload in uploads:
        if not upload or not upload.filename:
            continue
        files.append(RawFile(filename=upload.filename, data=upload.stream.read(limit + 1)))
    return tuple(files)


def parse(
    fields: Mapping[str, Any],
    files: tuple[RawFile, ...] = (),
    *,
    channel: Channel = Channel.web,
    external_id: str | None = None,
    remote_addr: str | None = None,
) -> InboundMessage:
    """Build the InboundMessage of a form or API submission (seed fields and options, as given)."""
    return InboundMessage(
        channel=channel,
        fields={name: fields[name] for name in (*FIELDS, *OPTIONS) if fields.get(name) is not None},
        external_id=external_id,
        files=files,
        remote_addr=remote_addr,
    )
