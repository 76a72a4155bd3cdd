"""The idea form in the console, as a member types it, across a restart of the process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from storage.database import open_engine, transaction
from storage.models import Idea

POLDER = Path(sys.executable).with_name("polder")
TITLE = "Repair café in every library"
DESCRIPTION = "Volunteers fix bikes, lamps and clothes once a month in each public library."


@pytest.fixture
def chat(database_url: str, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLDER_")}
    env["POLDER_DATABASE_URL"] = database_url

    def run(name: str, *lines: str) -> list[str]:
        result = subprocess.run(
            [str(POLDER), "chat", "--as", name],
            input="".join(line + "\n" for line in lines),
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        return result.stdout.splitlines()

    return run


def stored(database_url: str) -> list[Idea]:
    engine = open_engine(database_url)
    try:
        with transaction(engine) as session:
            return list(session.exec(select(Idea)))
    finally:
        engine.dispose()


def test_a_scripted_conversation_through_every_field(chat, database_url) -> None:
    out = chat(
        "sam",
        "/idea",
        TITLE,
        "Too short",
        DESCRIPTION,
        "circular-economy",
        "6 1",
        "1",
        "/idea",
        "A second idea",
        "/cancel",
    )
    text = "\n".join(out)
    assert "bot> Please write at least 20 characters." in out
    describe = "bot> Describe it: what would it change, for whom, and how would it work?"
    assert text.count(describe) == 3  # asked, asked again after the wrong answer, second form
    [idea] = stored(database_url)
    assert f'bot> Thank you! Your idea {idea.code} is in: "{TITLE}" for circular-economy.' in out
    assert (idea.partners, idea.needs) == (["solution_provider", "resident"], ["testbed"])
    assert out[-1] == "bot> Stopped. Nothing more will be asked."


def test_a_form_half_filled_survives_a_restart(chat, database_url) -> None:
    first = chat("sam", "/idea", TITLE, DESCRIPTION)
    assert first[-2] == "bot> Which sector is it for?" or "Which sector is it for?" in "\n".join(
        first
    )
    assert stored(database_url) == []
    second = chat("sam", "mobility", "/skip", "/skip")  # a new OS process carries on
    [idea] = stored(database_url)
    assert idea.title == TITLE and idea.description == DESCRIPTION
    assert any(line.startswith(f"bot> Thank you! Your idea {idea.code} is in") for line in second)
