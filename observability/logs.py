"""Logging: personal data masked wherever text reaches a log, and one JSON line per request."""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
from pathlib import Path

from storage.usage import UsageRecord

# Order matters: a resident registration number also looks like a phone number.
MASKS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b\d{6}-?[1-8]\d{6}\b"), "[rrn]"),
    (re.compile(r"\+\d{1,3}[ -]?\(?\d{1,4}\)?[ -]?\d{3,4}[ -]?\d{4}\b"), "[phone]"),
    (re.compile(r"\b01[016789][ -]?\d{3,4}[ -]?\d{4}\b"), "[phone]"),  # Korean mobile
    (re.compile(r"\b0\d{1,2}-\d{3,4}-\d{4}\b"), "[phone]"),  # Korean landline, with dashes
]

request_log = logging.getLogger("vllm_chat.requests")


def mask(text: str) -> str:
    """E-mail addresses, phone numbers and Korean resident registration numbers, masked."""
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def log_request(usage: UsageRecord) -> None:
    """The plan's section 10 fields as one JSON line."""
    fields = {
        "event": "chat_request",
        "request_id": usage.request_id,
        "user_id": usage.user_id,
        "model": usage.model,
        "ctx_len": (usage.input_tokens or 0) + (usage.output_tokens or 0),
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "latency_ms": usage.latency_ms,
        "ttft_ms": usage.ttft_ms,
        "status": usage.status,
        "status_code": usage.status_code,
    }
    if usage.error:
        fields["error"] = usage.error
    request_log.info(json.dumps(fields, ensure_ascii=False))


def configure_logging(log_file: Path | None = None, max_bytes: int = 10 * 1024 * 1024,
                      backups: int = 3) -> None:
    """To stderr, or to a file rotated by size (./start sets LOG_FILE to DATA_DIR/logs/app.log)."""
    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler()
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    route_library_logs()


def route_library_logs() -> None:
    """INFO and up reach the root's handlers, uvicorn's records included; httpx only warns."""
    logging.getLogger().setLevel(logging.INFO)
    for noisy in ("httpx", "httpx2"):  # one line per engine request says nothing new
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
