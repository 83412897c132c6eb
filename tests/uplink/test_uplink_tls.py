"""The Uplink over TLS with its per-booth client certificate, through the production ACL."""

from __future__ import annotations

import uuid

from appliance.uplink.client import Uplink
from boothcore.durable import write_atomic
from central.certs import make_fleet
from central.local_broker import PRODUCTION_ACL, LocalBroker
from tests.uplink.uplink_fake_central import FakeCentral, wait_for
from tests.uplink.uplink_fast_settings import fast_settings
from tests.uplink.uplink_photos import photo_bytes, photo_meta


def test_upload_over_tls_with_a_client_certificate(tmp_path):
    files = make_fleet(tmp_path / "certs", ["booth-01"])
    with LocalBroker(tmp_path / "broker", tls=files["broker"], acl_file=PRODUCTION_ACL) as broker:
        central = FakeCentral(broker.host, broker.central_port, tmp_path / "central", tls=files["central"]).start()
        booth = files["booth-01"]
        settings = fast_settings(broker.url, ca_file=str(booth.ca), cert_file=str(booth.cert),
                                 key_file=str(booth.key))
        assert settings.tls
        uplink = Uplink(settings, "booth-01", tmp_path / "booth" / "booth.db",
                        on_command=lambda command: None)
        uplink.start(lambda: {"state": "idle"})
        try:
            photo_id = uuid.uuid4().hex
            path = write_atomic(tmp_path / "photos" / f"{photo_id}.jpg", photo_bytes(photo_id))
            uplink.photo_saved(photo_id, path, photo_meta(photo_id))
            wait_for(lambda: uplink.backlog() == 0, what="photo stored over TLS")
        finally:
            uplink.stop()
            central.stop()
    assert (central.store / f"{photo_id}.jpg").read_bytes() == photo_bytes(photo_id)
