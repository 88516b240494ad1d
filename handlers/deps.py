"""What every listener needs, handed over once by the app factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from bot.clock import Clock
from bot.delivery import Deliverer


@dataclass(frozen=True)
class Deps:
    """Dependencies shared by the listeners; each listener call opens its own session."""

    session_factory: Callable[[], Session]
    deliverer: Deliverer
    clock: Clock
    feedback_channel: str
