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
    """Where it goes, plus delivery hints the outbox keeps beside the payload:

    - `edit_of`: the outbox entry whose message this one replaces (a tally update);
    - `coalesce_key`: a pending entry with the same key takes this payload instead of a new
      entry being added, so a burst becomes one delivery;
    - `delay_seconds`: not before this many seconds (the window a burst gathers in);
    - `post_id`: the channel post (thread question, poll) this entry delivers.
    """

    platform: str
    chat_id: str
    thread_ref: str | None = None
    edit_of: int | None = None
    coalesce_key: str | None = None
    delay_seconds: float = 0
    post_id: int | None = None

    registry: ClassVar[dict[str, type[Action]]] = {}
    # Answered inside the platform's request (a dialog's errors), never through the outbox.
    IN_REQUEST: ClassVar[bool] = False
    DELIVERY: ClassVar[frozenset[str]] = frozenset(
        {"platform", "chat_id", "thread_ref", "edit_of", "coalesce_key", "delay_seconds", "post_id"}
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Action.registry[cls.__name__] = cls

    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_payload(self) -> dict[str, Any]:
        """The fields beyond the destination, as JSON-ready data."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in self.DELIVERY
        }

    @staticmethod
    def from_payload(
        kind: str,
        platform: str,
        chat_id: str,
        thread_ref: str | None,
        payload: dict[str, Any],
        edit_of: int | None = None,
    ) -> Action:
        cls = Action.registry.get(kind)
        if cls is None:
            raise ValueError(f"unknown action kind {kind!r}")
        return cls(
            platform=platform, chat_id=chat_id, thread_ref=thread_ref, edit_of=edit_of, **payload
        )


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
class SendFile(Action):
    """A file for one member, in their private chat (`chat_id` is their platform user id, as
    for Notify): a document on Telegram, an upload in the direct message on Slack, a file
    under POLDER_FILES_FOLDER in the console. `content` is the file's text (UTF-8)."""

    filename: str
    content: str
    caption: str


@dataclass(frozen=True, kw_only=True)
class Farewell(Reply):
    """The last reply to a member who asked to be forgotten. Shown as a Reply; once it is
    delivered, the retention job deletes its outbox entry, the last row holding their chat."""


@dataclass(frozen=True, kw_only=True)
class Ask(Action):
    """A question awaiting the member's answer: `choices` are [value, label] pairs (buttons
    where the platform has them), `hint` says how to answer where it has not."""

    text: str
    choices: list[list[str]]
    hint: str = ""


@dataclass(frozen=True, kw_only=True)
class PostThread(Action):
    """A dialogue thread's question, posted as a thread root in a sector channel.

    `reply_hint` tells how to answer where the platform has threads or replies;
    `command_hint` where it has not (the console)."""

    thread_id: int
    sector: str
    text: str
    reply_hint: str
    command_hint: str


@dataclass(frozen=True, kw_only=True)
class PostPoll(Action):
    """A poll with its live tally. `text` is the whole poll for a text-only channel; the
    other fields let a richer one draw buttons (one per option) and bars."""

    poll_id: int
    text: str
    options: list[str]
    counts: list[int]
    voters: int
    closed: bool = False


@dataclass(frozen=True, kw_only=True)
class UpdatePoll(PostPoll):
    """A newer tally for a posted poll: an edit of that message (`edit_of`)."""


@dataclass(frozen=True, kw_only=True)
class PollResult(Action):
    """A closed poll's result: `text` holds counts, percentages and turnout as a table; the
    data lets a channel that shows images draw a bar chart (`chart_title`, `alt_text`)."""

    poll_id: int
    text: str
    question: str
    options: list[str]
    counts: list[int]
    voters: int
    chart_title: str
    alt_text: str


DIGEST_BLOCKS = frozenset({"heading", "subheading", "paragraph", "quote", "item", "table", "note"})


@dataclass(frozen=True, kw_only=True)
class PostDigest(Action):
    """One part of a sector's digest for a week, sent to a staff channel that subscribed.

    A digest is several outbox entries (its parts and charts), each following the one before,
    so a crash repeats one part at most. A part is a `heading` and `blocks`, [kind, text]
    pairs with kinds from DIGEST_BLOCKS and texts as written (each channel escapes them its
    own way): "table" is monospace, "quote" may hold an attribution on its last line."""

    sector: str
    period: str  # the ISO week it covers: 2026-W47
    part: int  # 1-based
    parts: int
    heading: str
    blocks: list[list[str]]

    def plain_text(self) -> str:
        """The part as plain text, for a channel without richer means (and notifications)."""
        lines = [self.heading]
        for kind, text in self.blocks:
            if kind == "item":
                text = f"• {text}"
            elif kind == "quote":
                text = "\n".join(f"> {line}" for line in text.splitlines())
            lines += ["", text]
        return "\n".join(lines)


@dataclass(frozen=True, kw_only=True)
class PostChart(Action):
    """A chart, drawn by the channel from these numbers where it shows images.

    `style` "bars" is one horizontal bar per label (languages, a poll's options), "columns" a
    time series. `alt_text` says in words what it shows; `table` is the same numbers as
    monospace text, shown beside the image, and instead of it where there are no images."""

    title: str
    style: str
    labels: list[str]
    values: list[int]
    value_labels: list[str]  # printed at the end of each bar; empty for none
    alt_text: str
    table: str
    filename: str


@dataclass(frozen=True, kw_only=True)
class FormErrors(Action):
    """Why a submitted dialog was not accepted, field by field, for the dialog to show."""

    form: str
    errors: dict[str, str]

    IN_REQUEST: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class Toast(Action):
    """A short answer to a button press, shown where it was pressed (Telegram answers every
    callback query inside its request)."""

    text: str

    IN_REQUEST: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class Answer(Action):
    """A reply seen only by the member who asked, returned inside the platform's request
    (Slack: the slash command's ephemeral response)."""

    text: str

    IN_REQUEST: ClassVar[bool] = True
