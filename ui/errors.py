"""Domain errors shown in the Gradio UI, in the caller's language."""

from __future__ import annotations

import gradio as gr

from errors import AppError
from ui.i18n import error_text, language


def as_gradio_error(exc: AppError, request: gr.Request | None = None) -> gr.Error:
    try:
        accept = request.headers.get("accept-language") if request else None
    except (KeyError, AttributeError):  # a request made in code has no HTTP headers
        accept = None
    lang = language(accept)
    return gr.Error(error_text(exc.code, exc.message, lang), title="Error")
