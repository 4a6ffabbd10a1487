"""otel-kedro's own logger, and the guard that keeps telemetry failures out of the user's run."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

logger = logging.getLogger("otel_kedro")

_P = ParamSpec("_P")
_R = TypeVar("_R")

_seen: set[str] = set()
_seen_lock = threading.Lock()


def warn_once(message: str) -> None:
    """Log ``message`` as a warning the first time it is seen in this process."""
    with _seen_lock:
        if message in _seen:
            return
        _seen.add(message)
    logger.warning("otel-kedro: %s", message)


def guarded(func: Callable[_P, _R | None]) -> Callable[_P, _R | None]:
    """Run ``func``; if it raises, warn once and return None so the user's run goes on."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R | None:
        try:
            return func(*args, **kwargs)
        except Exception as error:
            warn_once(
                f"internal error in {func.__qualname__}: {type(error).__name__}: {error}; "
                "telemetry for this run may be incomplete, the run itself is unaffected."
            )
            logger.debug("otel-kedro internal error", exc_info=True)
            return None

    return wrapper
