"""The hash chain's arithmetic, pure: what an event's hash covers and how links are made.

An event's hash is SHA-256 over the previous event's hash and the event's canonical content,
so editing, inserting or deleting a linked row breaks the chain from that row on.
"""

from __future__ import annotations

import json
from typing import Any

from audit.digests import canonical_json, sha256_hex

GENESIS_HASH = "0" * 64

# What an event's hash covers (see event_content), in the order a row of them is read.
CONTENT_FIELDS = (
    "id",
    "seq",
    "created_at",
    "action",
    "actor",
    "request_id",
    "object_type",
    "object_id",
    "before",
    "after",
)


def plain(value: Any) -> Any:
    """The JSON form the database will hand back, so the hash can be recomputed from a row."""
    return json.loads(canonical_json(value))


def event_content(event: Any) -> str:
    """The canonical text an event's hash covers; `event` is an AuditEvent or a row of its fields."""
    return canonical_json(
        {
            "seq": event.seq,
            "created_at": event.created_at.isoformat(),
            "action": event.action,
            "actor": event.actor,
            "request_id": event.request_id,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "before": event.before,
            "after": event.after,
        }
    )


def chain_hash(prev_hash: str, content: str) -> str:
    return sha256_hex(f"{prev_hash}\n{content}")
