"""Agents: one interface (``base.Agent``), scripted agents of controlled skill (``scripted``); the chat-model,
cache and local-model agents live beside them (``chat``, ``cache``, ``local``)."""

from .base import Agent, AgentFactory, play, seed_for

__all__ = ["Agent", "AgentFactory", "play", "seed_for"]
