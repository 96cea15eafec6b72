from simsgp.sim.flows import Network
from simsgp.sim.mailbox import Mailbox, Message, post
from simsgp.sim.topology import star


def test_mailbox_holds_early_rounds_until_asked(env):
    box = Mailbox(env)
    box.put(Message(1, 0, 5, 0.0, "late-round"))
    box.put(Message(2, 0, 4, 0.0, "this-round"))
    got = box.get(4, 1)
    assert got.triggered and [m.payload for m in got.value] == ["this-round"]
    assert [m.payload for m in box.held()] == ["late-round"]


def test_mailbox_zero_count_is_ready_at_once(env):
    assert Mailbox(env).get(0, 0).triggered


def test_post_delivers_into_destination_box_at_arrival_time(env):
    net = Network(env, star(2, bandwidth=10.0, latency=1.0))
    boxes = [Mailbox(env), Mailbox(env)]
    log = []

    def receiver():
        messages = yield boxes[1].get("t0", 2)
        log.append((env.now, [(m.src, m.payload) for m in messages]))

    env.process(receiver())
    post(net, boxes, 0, 1, "t0", "a", 10.0)
    post(net, boxes, 0, 1, "t0", "b", 10.0)
    env.run()
    assert log == [(3.0, [(0, "a"), (0, "b")])]
