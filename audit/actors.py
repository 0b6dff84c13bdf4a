"""How the log names who did something: `user:NAME`, `api_key:NAME`, `cli:NAME` or `system:TASK`."""

from __future__ import annotations

import getpass
from typing import Protocol


class NamedUser(Protocol):
    @property
    def is_authenticated(self) -> bool: ...

    def get_username(self) -> str: ...


class NamedKey(Protocol):
    name: str


def actor_name(*, user: NamedUser | None = None, api_key: NamedKey | None = None) -> str:
    """How an actor is written in the log: `user:NAME` or `api_key:NAME`, else `system`."""
    if api_key is not None:
        return f"api_key:{api_key.name}"
    if user is not None and user.is_authenticated:
        return f"user:{user.get_username()}"
    return "system"


def cli_actor() -> str:
    """The operator running a management command, as the log names them."""
    return f"cli:{getpass.getuser()}"
