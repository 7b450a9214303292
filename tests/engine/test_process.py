"""Reading the tail of an engine log."""

from __future__ import annotations

from pathlib import Path

from engine.process import read_log_tail


def test_log_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    log.write_text("".join(f"line {i}\n" for i in range(1, 101)))
    assert read_log_tail(log, 3) == "line 98\nline 99\nline 100"
    assert read_log_tail(log, 500).splitlines()[0] == "line 1"


def test_log_tail_of_a_large_log_reads_only_its_end(tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    log.write_text("".join(f"line {i:06d}\n" for i in range(20_000)))
    assert read_log_tail(log, 2) == "line 019998\nline 019999"
    assert len(read_log_tail(log, 100_000)) < 70 * 1024


def test_log_tail_without_a_log_file_is_empty(tmp_path: Path) -> None:
    assert read_log_tail(tmp_path / "absent.log", 20) == ""


def test_log_tail_of_zero_lines_is_empty(tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    log.write_text("one\ntwo\n")
    assert read_log_tail(log, 0) == ""
