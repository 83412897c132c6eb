"""``booth demo`` end to end: a simulated class through the real booth, broker and central ingest."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from PIL import Image

from central.store import open_store
from central.users import Users
from tests.log_scan import unmasked_ids


def test_demo_fleet_runs_a_class_per_booth_and_every_photo_reaches_central(tmp_path):
    """Three booths, three colleges of one roster; booth-02 is killed mid-class and comes back."""
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    result = subprocess.run([sys.executable, "-m", "appliance.cli", "demo", "--headless", "--until-done", "--json",
                             "--booths", "3", "--students", "9", "--data", str(tmp_path)],
                            capture_output=True, text=True, timeout=400, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    fleet = json.loads(result.stdout.strip().splitlines()[-1])
    booths = {summary["booth"]: summary for summary in fleet["booths"]}
    assert sorted(booths) == ["booth-01", "booth-02", "booth-03"]
    assert fleet["central"]["stored_by_booth"] == {"booth-01": 9, "booth-02": 9, "booth-03": 9}
    assert fleet["central"]["missing"] == 0  # next year's graduate on each roster is not missing
    for summary in booths.values():
        assert summary["photographed"] == summary["uploaded"] == 9 and summary["missing"] == 0
    assert booths["booth-02"]["restarts"] == 1 and booths["booth-01"]["restarts"] == 0
    assert "switching booth-02 off" in result.stderr and "booth-02 is back on" in result.stderr
    # Its Will reaches the dashboard during the outage (the 30 s default Will Delay outlasted the
    # outage: the dashboard kept showing it online until it was back).
    assert "booth-02 is offline on the dashboard (its Will)" in result.stderr
    summary = booths["booth-01"]
    # Restarted mid-class, booth-02 goes on with its script: the refusals after the restart too.
    assert set(booths["booth-02"]["refused"]) == set(summary["refused"])
    assert summary["retakes"] >= 2 and summary["fee_cny"] == 180.0
    # The simulated student's hair covers her ears ("confirm": ears_visible, and hair_clear through
    # it) and the student lit from one side gets the "lighting" warning: the operator keeps them.
    assert summary["kept"] == {"ears_visible": 9, "hair_clear": 9, "lighting": 1}
    assert set(summary["refused"]) == {"not_on_roster", "not_this_year", "entrusted_training",
                                       "photographed_before", "invalid_number", "already_photographed"}
    booth_photos = sorted(Path(summary["photos_dir"]).glob("*/*.jpg"))
    central_photos = sorted((tmp_path / "central" / "photos" / "计算机学院").glob("*/*.jpg"))
    assert len(booth_photos) == len(central_photos) == 9
    assert {p.name for p in booth_photos} == {p.name for p in central_photos}
    for photo in central_photos:
        with Image.open(photo) as image:
            assert image.size == (480, 640) and image.info["dpi"] == (300, 300)
        # CHSI's "20-40 KB" whether an upload form counts KiB or thousands of bytes
        assert 20_480 <= photo.stat().st_size <= 40_000, photo.stat().st_size
    # The demo's office: its config is left for later booth-central commands, its admin's one-time
    # password (printed once) logs in, and nothing else was created with a default password.
    password = re.search(r"^  Password +(\S+) +\(one-time", result.stderr, re.MULTILINE).group(1)  # --json: not stdout
    config = tmp_path / "central.toml"
    export = subprocess.run([sys.executable, "-m", "central.cli", "export", "chsi", "--config", str(config),
                             "--out", str(tmp_path / "export")], capture_output=True, text=True, timeout=60)
    assert export.returncode == 0, export.stderr
    assert len(list((tmp_path / "export").glob("*/*/*.jpg"))) == 27
    store = open_store("sqlite:central.db", base=tmp_path / "central")
    try:
        users = Users(store.conn)
        assert [user.name for user in users.users()] == ["admin"]
        assert users.authenticate("admin", password, "test", attempts=5, window_s=60).is_admin
    finally:
        store.close()
    # Personal data never reaches the log in full.
    for path in booth_photos:
        assert path.stem not in result.stderr
    assert unmasked_ids(result.stderr) == []


def _demo(data: Path, students: int) -> list[str]:
    return [sys.executable, "-m", "appliance.cli", "demo", "--headless", "--until-done", "--json", "--students",
            str(students), "--data", str(data)]


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_a_killed_demo_takes_its_broker_along_and_the_same_data_runs_again(tmp_path):
    """SIGKILL mid-class (no handler runs): the embedded mosquitto ends with it; the next demo on the
    same --data closes the class left open and photographs a new class; so does the one after it."""
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    with open(tmp_path / "first.log", "wb") as log:
        first = subprocess.Popen(_demo(tmp_path, 5), stdout=subprocess.DEVNULL, stderr=log, env=env)
    pid_file = tmp_path / "broker" / "mosquitto.pid"
    deadline = time.monotonic() + 120
    while b"screen=ready" not in (tmp_path / "first.log").read_bytes():  # a student is sitting down
        assert first.poll() is None and time.monotonic() < deadline, (tmp_path / "first.log").read_text()[-2000:]
        time.sleep(0.1)
    broker_pid = int(pid_file.read_text())
    assert psutil.Process(broker_pid).name() == "mosquitto"
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert _gone(broker_pid, 10), "mosquitto outlived the killed demo"
    for run in (2, 3):
        again = subprocess.run(_demo(tmp_path, 5), capture_output=True, text=True, timeout=240, env=env)
        assert again.returncode == 0, again.stderr[-3000:]
        assert f"计算机2023-{run}班" in again.stderr and "Traceback" not in again.stderr
        [summary] = json.loads(again.stdout.strip().splitlines()[-1])["booths"]
        assert summary["photographed"] == summary["uploaded"] == 5 and summary["missing"] == 0
    assert not pid_file.exists()  # each finished demo stopped its broker


def test_ctrl_c_stops_the_booths_first_and_the_broker_last(tmp_path):
    """A terminal's Ctrl-C reaches the whole process group: the broker (its own session) outlives the
    booths, so each booth's clean offline status reaches central, and the demo stops the broker."""
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    command = [sys.executable, "-m", "appliance.cli", "demo", "--headless", "--booths", "2", "--students", "5",
               "--data", str(tmp_path)]
    with open(tmp_path / "demo.log", "wb") as log, open(tmp_path / "demo.out", "wb") as out:
        demo = subprocess.Popen(command, stdout=out, stderr=log, env=env, start_new_session=True)
    central = tmp_path / "central"
    try:
        deadline = time.monotonic() + 120
        while not _online(central, {"booth-01", "booth-02"}):
            assert demo.poll() is None and time.monotonic() < deadline, (tmp_path / "demo.log").read_text()[-2000:]
            time.sleep(0.2)
        broker_pid = int((tmp_path / "broker" / "mosquitto.pid").read_text())
        os.killpg(demo.pid, signal.SIGINT)
        assert demo.wait(60) == 1  # stopped before the classes were done
    finally:
        if demo.poll() is None:  # a failed wait: the demo has its own session, nothing else would stop it
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    store = open_store("sqlite:central.db", base=central)
    try:
        assert {(s.booth, s.online, s.state) for s in store.booths()} == {("booth-01", False, "offline"),
                                                                         ("booth-02", False, "offline")}
    finally:
        store.close()
    assert _gone(broker_pid, 10)
    log_text = (tmp_path / "demo.log").read_text()
    assert "link down" not in log_text and "Traceback" not in log_text
    # The dashboard and the admin's password: once, on stdout, apart from the log.
    out = (tmp_path / "demo.out").read_text()
    assert re.search(r"^  Dashboard +http://127\.0\.0\.1:\d+/$", out, re.MULTILINE)
    assert len(re.findall(r"^  Password +\S+", out, re.MULTILINE)) == 1 and "Password" not in log_text


def _online(central: Path, booths: set[str]) -> bool:
    if not (central / "central.db").exists():
        return False
    store = open_store("sqlite:central.db", base=central)
    try:
        return {s.booth for s in store.booths() if s.online} >= booths
    finally:
        store.close()


def test_a_data_path_that_is_a_file_is_one_line_and_exit_2(tmp_path, capsys):
    from appliance.cli import main

    taken = tmp_path / "a-file"
    taken.write_text("not a folder")
    assert main(["demo", "--headless", "--data", str(taken)]) == 2
    assert capsys.readouterr().err.strip() == (f"config error: --data = '{taken}': is a file, not a folder: set "
                                               "--data to a folder this user may write (a missing one is created)")
