"""Agent seats: a participant of kind 'agent' keeps its settings (``Participant.agent_spec``) and every move
builds a fresh agent of the lab from them, so an agent carries nothing from one game (or sub-game) to another.

Settings, as JSON: ``{"agent": NAME, "params": {...}}`` where NAME is one of the lab's scripted judges
(``felab.agents.scripted.JUDGES``: weigher, credulous, oracle, blind) or experts (``EXPERTS``: honest, malicious,
fabricator), with their knobs in ``params``; or ``chat-judge`` / ``chat-expert`` with ``base_url``, ``model``,
``api_key_env`` (the *name* of the variable holding a key) and ``cache`` (a folder), served by
``felab.agents.chat``: any OpenAI-compatible endpoint, the local model included.
"""

from __future__ import annotations

from ..agents import scripted
from .errors import Invalid

CHAT = ("chat-judge", "chat-expert")


def choices() -> list[str]:
    return sorted(scripted.JUDGES) + sorted(scripted.EXPERTS) + list(CHAT)


def agent_for(spec: dict, seed: int = 0):
    """A new agent from its settings; ``Invalid`` naming the choices when the settings are not usable."""
    name = spec.get("agent")
    params = dict(spec.get("params") or {})
    try:
        if name in scripted.JUDGES:
            return scripted.JUDGES[name](name=name, seed=seed, **params)
        if name in scripted.EXPERTS:
            return scripted.EXPERTS[name](name=name, seed=seed, **params)
        if name in CHAT:
            from ..agents.cache import ResponseCache
            from ..agents.chat import ChatClient, ChatExpert, ChatJudge, Endpoint

            endpoint = Endpoint(spec["base_url"], spec["model"], spec.get("api_key_env"), **params)
            cache = ResponseCache(spec["cache"]) if spec.get("cache") else None
            client = ChatClient(endpoint, cache)
            return (ChatJudge if name == "chat-judge" else ChatExpert)(client)
    except (TypeError, KeyError, ValueError) as e:
        raise Invalid(f"agent {name!r}: unusable settings ({e})") from None
    raise Invalid(f"unknown agent {name!r}; one of {', '.join(choices())}")
