"""Central's commands to one booth, run once each: the result is recorded with the command id in
the outbox (and sent as a ``command_result`` event), so a command delivered again after a crash is
answered, not run twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from appliance.uplink.outbox import Outbox
from boothcore import protocol as p

log = logging.getLogger("appliance.uplink.client")  # one logger for the uplink's lines


class CommandRunner:
    """Runs on the uplink's sender thread. ``resend`` and ``publish_status`` are the uplink's own;
    every other command goes to ``on_command`` (the booth's ``BoothBridge.command``), whose return
    is the result's message and whose exception refuses the command.

    ``requeue(photo_ids)`` queues photos again (returns how many); ``publish_status()`` refreshes the
    retained status; ``results_queued()`` says a result event waits in the outbox.
    """

    def __init__(self, outbox: Outbox, on_command: Callable[[p.Command], str | None], *,
                 requeue: Callable[[list[str] | Literal["all"]], int], publish_status: Callable[[], None],
                 results_queued: Callable[[], None]) -> None:
        self.outbox = outbox
        self.on_command = on_command
        self.requeue = requeue
        self.publish_status = publish_status
        self.results_queued = results_queued

    def on_message(self, command_id: str, payload: bytes) -> None:
        if self.outbox.command_result(command_id) is not None:
            log.info("uplink: command %s already handled", command_id)
            return
        try:
            command = p.decode("command", payload)
            if command.command_id != command_id:
                raise p.ProtocolError("command_id differs from the topic")
        except p.ProtocolError as error:
            self._finish(command_id, False, f"invalid command: {error.reason}")
            return
        try:
            if command.kind == "resend":
                count = self.requeue(p.ResendData.model_validate(command.data).photo_ids)
                ok, message = True, f"{count} photo(s) queued again"
            elif command.kind == "publish_status":  # central restarted and asks the fleet
                self.publish_status()
                ok, message = True, "status published"
            else:
                ok, message = True, self.on_command(command) or ""
        except Exception as error:  # the booth refused or failed: report it, stay up
            ok, message = False, str(error) or type(error).__name__
        self._finish(command_id, ok, message)

    def _finish(self, command_id: str, ok: bool, message: str) -> None:
        log.info("uplink: command %s %s %s", command_id, "done" if ok else "refused:", message)
        self.outbox.record_command(command_id, ok, message[:500],
                                   {"command_id": command_id, "ok": ok, "message": message[:500]})
        self.results_queued()
