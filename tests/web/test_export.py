"""The registry export and the office CSVs (issue 12 item 3), through the functions and the CLI."""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from boothcore.durable import why_unwritable
from boothcore.privacy import mask_id
from central.export import ExportError, export_chsi, verify_photo
from central.export_csv import BOM, from_excel_text
from tests.web.conftest import PASSWORD, Office

REPO = Path(__file__).resolve().parents[2]


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(BOM.encode("utf-8")), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_package_passes_the_chsi_checks_and_matches_its_manifest(office: Office, tmp_path: Path):
    out = tmp_path / "registry"
    report = export_chsi(office.store, office.config.data_dir, out)
    assert report.written == len(office.photographed) and not report.refused
    manifest = read_csv(out / "manifest.csv")
    assert {from_excel_text(row["id_number"]) for row in manifest} == office.photographed
    for row in manifest:
        number = from_excel_text(row["id_number"])
        photo = out / row["college"] / row["class"] / f"{number}.jpg"
        data = photo.read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        with Image.open(photo) as image:
            assert image.size == (480, 640) and round(image.info["dpi"][0]) == 300
        assert row["name"] == office.store.roster_entry(number).name
    missing = read_csv(out / "missing.csv")
    expected = {e.id_number for e in office.roster} - office.photographed
    assert {from_excel_text(row["id_number"]) for row in missing} == expected
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert out.stat().st_mode & 0o777 == 0o750  # as every folder central makes (README, Personal data)


def test_a_tampered_photo_is_refused_by_name_and_left_out(office: Office, tmp_path: Path):
    victim = office.store.photos(college="信息学院", class_name="计科2301")[0]
    stored = office.config.data_dir / "photos" / victim.path
    data = bytearray(stored.read_bytes())
    data[-100] ^= 0xFF
    stored.write_bytes(bytes(data))
    report = export_chsi(office.store, office.config.data_dir, tmp_path / "out", college="信息学院",
                         class_name="计科2301")
    assert report.refused == [(f"信息学院/计科2301/{mask_id(victim.id_number)}.jpg",
                               "sha256 differs from the stored one (the file changed after it was received)")]
    assert not (tmp_path / "out" / "信息学院" / "计科2301" / f"{victim.id_number}.jpg").exists()
    assert report.written == 3


def test_a_class_named_to_climb_out_stays_inside_the_folder(office: Office, tmp_path: Path):
    good = office.store.photos()[0]
    office.store.conn.execute("UPDATE photos SET class_name = '../../x' WHERE photo_id = ?", (good.photo_id,))
    out = tmp_path / "deep" / "out"
    report = export_chsi(office.store, office.config.data_dir, out)
    assert len(report.refused) == 1 and report.refused[0][1].startswith("unsafe name")
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(out)
               and not p.is_relative_to(office.config.data_dir)]
    assert outside == []


def test_the_package_is_on_disk_before_it_is_renamed_into_place(office: Office, tmp_path: Path, monkeypatch):
    # A power cut after the rename must not leave a complete-looking package of empty JPEGs.
    calls: list[str] = []
    real_replace = os.replace
    monkeypatch.setattr(os, "sync", lambda: calls.append("sync"))
    monkeypatch.setattr(os, "replace", lambda src, dst: (calls.append("replace"), real_replace(src, dst)))
    export_chsi(office.store, office.config.data_dir, tmp_path / "out")
    assert calls == ["sync", "replace"]


def test_verify_photo_names_each_fault():
    from tests.web.conftest import chsi_jpeg

    good = chsi_jpeg(3)
    sha = hashlib.sha256(good).hexdigest()
    assert verify_photo(good, sha, _output()) is None
    small = io.BytesIO()
    Image.open(io.BytesIO(good)).resize((240, 320)).save(small, "JPEG", quality=99, dpi=(300, 300))
    assert "240x320" in verify_photo(small.getvalue(), hashlib.sha256(small.getvalue()).hexdigest(),
                                     _output(min_bytes=5_120, max_bytes=204_800))
    low_dpi = io.BytesIO()
    Image.open(io.BytesIO(good)).save(low_dpi, "JPEG", quality=90, dpi=(72, 72))
    assert "not 300" in verify_photo(low_dpi.getvalue(), hashlib.sha256(low_dpi.getvalue()).hexdigest(),
                                     _output(min_bytes=5_120, max_bytes=204_800))
    assert "outside" in verify_photo(good[:30_000] + good[-2:], hashlib.sha256(good[:30_000] + good[-2:])
                                     .hexdigest(), _output(min_bytes=35_000))


def _output(**values: int):
    from boothcore.chsi import OutputSection

    return OutputSection(**values)


def test_an_export_never_overwrites_and_a_zip_holds_the_tree(office: Office, tmp_path: Path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "old.txt").write_text("keep")
    with pytest.raises(ExportError, match="already exists"):
        export_chsi(office.store, office.config.data_dir, taken)
    assert (taken / "old.txt").read_text() == "keep"
    report = export_chsi(office.store, office.config.data_dir, tmp_path / "zipped", as_zip=True)
    with zipfile.ZipFile(tmp_path / "zipped" / "photos.zip") as archive:
        assert len(archive.namelist()) == report.written
        assert archive.testzip() is None


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "central.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_cli_exports_and_users(office: Office, tmp_path: Path):
    toml = tmp_path / "central.toml"
    toml.write_text(f'[storage]\ndata_dir = "{office.config.data_dir}"\n'
                    f'db_url = "{office.config.storage.db_url}"\n', encoding="utf-8")
    done = _cli("export", "chsi", "--out", str(tmp_path / "pkg"), "--class", "英语2301", "--config", str(toml))
    assert done.returncode == 0, done.stderr
    assert "4 photo(s), 0 refused, 2 missing" in done.stdout
    done = _cli("export", "missing", "--out", str(tmp_path / "missing.csv"), "--config", str(toml))
    assert done.returncode == 0, done.stderr
    rows = read_csv(tmp_path / "missing.csv")
    assert len(rows) == len(office.roster) - len(office.photographed)
    assert all(row["id_number"].startswith('="') for row in rows)  # Excel keeps it as text
    done = _cli("export", "fees", "--out", str(tmp_path / "fees.csv"), "--config", str(toml))
    assert done.returncode == 0 and read_csv(tmp_path / "fees.csv") == []
    done = _cli("export", "chsi", "--out", str(tmp_path / "pasted"), "--class", " 英语2301 ", "--config", str(toml))
    assert done.returncode == 0 and "4 photo(s)" in done.stdout, done.stderr  # spaces a spreadsheet cell kept
    done = _cli("export", "chsi", "--out", str(tmp_path / "x"), "--class", "无此班", "--config", str(toml))
    assert done.returncode == 2 and "no class * / 无此班 in the roster" in done.stderr
    done = _cli("user", "add", "carol", "--role", "secretary", "--config", str(toml), stdin=PASSWORD + "\n")
    assert done.returncode == 2 and "a secretary needs --college" in done.stderr
    done = _cli("user", "add", "carol", "--role", "secretary", "--college", "外国语学院", "--config", str(toml),
                stdin=PASSWORD + "\n")  # the roster says 外语学院: carol would see nothing
    assert done.returncode == 2 and "--college '外国语学院' is no college of the roster" in done.stderr
    done = _cli("user", "add", "carol", "--role", "viewer", "--config", str(toml), stdin="short\n")
    assert done.returncode == 2 and "at least 8 characters" in done.stderr
    done = _cli("user", "add", "carol", "--role", "viewer", "--config", str(toml), stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    row = office.store.conn.execute("SELECT password_hash FROM users WHERE name = 'carol'").fetchone()
    assert row[0].startswith("$argon2id$") and PASSWORD not in row[0]
    roster = tmp_path / "roster.csv"
    roster.write_text("id_number,name,student_no,college,class,graduation_year,level,category,captured_before\n"
                      + ",".join((office.roster[0].id_number, "张三", "202399999", "外语学院", "英语2301", "2027",
                                  "本科", "普通", "no")) + "\n", encoding="utf-8")
    done = _cli("roster", "import", str(roster), "--config", str(toml))
    assert done.returncode == 0 and done.stdout == f"imported 1 graduate in 1 class from {roster}\n", done.stderr
    actions = {r[0]: r[1] for r in office.store.conn.execute("SELECT action, actor FROM audit WHERE actor = 'cli'")}
    assert {"export_chsi", "export_missing", "export_fees", "user_added", "roster_import"} <= set(actions)


@pytest.mark.parametrize("what", ["missing", "fees"])
def test_a_csv_export_never_overwrites_a_file_without_force(office: Office, tmp_path: Path, what: str):
    toml = tmp_path / "central.toml"
    toml.write_text(f'[storage]\ndata_dir = "{office.config.data_dir}"\n'
                    f'db_url = "{office.config.storage.db_url}"\n', encoding="utf-8")
    out = tmp_path / f"{what}.csv"
    out.write_text("last week's list, with notes\n", encoding="utf-8")
    done = _cli("export", what, "--out", str(out), "--config", str(toml))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [f"booth-central: --out: {out} already exists: name a new file, or add "
                                        "--force to replace it"]  # boothcore.cli.overwrite_refusal's line
    assert out.read_text(encoding="utf-8") == "last week's list, with notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["central", "central.toml", f"{what}.csv"]  # no temp
    done = _cli("export", what, "--out", str(out), "--force", "--config", str(toml))
    assert done.returncode == 0, done.stderr
    assert read_csv(out) is not None and "last week" not in out.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize(("what", "name"), [("chsi", "pkg"), ("missing", "missing.csv"), ("fees", "fees.csv")])
def test_an_export_where_nothing_can_be_written_names_the_out_given_and_why(office: Office, tmp_path: Path,
                                                                           what: str, name: str):
    # Trial: --out /proc/x was told as "/proc/.x.oslcihez.partial: No such file or directory".
    toml = tmp_path / "central.toml"
    toml.write_text(f'[storage]\ndata_dir = "{office.config.data_dir}"\n'
                    f'db_url = "{office.config.storage.db_url}"\n', encoding="utf-8")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    for out, why in ((Path("/proc") / name, "/proc takes no new files"),
                     (blocked / name, f"{blocked} is a file, not a folder")):
        done = _cli("export", what, "--out", str(out), "--config", str(toml))
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"booth-central: --out {out}: cannot write there: {why}"), line
        assert line.endswith("this user may write") and ".partial" not in line and ".tmp" not in line, line
    assert blocked.read_text() == "not a folder"


@pytest.mark.parametrize(("code", "why"), [(errno.EACCES, "this user may not write in {folder}"),
                                           (errno.EPERM, "this user may not write in {folder}"),
                                           (errno.EROFS, "{folder} is on a read-only file system"),
                                           (errno.ENOSPC, "No space left on device")])
def test_why_unwritable_words_the_kernels_refusals(tmp_path: Path, code: int, why: str):
    # As root (CI) a permission or read-only refusal cannot be provoked without a mount; their words
    # are checked from the error the kernel would raise.
    error = OSError(code, os.strerror(code), str(tmp_path / ".pkg.x.partial"))
    assert why_unwritable(tmp_path / "pkg", error) == why.format(folder=tmp_path)


def test_manifest_row_of_every_written_photo_only(office: Office, tmp_path: Path):
    lost = office.store.photos()[0]
    (office.config.data_dir / "photos" / lost.path).unlink()
    report = export_chsi(office.store, office.config.data_dir, tmp_path / "out")
    assert report.refused == [(f"{lost.college}/{lost.class_name}/{mask_id(lost.id_number)}.jpg",
                               "cannot read the stored file (No such file or directory)")]
    assert len(read_csv(tmp_path / "out" / "manifest.csv")) == report.written == len(office.photographed) - 1


def test_the_dashboard_on_a_taken_address_is_one_line(tmp_path: Path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        toml = tmp_path / "central.toml"
        toml.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
        done = _cli("web", "--migrate", "--http", f"127.0.0.1:{port}", "--config", str(toml))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"web.http = '127.0.0.1:{port}': cannot listen there (Address "
                                   "already in use): choose another HOST:PORT")
    done = _cli("web", "--http", "nowhere", "--config", str(toml))
    assert done.returncode == 2 and "'nowhere' is not HOST:PORT" in done.stderr
    done = _cli("web", "--http", "127.0.0.1:99999", "--config", str(toml))  # was "a bug: OverflowError"
    assert done.returncode == 2 and "'127.0.0.1:99999' is not HOST:PORT" in done.stderr
    toml.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n[web]\nhttp = "127.0.0.1:70000"\n', encoding="utf-8")
    done = _cli("web", "--migrate", "--config", str(toml))
    assert done.returncode == 2 and "the port must be 1 to 65535" in done.stderr and "Traceback" not in done.stderr
