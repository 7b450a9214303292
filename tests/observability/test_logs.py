"""Personal data is masked in logs; each request logs the plan's fields as JSON."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from errors import InvalidInput
from observability.logs import MaskingFormatter, configure_logging, log_request, mask
from storage.usage import UsageRecord
from ui.errors import as_gradio_error


@pytest.mark.parametrize(("text", "expected"), [
    ("write to kim.minsu+work@example.co.kr today", "write to [email] today"),
    ("주민번호 900101-1234567 입니다", "주민번호 [rrn] 입니다"),
    ("RRN 9001012234567.", "RRN [rrn]."),
    ("call 010-1234-5678 or 01098765432", "call [phone] or [phone]"),
    ("office +82 2 3456 7890", "office [phone]"),
    ("nothing personal in 2048 tokens, 12.5 ms", "nothing personal in 2048 tokens, 12.5 ms"),
])
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


def test_the_formatter_masks_every_log_line() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "user %s said hi", ("a@b.io",), None)
    assert MaskingFormatter("%(message)s").format(record) == "user [email] said hi"


def test_a_request_logs_the_plans_fields(caplog: pytest.LogCaptureFixture) -> None:
    usage = UsageRecord(request_id="r1", user_id=7, conv_id=3, model="m", status="completed",
                        status_code=200, latency_ms=900, ttft_ms=120, input_tokens=30,
                        output_tokens=12)
    with caplog.at_level(logging.INFO, logger="vllm_chat.requests"):
        log_request(usage)
    line = json.loads(caplog.records[-1].getMessage())
    assert line == {"event": "chat_request", "request_id": "r1", "user_id": 7, "model": "m",
                    "ctx_len": 42, "input_tokens": 30, "output_tokens": 12, "latency_ms": 900,
                    "ttft_ms": 120, "status": "completed", "status_code": 200}


def test_a_landline_with_dashes_is_masked() -> None:
    assert mask("대표번호 02-3456-7890") == "대표번호 [phone]"


def test_the_app_log_file_is_rotated_by_size(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(tmp_path / "logs" / "app.log", max_bytes=2048, backups=2)
        for n in range(200):
            logging.getLogger("vllm_chat.test").info("line %d of a long afternoon", n)
        files = sorted(p.name for p in (tmp_path / "logs").iterdir())
        assert files == ["app.log", "app.log.1", "app.log.2"]
        assert all((tmp_path / "logs" / name).stat().st_size <= 2048 for name in files)
        assert "line 199 of a long afternoon" in (tmp_path / "logs" / "app.log").read_text()
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


def test_a_refusal_shown_in_the_ui_is_one_log_line_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="ui.errors"):
        error = as_gradio_error(InvalidInput("Message is empty", code="empty_message"))
    assert error.print_exception is False  # Gradio prints a traceback for errors otherwise
    assert [r.getMessage() for r in caplog.records] == [
        "refused in the UI (400 empty_message): Message is empty"]
