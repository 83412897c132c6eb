"""The MQTT workers' loop shape (``boothcore.commit_then_ack``): handle a batch, commit, then acknowledge."""

from __future__ import annotations

import pytest

from boothcore.commit_then_ack import CommitThenAck


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[tuple[str, int | None]] = []
        self.fail_on = fail_on

    def handle(self, item: int) -> None:
        self.calls.append(("handle", item))
        if item == self.fail_on:
            raise ValueError(f"item {item}")

    def commit(self) -> None:
        self.calls.append(("commit", None))

    def acknowledge(self, item: int) -> None:
        self.calls.append(("ack", item))


def serve(recorder: Recorder, limit: int | None = None) -> CommitThenAck[int]:
    return CommitThenAck(handle=recorder.handle, commit=recorder.commit, acknowledge=recorder.acknowledge,
                         limit=limit)


def test_every_queued_item_is_handled_before_one_commit_and_acknowledged_after_it() -> None:
    recorder = Recorder()
    inbox = serve(recorder)
    for item in (1, 2, 3):
        inbox.put(item)
    assert inbox.step(0.01) is True
    assert recorder.calls == [("handle", 1), ("handle", 2), ("handle", 3), ("commit", None),
                              ("ack", 1), ("ack", 2), ("ack", 3)]


def test_a_batch_stops_at_its_limit_and_the_rest_waits_for_the_next_step() -> None:
    recorder = Recorder()
    inbox = serve(recorder, limit=2)
    for item in (1, 2, 3):
        inbox.put(item)
    inbox.step(0.01)
    assert recorder.calls == [("handle", 1), ("handle", 2), ("commit", None), ("ack", 1), ("ack", 2)]
    recorder.calls.clear()
    inbox.step(0.01)
    assert recorder.calls == [("handle", 3), ("commit", None), ("ack", 3)]


def test_a_failing_item_still_commits_and_acknowledges_what_was_handled_the_rest_waits() -> None:
    recorder = Recorder(fail_on=2)
    inbox = serve(recorder)
    for item in (1, 2, 3):
        inbox.put(item)
    with pytest.raises(ValueError, match="item 2"):
        inbox.step(0.01)
    assert recorder.calls == [("handle", 1), ("handle", 2), ("commit", None), ("ack", 1), ("ack", 2)]
    recorder.calls.clear()
    inbox.step(0.01)
    assert recorder.calls == [("handle", 3), ("commit", None), ("ack", 3)]


def test_nothing_is_acknowledged_when_the_commit_fails() -> None:
    recorder = Recorder()

    def failing_commit() -> None:
        raise OSError("disk full")

    inbox = CommitThenAck(handle=recorder.handle, commit=failing_commit, acknowledge=recorder.acknowledge)
    inbox.put(1)
    with pytest.raises(OSError):
        inbox.step(0.01)
    assert recorder.calls == [("handle", 1)]


def test_an_empty_wait_still_commits_and_close_ends_the_worker_after_its_batch() -> None:
    recorder = Recorder()
    inbox = serve(recorder)
    assert inbox.step(0.01) is True
    assert recorder.calls == [("commit", None)]
    recorder.calls.clear()
    inbox.put(7)
    inbox.close()
    assert inbox.step(0.01) is False
    assert recorder.calls == [("handle", 7), ("commit", None), ("ack", 7)]
