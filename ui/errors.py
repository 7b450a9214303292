"""Domain errors shown in the Gradio UI, in the caller's language."""

from __future__ import annotations

import logging

import gradio as gr

from errors import AppError
from ui.i18n import error_text, language

log = logging.getLogger(__name__)


def as_gradio_error(exc: AppError, request: gr.Request | None = None) -> gr.Error:
    try:
        accept = request.headers.get("accept-language") if request else None
    except (KeyError, AttributeError):  # a request made in code has no HTTP headers
        accept = None
    lang = language(accept)
    # An expected refusal (bad input, a limit, the engine down) is one log line, not the
    # traceback Gradio prints for every error by default.
    log.log(logging.INFO if exc.status_code < 500 else logging.WARNING,
            "refused in the UI (%s %s): %s", exc.status_code, exc.code, exc.message)
    return gr.Error(error_text(exc.code, exc.message, lang), title="Error",
                    print_exception=False)
