"""The few SimPy internals simsgp relies on, in one place (SimPy 4.1, pinned in pyproject.toml).

The flow kernel triggers an event handed out earlier after a delay (what
:class:`simpy.Timeout` does in its constructor), a run counts the events it
scheduled, and SGP asks whether a delivery has already been processed. Each
reads or writes an attribute SimPy does not document; a SimPy release that
changes one breaks only this module, and its examples check all
three against SimPy's behaviour.
"""

from __future__ import annotations

from typing import Any

import simpy
from simpy.events import NORMAL

__all__ = ["events_scheduled", "is_processed", "succeed_after"]


def succeed_after(env: simpy.Environment, event: simpy.Event, delay: float, value: Any) -> None:
    """Trigger an existing ``event`` with ``value`` after ``delay`` seconds (one scheduled event).

    Examples
    --------
    >>> env = simpy.Environment()
    >>> done = env.event()
    >>> succeed_after(env, done, 2.5, "x")
    >>> env.run(), env.now, done.value
    (None, 2.5, 'x')
    """
    event._ok = True
    event._value = value
    env.schedule(event, NORMAL, delay)


def events_scheduled(env: simpy.Environment) -> int:
    """Events scheduled in ``env`` so far (SimPy numbers each one it schedules).

    Examples
    --------
    >>> env = simpy.Environment()
    >>> _ = env.timeout(1), env.timeout(2)
    >>> events_scheduled(env)
    2
    """
    return next(env._eid)


def is_processed(event: simpy.Event) -> bool:
    """Whether SimPy has processed ``event`` (its callbacks have run; they are then ``None``).

    Examples
    --------
    >>> env = simpy.Environment()
    >>> timer = env.timeout(1)
    >>> is_processed(timer), env.run(), is_processed(timer)
    (False, None, True)
    """
    return event.callbacks is None
