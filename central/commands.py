"""Commands from central to booths (``central/v1/<booth>/command/<id>``), recorded before sending.

The booth validates each command and answers with a ``command_result`` event, which the ingest
writes back onto the command's row (``Store.commands``). A roster goes out in batches of
``ROSTER_BATCH`` rows so one message stays far below the broker's packet limit.
"""

from __future__ import annotations

import queue
import uuid
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt

from boothcore import protocol as p
from boothcore.cli import CommandError
from boothcore.mqtt import make_client
from boothcore.roster import RosterEntry
from central.config import CentralConfig
from central.store import CommandRecord, Store

ROSTER_BATCH = 500
_PUBLISH_TIMEOUT_S = 30.0
_CONNACK_TIMEOUT_S = 10.0


def roster_rows(entries: Sequence[RosterEntry]) -> list[dict[str, str]]:
    """Roster entries as CSV-shaped rows (the booth parses them like its own CSV import)."""
    return [entry.as_row() for entry in entries]


def build_command(kind: p.CommandKind, data: dict[str, Any]) -> p.Command:
    return p.Command(command_id=uuid.uuid4().hex, kind=kind, data=data, ts=p.utc_now())


def _connect(config: CentralConfig) -> mqtt.Client:
    broker = config.broker
    client = make_client(f"{broker.client_id}-cmd-{uuid.uuid4().hex[:8]}", tls=broker.client_tls)
    answers: queue.Queue[Any] = queue.Queue()
    client.on_connect = lambda client, userdata, flags, reason, props: answers.put(reason)
    try:
        client.connect(broker.host, broker.port, keepalive=broker.keepalive_s)
    except OSError as error:  # refused, unreachable, TLS handshake failed
        raise ConnectionError(f"broker {broker.url} unreachable ({error}); nothing was sent") from None
    client.loop_start()
    try:
        reason = answers.get(timeout=_CONNACK_TIMEOUT_S)
    except queue.Empty:
        reason = f"no answer within {_CONNACK_TIMEOUT_S:.0f} s"
    if isinstance(reason, str) or reason.is_failure:
        client.loop_stop()
        raise ConnectionError(f"broker {broker.url} refused the connection ({reason}); nothing was sent")
    return client


def send_commands(config: CentralConfig, store: Store, items: Sequence[tuple[str, p.Command]]) -> list[str]:
    """Record and publish ``(booth, command)`` pairs (QoS 1, waiting for PUBACK); return command ids."""
    if not items:
        return []
    client = _connect(config)
    try:
        infos = []
        for booth, command in items:
            store.record_command(CommandRecord(command_id=command.command_id, booth=booth, kind=command.kind,
                                               data=dict(command.data)))
            infos.append(client.publish(p.command_topic(booth, command.command_id), p.encode(command),
                                        qos=p.QOS_CENTRAL))
        for info in infos:
            info.wait_for_publish(timeout=_PUBLISH_TIMEOUT_S)
            if not info.is_published():
                raise ConnectionError("the broker did not take a command in time")
    finally:
        client.disconnect()
        client.loop_stop()
    return [command.command_id for _, command in items]


def fleet_booths(config: CentralConfig, store: Store) -> list[str]:
    """Every booth central has heard from, and every booth of ``ingest.known_booths``."""
    return sorted({b.booth for b in store.booths()} | set(config.ingest.known_booths))


class UnknownBooth(CommandError, LookupError):
    """A command for a booth central has never heard from and ``ingest.known_booths`` does not list:
    the broker keeps no session for such an id, so the command would be lost (a typo in the id)."""


def require_known_booths(config: CentralConfig, store: Store, booths: Sequence[str]) -> None:
    """UnknownBooth (one line naming the booths central knows) unless every one of ``booths`` is known."""
    known = fleet_booths(config, store)
    unknown = sorted(set(booths) - set(known))
    if unknown:
        raise UnknownBooth(f"{', '.join(unknown)}: no booth of that id has reported to central, nor is it in "
                           f"ingest.known_booths (known: {', '.join(known) or 'none yet'}): check the id, or "
                           "send the command once the booth has been online")


def ask_fleet_status(config: CentralConfig, store: Store) -> list[str]:
    """Ask every booth to publish its retained status again (``publish_status``); return the booths.

    A booth away gets the command when it reconnects (its session outlives the connection).
    """
    targets = fleet_booths(config, store)
    send_commands(config, store, [(booth, build_command("publish_status", {})) for booth in targets])
    return targets


def allow_retake(config: CentralConfig, store: Store, id_number: str, photo_id: str) -> list[str]:
    """Tell every booth that the person of the flagged ``photo_id`` may be photographed once more."""
    targets = fleet_booths(config, store)
    data = {"id_number": id_number, "photo_id": photo_id}
    send_commands(config, store, [(booth, build_command("allow_retake", data)) for booth in targets])
    return targets


def push_roster(config: CentralConfig, store: Store, booths: Sequence[str],
                entries: Sequence[RosterEntry]) -> list[str]:
    """Send the roster to ``booths`` ("all" = every booth with a status); return the booth ids."""
    targets = sorted({b.booth for b in store.booths()}) if "all" in booths else sorted(set(booths))
    rows = roster_rows(entries)
    items = [(booth, build_command("roster_update", {"rows": rows[start:start + ROSTER_BATCH]}))
             for booth in targets for start in range(0, len(rows), ROSTER_BATCH)]
    send_commands(config, store, items)
    return targets
