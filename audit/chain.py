"""The hash chain's arithmetic, pure: what an event's link covers and how links are made.

A link's hash is SHA-256 over the previous link's hash and the covered row's canonical
content with its position, so editing, inserting or deleting a linked row breaks the chain
from that row on.
"""

from __future__ import annotations

import json
from typing import Any

from audit.digests import canonical_json, sha256_hex

GENESIS_HASH = "0" * 64


def plain(value: Any) -> Any:
    """The JSON form the database will hand back, so the hash can be recomputed from a row."""
    return json.loads(canonical_json(value))


def event_content(event: Any, seq: int) -> str:
    """The canonical text an event's link at `seq` covers; `event` is an AuditEvent or a row of its fields.

    The spelling predates links of their own (the position was a column of the event then);
    it is kept, so events linked before still verify.
    """
    return canonical_json(
        {
            "seq": seq,
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
