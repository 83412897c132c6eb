"""Fixtures for the booth core: a config in a temp folder, the booth database, a class roster.

Every test here also has its log scanned: no full ID or card number may reach it.
"""

from __future__ import annotations

import pytest

from appliance.config import load_config
from appliance.ledger import Ledger
from appliance.simulation.roster_gen import excluded_people, generate_roster
from boothcore import db
from boothcore.roster import Roster

YEAR = 2027


@pytest.fixture
def config(tmp_path):
    return load_config(None, {"booth": {"data_dir": str(tmp_path / "data"), "graduation_year": YEAR},
                              "hours": {"enforce": False}})


@pytest.fixture
def conn(config):
    connection = db.connect(config.data_dir / "booth.db")
    yield connection
    connection.close()


@pytest.fixture
def students():
    return generate_roster(6, graduation_year=YEAR)


@pytest.fixture
def excluded():
    return excluded_people(graduation_year=YEAR)


@pytest.fixture
def roster(conn, students, excluded):
    table = Roster(conn)
    table.upsert([*students, *excluded.values()])
    return table


@pytest.fixture
def ledger(conn, config):
    return Ledger(conn, config.booth.id)


@pytest.fixture(scope="session")
def strict_checker():
    """The checks as shipped: the simulated student's hair over her ears is an ``ears_visible``
    warning ("confirm"), so her photos wait for the operator's keep."""
    from appliance.quality.checker import PhotoChecker
    from appliance.quality.settings import QualitySettings

    return PhotoChecker(QualitySettings())


@pytest.fixture(scope="session")
def checker(strict_checker):
    """The checks as shipped, but the ears not judged (a cover of 1.0 is the most there is): the
    flow tests need photos the checks accept (saved on the student's button, kept on a timeout,
    recorded as discarded), and the simulated student's hair covers her ears. The ears are tested
    in tests/quality, and the operator's keep of her photo by test_booth_flow and the demo."""
    from appliance.quality.checker import PhotoChecker
    from appliance.quality.settings import QualitySettings

    return PhotoChecker(QualitySettings(max_ear_cover=1.0), strict_checker.store)


@pytest.fixture
def sim_camera():
    from appliance.hardware.camera_sim import SimulatedCamera

    camera = SimulatedCamera()
    camera.start()
    yield camera
    camera.close()


@pytest.fixture
def photo_output(config):
    from appliance.app import ChsiPhotoOutput

    return ChsiPhotoOutput(config.output)
