"""What the engine decided to say, in platform-neutral terms.

Actions are plain data: the engine writes them to the outbox, and each adapter renders them
with its platform's own means. `to_payload`/`from_payload` are their outbox form.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Action:
    platform: str
    chat_id: str
    thread_ref: str | None = None

    registry: ClassVar[dict[str, type[Action]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Action.registry[cls.__name__] = cls

    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_payload(self) -> dict[str, Any]:
        """The fields beyond the destination, as JSON-ready data."""
        skip = {"platform", "chat_id", "thread_ref"}
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip
        }

    @staticmethod
    def from_payload(
        kind: str, platform: str, chat_id: str, thread_ref: str | None, payload: dict[str, Any]
    ) -> Action:
        cls = Action.registry.get(kind)
        if cls is None:
            raise ValueError(f"unknown action kind {kind!r}")
        return cls(platform=platform, chat_id=chat_id, thread_ref=thread_ref, **payload)


@dataclass(frozen=True, kw_only=True)
class Reply(Action):
    """A text answer in the chat (and thread) an event came from.

    `to_user` names the member it answers, so a shared channel can address them.
    """

    text: str
    to_user: str | None = None


@dataclass(frozen=True, kw_only=True)
class Notify(Action):
    """A private message to a member; `chat_id` is the member's platform user id."""

    text: str


@dataclass(frozen=True, kw_only=True)
class Ask(Action):
    """A question awaiting the member's answer: `choices` are [value, label] pairs (buttons
    where the platform has them), `hint` says how to answer where it has not."""

    text: str
    choices: list[list[str]]
    hint: str = ""
