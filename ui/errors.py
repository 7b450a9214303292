"""Domain errors shown in the Gradio UI, in the caller's language."""

from __future__ import annotations

import logging

import gradio as gr
from fastapi import HTTPException, Request

from errors import AppError, RateLimited
from ui.i18n import error_text, request_language

log = logging.getLogger(__name__)


def _log_refusal(exc: AppError) -> None:
    # An expected refusal (bad input, a limit, the engine down) is one log line, not the
    # traceback Gradio prints for every error by default.
    log.log(logging.INFO if exc.status_code < 500 else logging.WARNING,
            "refused in the UI (%s %s): %s", exc.status_code, exc.code, exc.message)


def as_gradio_error(exc: AppError, request: gr.Request | None = None) -> gr.Error:
    _log_refusal(exc)
    text = error_text(exc.code, exc.message, request_language(request))
    return gr.Error(text, title="Error", print_exception=False)


def as_http_exception(exc: AppError, request: Request | None = None) -> HTTPException:
    """For a refusal before any handler runs (joining Gradio's queue): the page shows
    `detail` as the error."""
    _log_refusal(exc)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
    text = error_text(exc.code, exc.message, request_language(request))
    return HTTPException(status_code=exc.status_code, detail=text, headers=headers)
