"""The console channel: talk to Polder in a terminal, no Slack or Telegram account needed.

Each `polder chat --as NAME` is one member. Without `--room` it is the member's private chat
with the bot; with `--room NAME` it is a shared room (like a group) that several members can
join from their own terminals and that a curator can `/link` to a sector.
It goes through the same engine and outbox as every other channel.
"""

from __future__ import annotations

import sys
import threading
import uuid
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine as DatabaseEngine

from adapters.charts import Chart, chart_of, poll_chart
from adapters.delivery import DeliveryError, deliver_due
from bot.actions import (
    Action,
    Ask,
    Notify,
    PollResult,
    PostChart,
    PostDigest,
    PostPoll,
    PostThread,
    Reply,
    SendFile,
    UpdatePoll,
)
from bot.engine import Engine
from bot.events import CommandIssued, Event, MessagePosted, parse_command

PLATFORM = "console"
PREFIX = "bot> "
POLL_SECONDS = 1.0


class ConsoleChannel:
    def __init__(
        self,
        engine: Engine,
        database: DatabaseEngine,
        name: str,
        room: str | None = None,
        out: TextIO = sys.stdout,
        charts: Path | None = None,
    ) -> None:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("a console member needs a name of 1 to 100 characters (--as NAME)")
        self.engine = engine
        self.database = database
        self.name = name
        if room is not None:
            room = room.strip().lstrip("#").strip()
            if not room:
                raise ValueError("a room needs a name (--room NAME)")
        self.room = room
        self.out = out
        self.charts = charts  # a folder for poll and digest charts (PNG); None: text only
        self._print_lock = threading.Lock()

    @property
    def chat_id(self) -> str:
        """A private chat's id is the member's own id, as on Telegram; a room's is '#room'."""
        return f"#{self.room}" if self.room else self.name

    def translate(self, line: str) -> Event | None:
        """One typed line as an engine event; None for an empty line."""
        text = line.rstrip("\r\n")
        if not text.strip():
            return None
        common = dict(
            key=f"{PLATFORM}:{uuid.uuid4()}",
            platform=PLATFORM,
            user_id=self.name,
            user_name=self.name,
            chat_id=self.chat_id,
            private=self.room is None,
        )
        parsed = parse_command(text)
        if parsed is not None:
            return CommandIssued(command=parsed[0], argument_text=parsed[1], **common)
        return MessagePosted(text=text, **common)

    def send(self, action: Action, edits: str | None = None) -> str | None:
        """Render one action as `bot> ` lines on this terminal."""
        if isinstance(action, (Reply, Notify)):
            lines = action.text.splitlines() or [""]
        elif isinstance(action, PostDigest):
            lines = action.plain_text().splitlines()
        elif isinstance(action, PostChart):
            lines = [action.title, *self._digest_chart(action), *action.table.splitlines()]
        elif isinstance(action, PollResult):
            lines = [*action.text.splitlines(), *self._chart(action)]
        elif isinstance(action, UpdatePoll):
            lines = [f"(poll #{action.poll_id} updated)", *action.text.splitlines()]
        elif isinstance(action, PostPoll):
            lines = action.text.splitlines()
        elif isinstance(action, PostThread):
            lines = [*action.text.splitlines(), action.command_hint]
        elif isinstance(action, SendFile):
            lines = [*action.caption.splitlines(), f"[{self._write_file(action)}]"]
        elif isinstance(action, Ask):
            lines = action.text.splitlines()
            lines += [f"  {n}. {label}" for n, (_value, label) in enumerate(action.choices, 1)]
            lines += [action.hint] if action.hint else []
        else:
            return None
        with self._print_lock:
            self.out.writelines(PREFIX + line + "\n" for line in lines)
            self.out.flush()
        return None

    def _write_file(self, action: SendFile) -> Path:
        """A file for the member, written under POLDER_FILES_FOLDER (the console has no
        private chat to carry it); its path, for the line that says where it is."""
        folder = self.engine.settings.files_folder
        path = folder / Path(action.filename).name  # a name, never a path from elsewhere
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(action.content, encoding="utf-8")
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc}", retry_after=None) from exc
        return path.resolve()

    def _chart(self, result: PollResult) -> list[str]:
        """The result's bar chart as a PNG in the charts folder, and a line saying where."""
        if self.charts is None:
            return []
        return [self._save(poll_chart(result))]

    def _digest_chart(self, action: PostChart) -> list[str]:
        """A digest chart's alt text, after where its PNG went when there is a charts folder."""
        if self.charts is None:
            return [action.alt_text]
        return [self._save(chart_of(action))]

    def _save(self, chart: Chart) -> str:
        """The chart written to the charts folder; a line saying where, with its alt text."""
        assert self.charts is not None
        self.charts.mkdir(parents=True, exist_ok=True)
        path = self.charts / chart.filename
        path.write_bytes(chart.png)
        return f"[{path}] {chart.alt_text}"

    def deliver(self) -> int:
        """Print what the outbox holds for this chat and for this member privately."""
        return deliver_due(self.database, PLATFORM, self.send, sorted({self.chat_id, self.name}))

    def say(self, line: str) -> None:
        event = self.translate(line)
        if event is not None:
            self.engine.handle(event)
        self.deliver()

    def run_script(self, lines: TextIO) -> None:
        """Non-interactive: one message per line, replies printed, exit at end of input."""
        for line in lines:
            self.say(line)
        self.deliver()

    def run_interactive(self) -> None:
        """A prompt loop; what others cause (a post in this room) shows up within a second."""
        where = f"room #{self.room}" if self.room else "a private chat with Polder"
        print(f"You are {self.name}, in {where}. Type /help, or Ctrl-D to leave.")
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(POLL_SECONDS):
                self.deliver()

        poller = threading.Thread(target=poll, name="console-outbox", daemon=True)
        poller.start()
        try:
            while True:
                try:
                    line = input(f"{self.name}> ")
                except EOFError:
                    print()
                    break
                if line.strip() in {"/quit", "/exit"}:
                    break
                self.say(line)
        except KeyboardInterrupt:
            print()
        finally:
            stop.set()
            poller.join(timeout=POLL_SECONDS * 2)
            self.deliver()
