"""``booth provision``: give the booth its identity from the boot partition (first boot), or show why not."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
from pathlib import Path

from appliance.device.provision import ProvisionError, not_provisioned_reason, provision
from appliance.ui.factory import SCREEN_SETTINGS, open_display
from appliance.ui.view import Screen, Tone, View
from boothcore.text import Text

SCREEN_REFRESH_S = 2.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("provision", help="install booth.toml and its TLS files from the boot partition")
    parser.add_argument("--from", dest="source", default="/boot/firmware/booth.toml", metavar="FILE",
                        help="the technician's file (default: /boot/firmware/booth.toml)")
    parser.add_argument("--root", default="/", metavar="DIR", help="the system root to work in (default: /)")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    parser.add_argument("--screen", nargs="?", const="auto", choices=SCREEN_SETTINGS, metavar="MODE",
                        help="show the 'not provisioned' screen with the reason until stopped "
                             "(auto, window, fullscreen, headless)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root = Path(args.root)
    if args.screen:
        return show_not_provisioned(root, args.screen)
    try:
        report = provision(Path(args.source), root)
    except ProvisionError as error:
        if args.json:
            print(json.dumps({"ok": False, "error": str(error)}, ensure_ascii=False))
        else:
            print(f"provision: {error}; the installed configuration was not changed", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return 0
    print(f"provision: booth {report.booth}")
    for path in report.installed:
        print(f"  installed {path} (0600)")
    for path in report.deleted:
        print(f"  deleted {path} from the boot partition")
    for path in report.changed:
        print(f"  wrote {path}")
    for note in report.notes:
        print(f"  {note}")
    return 0


def show_not_provisioned(root: Path, mode: str) -> int:
    """The kiosk screen until SIGTERM (booth.service replaces this unit once a config is installed)."""
    display = open_display(mode)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            reason = not_provisioned_reason(root)
            display.show(View(Screen.ERROR, Text("本机尚未配置", "This booth is not provisioned"),
                              lines=(Text("请技术人员按 image_build/README.md 放置 booth.toml",
                                          "Technician: put booth.toml on the boot partition (image_build/README.md)"),
                                     Text(reason, reason)),
                              tone=Tone.BAD, status=socket.gethostname()))
            pump = getattr(display, "pump", None)
            if pump is not None:
                pump()
            stop.wait(SCREEN_REFRESH_S)
    finally:
        display.close()
    return 0
