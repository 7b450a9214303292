"""Domain errors shown in the Gradio UI, in the caller's language: to a person as a toast that
leaves the page as it was, to a Gradio API caller as the event's error."""

from __future__ import annotations

import html
import logging

import gradio as gr
from fastapi import HTTPException, Request

from errors import AppError, InvalidInput, RateLimited
from ui.i18n import error_text, request_language, text

log = logging.getLogger(__name__)


class Refusal(InvalidInput):
    """A page action that cannot be done as asked (no conversation open, no user chosen). Its
    code is the key of its text in ui/i18n.py."""

    def __init__(self, key: str) -> None:
        super().__init__(text(key, "en"), code=key)


def refusal_text(exc: AppError, lang: str) -> str:
    if isinstance(exc, Refusal):
        return text(exc.code, lang)
    return error_text(exc.code, exc.message, lang, exc.params)


def _log_refusal(exc: AppError) -> None:
    # An expected refusal (bad input, a limit, the engine down) is one log line, not the
    # traceback Gradio prints for every error by default.
    log.log(logging.INFO if exc.status_code < 500 else logging.WARNING,
            "refused in the UI (%s %s): %s", exc.status_code, exc.code, exc.message)


def show_refusal(exc: AppError, request: gr.Request | None = None) -> None:
    """A toast saying why. A raised gr.Error would also turn every output of the event into a
    red "Error" pill, hiding the conversation until each is dismissed."""
    _log_refusal(exc)
    lang = request_language(request)
    # Toasts render HTML; a refusal may quote what the user typed (a model name, say).
    gr.Warning(html.escape(refusal_text(exc, lang)),
               title=text("refused_title", lang))


def as_gradio_error(exc: AppError, request: gr.Request | None = None) -> gr.Error:
    _log_refusal(exc)
    return gr.Error(refusal_text(exc, request_language(request)), title="Error",
                    print_exception=False)


def as_http_exception(exc: AppError, request: Request | None = None) -> HTTPException:
    """For a refusal before any handler runs (joining Gradio's queue): the page shows
    `detail` as the error."""
    _log_refusal(exc)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
    text = error_text(exc.code, exc.message, request_language(request), exc.params)
    return HTTPException(status_code=exc.status_code, detail=text, headers=headers)
