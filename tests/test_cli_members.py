"""`polder members export` and `polder members forget`, as an administrator answering a
request that came by mail runs them: the installed script, in a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sqlmodel import select

from storage.database import transaction
from storage.models import AuditEntry, Identity, Member
from tests.bot.member_data import NAME, SAYS, USER, seed_member
from tests.conftest import Run


def refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.startswith("polder: ")
    return result.stderr


def test_export_writes_the_member_s_data_as_json(engine, polder: Run, tmp_path: Path) -> None:
    seeded = seed_member(engine)
    shown = polder("members", "export", f"test:{USER}")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["member"]["id"] == seeded.member_id
    assert [m["text"] for m in data["messages"]] == SAYS

    out = tmp_path / "zora.json"
    written = polder("members", "export", f"#{seeded.member_id}", "--out", str(out))
    assert written.returncode == 0, written.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["member"]["display_name"] == NAME
    assert f"member #{seeded.member_id}: 2 messages, 1 ideas, 1 votes written to" in written.stderr


def test_an_unknown_member_is_refused(engine, polder: Run) -> None:
    assert "no member #999" in refused(polder("members", "export", "#999"))
    assert "no member is called 'Nobody'" in refused(polder("members", "forget", "Nobody", "--yes"))


def test_forget_asks_first_and_no_erases_nothing(engine, database, polder: Run) -> None:
    seeded = seed_member(engine)
    declined = polder("members", "forget", f"#{seeded.member_id}", stdin="n\n")
    assert declined.returncode == 1
    assert f"Forget member #{seeded.member_id}, {NAME} (test:{USER})?" in declined.stdout
    assert "Nothing was erased." in declined.stderr
    unanswered = polder("members", "forget", f"#{seeded.member_id}")  # end of input: a no
    assert unanswered.returncode == 1 and "Traceback" not in unanswered.stderr
    with transaction(database) as session:
        assert session.get(Member, seeded.member_id).erased_at is None  # type: ignore[union-attr]

    done = polder("members", "forget", f"#{seeded.member_id}", stdin="y\n")

    assert done.returncode == 0, done.stderr
    assert f"member #{seeded.member_id} forgotten; erased or unlinked: accounts: 1" in done.stdout
    with transaction(database) as session:
        member = session.get(Member, seeded.member_id)
        assert member is not None and member.erased_at is not None and member.display_name == ""
        assert session.exec(select(Identity).where(Identity.member_id == member.id)).all() == []
        logged = session.exec(select(AuditEntry).where(AuditEntry.action == "member.forget")).one()
    assert logged.actor_id is None and logged.target == f"member #{seeded.member_id}"
    assert logged.detail == "by an administrator (command line)"
    again = polder("members", "forget", f"#{seeded.member_id}", "--yes")
    assert again.returncode == 0 and "was already forgotten" in again.stdout


def test_forget_with_yes_does_not_ask(engine, database, polder: Run) -> None:
    seeded = seed_member(engine)
    done = polder("members", "forget", f"test:{USER}", "--yes")
    assert done.returncode == 0, done.stderr
    assert "Forget member" not in done.stdout
    with transaction(database) as session:
        assert session.get(Member, seeded.member_id).erased_at is not None  # type: ignore[union-attr]
