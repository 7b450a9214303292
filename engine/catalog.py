"""What the deployment offers to callers: every profile's model with whether it can be used
now, the engine's state as a caller sees it, and the refusal for a model that is not active.

REST (`GET /api/models`, chat), the Gradio API (`/models`, `/engine_status`) and the chat
service all read these functions, so the answers cannot drift apart."""

from __future__ import annotations

from typing import Any

from engine.fit import summary
from engine.manager import EngineManager
from engine.profiles import Profile
from engine.progress import timeline
from errors import Conflict

# How many of the engine's recent events (switch and restart progress) a status shows.
RECENT_EVENTS = 20


def model_catalog(engine: EngineManager) -> list[dict[str, Any]]:
    """Every profile's served model: the active one first, then those that fit this machine,
    then those that do not (with the reason). `id` is the name to send as `model`."""
    entries = []
    for profile in engine.profiles.values():
        verdict = engine.fit(profile)
        active = profile.id == engine.profile.id
        entry: dict[str, Any] = {
            "id": profile.served_model_name,
            "name": profile.name,
            "profile": profile.id,
            "aliases": [n for n in profile.model_names if n != profile.served_model_name],
            "state": "active" if active else "available" if verdict.fits else "does_not_fit",
            "engine": profile.engine,
            "max_model_len": profile.max_model_len,
        }
        if active:
            entry["engine_state"] = engine.state.value
        elif not verdict.fits:
            entry["reason"] = summary(verdict)
        entries.append(entry)
    order = {"active": 0, "available": 1, "does_not_fit": 2}
    return sorted(entries, key=lambda e: order[e["state"]])


def profile_serving(engine: EngineManager, model: str) -> Profile | None:
    """The inactive profile that answers to `model` (its served name, id or an alias)."""
    return next((p for p in engine.profiles.values()
                 if p.id != engine.profile.id and model in p.model_names), None)


def check_model_active(engine: EngineManager, model: str | None) -> None:
    """Refuse a model that another profile serves, naming it: a model the deployment knows
    but is not running now is a conflict to resolve (an admin switches), not a typo."""
    if model is None or model in engine.profile.model_names:
        return
    profile = profile_serving(engine, model)
    if profile is None:
        return  # unknown: the usual validation answers model_not_found
    raise Conflict(
        f"Model {model!r} is served by profile {profile.id!r}, which is not active (active:"
        f" {engine.profile.id!r}, serving {engine.profile.served_model_name!r}). An admin can"
        " switch to it in the Models tab or with POST /api/engine/switch.",
        code="model_not_active", params={"model": model, "profile": profile.id,
                                         "active": engine.profile.id})


def engine_status(engine: EngineManager, admin: bool) -> dict[str, Any]:
    """The engine as a caller sees it: its state, the active profile and how it fits, and the
    recent progress of switches and restarts. Admins also get the error, restarts, answers in
    flight and replicas (the Models tab's figures); the engine's log stays with GET /api/engine."""
    snapshot = engine.snapshot()
    verdict = engine.fit(engine.profile)
    status: dict[str, Any] = {
        "state": snapshot["state"],
        "profile": snapshot["profile"],
        "model": snapshot["model"],
        "engine": snapshot["engine"],
        "fits": verdict.fits,
        "fit": summary(verdict),
        "events": timeline(list(engine.events)[-RECENT_EVENTS:]),
    }
    if admin:
        status.update({key: snapshot[key] for key in (
            "last_error", "restarts", "recent_failures", "in_flight", "external", "replicas")})
    return status
