"""Per-node inboxes: messages are filed under a tag and taken when enough have come.

A tag says which round a message belongs to (an iteration, or an iteration and
a collective step). A node asks for ``count`` messages of a tag and gets an
event that succeeds, with them in arrival order, once they are all there;
messages of later rounds wait in the box until asked for.

How a send completes (:func:`post`, ``network.eager_limit``): by default a
message streams, as over a TCP socket whose receiver keeps reading: its
transfer starts at once and the sender's send completes when it has been
delivered. With an eager limit, a message of at most that many bytes is
eager (it starts at once and the send completes at once: the data sits in
buffers on the way), and a larger one is rendezvous, as MPI and PyTorch's
TCP backend move large tensors and as a socket whose buffers are far smaller
than the message behaves: its transfer starts only when the receiver has
asked for its tag, and the send completes on delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, NamedTuple, cast

import simpy

__all__ = ["Mailbox", "Message", "Unmixed", "post"]


class Message(NamedTuple):
    """What one node sends another: who, which round, when, and the payload."""

    src: int
    dst: int
    tag: Hashable
    t_send: float
    payload: Any


class Mailbox:
    """Inbox of one node.

    Examples
    --------
    >>> env = simpy.Environment()
    >>> box = Mailbox(env)
    >>> box.put(Message(1, 0, 7, 0.0, "a"))
    >>> ready = box.get(7, 2)
    >>> ready.triggered
    False
    >>> box.put(Message(2, 0, 7, 0.0, "b"))
    >>> [m.payload for m in ready.value]
    ['a', 'b']
    """

    __slots__ = ("_deferred", "_held", "_waiting", "env")

    def __init__(self, env: simpy.Environment):
        self.env = env
        self._held: dict[Hashable, list[Message]] = {}
        self._waiting: dict[Hashable, tuple[int, simpy.Event]] = {}
        self._deferred: dict[Hashable, list[Callable[[], None]]] = {}

    def put(self, message: Message) -> None:
        """File a delivered message; wakes the node if its round is now complete."""
        tag = message.tag
        held = self._held.get(tag)
        if held is None:
            held = self._held[tag] = [message]
        else:
            held.append(message)
        waiting = self._waiting.get(tag)
        if waiting is not None and len(held) == waiting[0]:
            del self._waiting[tag], self._held[tag]
            waiting[1].succeed(held)

    def deliver(self, event: simpy.Event) -> None:
        """Callback form of :meth:`put` for a network delivery event."""
        self.put(cast(Message, event.value))

    def get(self, tag: Hashable, count: int) -> simpy.Event:
        """An event that succeeds with the ``count`` messages of ``tag``; starts the rendezvous sends waiting for it."""
        event = simpy.Event(self.env)  # env.event() would add a descriptor call per node-round
        if len(self._held.get(tag, ())) >= count:
            event.succeed(self._held.pop(tag, []))
        else:
            self._waiting[tag] = (count, event)
        if self._deferred:
            for start in self._deferred.pop(tag, ()):
                start()
        return event

    def rendezvous(self, tag: Hashable, start: Callable[[], None]) -> None:
        """Call ``start`` (a rendezvous send's transfer) once this box's node asks for ``tag``; now if it waits for it."""
        if tag in self._waiting:
            start()
        else:
            self._deferred.setdefault(tag, []).append(start)

    def unasked(self) -> int:
        """Rendezvous sends still waiting for this node to ask for their tag."""
        return sum(len(starts) for starts in self._deferred.values())

    def expect_fewer(self, tag: Hashable, count: int) -> None:
        """Lower by ``count`` the messages awaited for ``tag`` (senders that will not send); wakes the node if that completes its round."""
        waiting = self._waiting.get(tag)
        if waiting is None:
            return
        needed, event = waiting[0] - count, waiting[1]
        held = self._held.get(tag, [])
        if len(held) >= needed:
            del self._waiting[tag]
            self._held.pop(tag, None)
            event.succeed(held)
        else:
            self._waiting[tag] = (needed, event)

    def held(self) -> list[Message]:
        """Messages filed and not yet taken, by tag then arrival."""
        return [m for messages in self._held.values() for m in messages]


class Unmixed:
    """Push-sum shares that were sent and not yet added by their receiver: where the mass outside the nodes lies.

    A share is outstanding from the moment its sender pushes it until its
    receiver mixes it in, wherever it is meanwhile: on the network, in the
    receiver's mailbox, or handed to the receiver and not added yet (a run
    cut by its ``time_limit`` leaves shares in all three). Adding a share
    that was never sent, or adding one twice, is refused.

    Examples
    --------
    >>> ledger = Unmixed()
    >>> ledger.sent(0, 1, 7, 0.5)
    >>> ledger.weight()
    0.5
    >>> ledger.mixed(Message(0, 1, 7, 0.0, ("x", 0.5)))
    >>> ledger.weight()
    0.0
    """

    __slots__ = ("_shares",)

    def __init__(self) -> None:
        self._shares: dict[tuple[int, int, Hashable], list[Any]] = {}

    def sent(self, src: int, dst: int, tag: Hashable, weight: Any) -> None:
        """Node ``src`` pushed a share of ``weight`` (a number or a 0-d array) of round ``tag`` to ``dst``."""
        self._shares.setdefault((src, dst, tag), []).append(weight)

    def mixed(self, message: Message) -> None:
        """Its receiver added ``message``; a share that is not outstanding raises :class:`RuntimeError` (a defect)."""
        key = (message.src, message.dst, message.tag)
        shares = self._shares.get(key)
        if not shares:
            raise RuntimeError(f"node {message.dst} added a share of round {message.tag!r} from node {message.src} "
                               "that was never sent or was added already")
        shares.pop()
        if not shares:
            del self._shares[key]

    def weight(self) -> float:
        """The push-sum weight of every outstanding share."""
        return float(sum(float(w) for shares in self._shares.values() for w in shares))


def post(
    network, mailboxes: list[Mailbox], src: int, dst: int, tag: Hashable, payload: Any, nbytes: float
) -> simpy.Event:
    """Send ``payload`` as a message of ``nbytes`` over ``network``; file it at ``dst`` on arrival.

    Returns the event that completes the send (the sender may wait on it):
    delivery for a streamed or rendezvous message, at once for an eager one
    (see the module's notes and ``network.eager_limit``).
    """
    message = Message(src, dst, tag, network.env.now, payload)
    box = mailboxes[dst]
    limit = network.eager_limit
    if limit is None or src == dst:
        delivered = network.send(src, dst, nbytes, message)
        delivered.callbacks.append(box.deliver)
        return delivered
    if nbytes <= limit:
        network.send(src, dst, nbytes, message).callbacks.append(box.deliver)
        return simpy.Event(network.env).succeed()
    done = simpy.Event(network.env)

    def start() -> None:
        delivered = network.send(src, dst, nbytes, message)
        delivered.callbacks.append(box.deliver)
        delivered.callbacks.append(lambda event: done.succeed(event.value))

    box.rendezvous(tag, start)
    return done
