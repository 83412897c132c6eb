"""The dashboard's registry export is downloadable: the finished package as one zip streamed from its
folder over real HTTP (uvicorn), on each engine, for admins only (it holds full ID numbers and
names), audited; and the zip is made with one chunk in memory at a time, however large the package."""

from __future__ import annotations

import io
import os
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central.export_zip import zip_stream
from tests.web.client import browser_client, csrf_of, served
from tests.web.conftest import Office


@pytest.fixture
def base(office: Office) -> Iterator[str]:
    with served(office.config) as url:
        yield url


def _export(client: httpx.Client) -> str:
    """Run the export form; the download link the page gives."""
    page = client.post("/exports/chsi", data={"csrf": csrf_of(client), "college": "外语学院"})
    assert page.status_code == 200, page.text
    start = page.text.index('href="/exports/chsi/') + len('href="')
    return page.text[start:page.text.index('"', start)]


def test_an_admin_downloads_the_finished_package_as_one_zip(office: Office, base: str):
    with browser_client(base, "admin") as client:
        link = _export(client)
        name = link.removeprefix("/exports/chsi/").removesuffix(".zip")
        folder = office.config.data_dir / "exports" / name
        assert folder.is_dir()
        with client.stream("GET", link) as answer:
            assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
            assert answer.headers["content-disposition"] == f"attachment; filename*=UTF-8''{name}.zip"
            assert answer.headers["cache-control"] == "private, no-store"
            assert "content-length" not in answer.headers  # streamed while it is made
            body = b"".join(answer.iter_bytes())
        on_disk = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            assert archive.testzip() is None
            assert {n: archive.read(n) for n in archive.namelist()} == on_disk
        photos = [n for n in on_disk if n.endswith(".jpg")]
        assert len(photos) == len([e for e in office.roster if e.college == "外语学院"
                                   and e.id_number in office.photographed])
        assert {"manifest.csv", "missing.csv"} <= set(on_disk)
        exports = client.get("/exports").text
        assert f'href="/exports/chsi/{name}.zip"' in exports  # still there on the page later
        audit = office.store.conn.execute("SELECT actor, detail FROM audit WHERE action = 'export_download'")
        assert [tuple(row) for row in audit] == [("admin", f"{name}.zip")]


def test_only_an_admin_downloads_and_only_a_finished_package(office: Office, base: str):
    with browser_client(base, "admin") as admin:
        link = _export(admin)
        name = link.removeprefix("/exports/chsi/").removesuffix(".zip")
        partial = office.config.data_dir / "exports" / f".{name[:-1]}0.abc.partial"
        partial.mkdir()
        for path in (f"/exports/chsi/.{name[:-1]}0.abc.partial.zip", "/exports/chsi/chsi-x.zip",
                     "/exports/chsi/..%2F..%2Fcentral.db.zip", "/exports/chsi/chsi-20990101T000000Z-abcdef.zip"):
            answer = admin.get(path)
            assert answer.status_code == 404 and "<h1>404</h1>" in answer.text, path
    for role in ("viewer", "sec"):
        with browser_client(base, role) as client:
            answer = client.get(link)
            assert answer.status_code == 403 and "Only an admin may open this page" in answer.text
            assert "PK" not in answer.text[:2]
            assert link not in client.get("/exports").text


def test_the_zip_is_made_one_chunk_at_a_time(tmp_path: Path):
    folder = tmp_path / "package"
    (folder / "学院" / "班").mkdir(parents=True)
    files = {f"学院/班/{index}.jpg": os.urandom(4 * 2**20) for index in range(6)}  # 24 MiB
    files["manifest.csv"] = b"id_number,name\n" * 1000
    for relative, data in files.items():
        (folder / relative).write_bytes(data)
    os.symlink("/etc/hostname", folder / "link.jpg")  # never followed out of the folder
    tracemalloc.start()
    try:
        body = io.BytesIO()
        largest = 0
        for piece in zip_stream(folder):
            largest = max(largest, len(piece))
            body.write(piece)
            if body.tell() > 2**20:  # sent on, as the server does: nothing piles up here
                body = _drain(body, tmp_path / "out.zip")
        _drain(body, tmp_path / "out.zip")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, f"{peak:,} bytes at the peak for a {sum(map(len, files.values())):,}-byte package"
    assert largest <= 2 * 2**20
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.testzip() is None
        assert {n: archive.read(n) for n in archive.namelist()} == files
        assert archive.getinfo("manifest.csv").compress_type == zipfile.ZIP_DEFLATED
        assert archive.getinfo("学院/班/0.jpg").compress_type == zipfile.ZIP_STORED


def _drain(body: io.BytesIO, out: Path) -> io.BytesIO:
    with out.open("ab") as handle:
        handle.write(body.getvalue())
    return io.BytesIO()
