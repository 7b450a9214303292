"""Personal data is masked in logs; each request logs the plan's fields as JSON."""

from __future__ import annotations

import json
import logging

import pytest

from observability.logs import MaskingFormatter, log_request, mask
from storage.usage import UsageRecord


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
