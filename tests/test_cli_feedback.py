"""`triage feedback export` on a file that is not a feedback database: one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.cli import main


def test_export_from_a_file_that_is_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "feedback.sqlite3"
    db.write_text("not a database at all\n" * 100, encoding="utf-8")
    assert main(["feedback", "export", str(tmp_path / "out"), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("triage: cannot read the feedback database") and err.count("\n") == 1
