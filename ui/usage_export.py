"""The Usage tab's download: a link to the app's own authenticated export route.

The tab used to write the CSV into a temporary folder and hand it to Gradio, which copied it
into its cache and served it at /gradio_api/file=... to any signed-in user who had the URL;
neither copy was ever removed (issue 10). The link points at GET /api/usage/export instead:
that route decides whose rows to send from the caller's own session at every download and
sends them from memory, so there is no file to leak and none to clean up.
"""

from __future__ import annotations

from urllib.parse import urlencode

import gradio as gr

from usage import UsageFilter

# Relative to the page, which is served at the app's root (also behind a path prefix).
EXPORT_PATH = "api/usage/export"


def export_link(flt: UsageFilter, fmt: str = "csv") -> str:
    """The export of the rows the tab shows for `flt`: its range, model and chosen user.

    A non-admin's own scope is left to the route, which takes it from their session."""
    params = {"format": fmt, "from": flt.start.isoformat(), "to": flt.end.isoformat()}
    if flt.model is not None:
        params["model"] = flt.model
    if flt.scope_user_id is None and flt.user_id is not None:
        params["user"] = str(flt.user_id)
    return f"{EXPORT_PATH}?{urlencode(params)}"


def export_button(flt: UsageFilter) -> gr.Button:
    # No value: the button keeps its translated label from the tab's build.
    return gr.Button(link=export_link(flt), visible=True)
