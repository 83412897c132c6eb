"""Exports for the registry and the office, the same code behind ``booth-central export`` and the dashboard.

``export_chsi`` writes the registry package ``<college>/<class>/<id_number>.jpg`` plus
``manifest.csv`` and ``missing.csv`` into a temporary folder beside ``DIR`` and renames it to
``DIR`` at the end, so a half-written export never looks complete. Every photo is re-verified
before it is copied (a baseline JPEG of 480x640 at 300 dpi, its size inside the booth's
``output`` range, its sha256 equal to the stored one); one that fails is named in the report and
left out. Folder names go through ``central.paths`` (the shared name rule, then a check that the
resolved path is inside the package), so no college or class name can leave ``DIR``.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from boothcore.chsi import DPI, OUT_H, OUT_W, OutputSection
from boothcore.durable import fsync_dir, why_unwritable
from boothcore.idnumber import IdNumberError, validate
from boothcore.privacy import mask_id
from boothcore.roster import RosterEntry
from central.export_csv import csv_text
from central.paths import UnsafePathError, inside, safe_segment
from central.store import EventRecord, PhotoRecord, Store
from central.users import User

MANIFEST_HEADER = ("id_number", "name", "student_no", "college", "class", "sha256", "captured_at", "booth",
                   "attempt")
MISSING_HEADER = ("college", "class", "student_no", "name", "id_number")
MAKEUP_HEADER = ("booth", "session_id", "captured_at", "college", "class", "student_no", "name", "id_number",
                 "paid", "paid_at", "amount_cny")
FEES_HEADER = ("college", "class", "booth", "session_id", "closed_at", "count", "fee_cny", "paid",
               "paid_at", "paid_booth", "amount_cny")


class ExportError(ValueError):
    """An export that cannot start (its target is taken, a name is unsafe), said in one line."""


@dataclass
class ChsiReport:
    folder: Path
    written: int = 0
    missing: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (photo file, ID number masked; why)


def photo_checks(data: bytes, sha256: str, output: OutputSection) -> list[tuple[str, str | None]]:
    """Each registry check of a stored file in order: (what is checked, why it fails or None).

    A file that cannot be read as an image fails the image checks together.
    """
    checks: list[tuple[str, str | None]] = [
        ("sha256", None if hashlib.sha256(data).hexdigest() == sha256
         else "sha256 differs from the stored one (the file changed after it was received)"),
        (f"size {output.min_bytes:,}-{output.max_bytes:,} bytes",
         None if output.min_bytes <= len(data) <= output.max_bytes
         else f"{len(data):,} bytes, outside {output.min_bytes:,}-{output.max_bytes:,}")]
    try:
        with Image.open(io.BytesIO(data)) as image:
            baseline = image.format == "JPEG" and not (image.info.get("progressive") or image.info.get("progression"))
            dpi = image.info.get("dpi")
            checks += [("baseline JPEG", None if baseline else "not a baseline JPEG"),
                       (f"{OUT_W}x{OUT_H}", None if image.size == (OUT_W, OUT_H)
                        else f"{image.size[0]}x{image.size[1]}, not {OUT_W}x{OUT_H}"),
                       (f"{DPI} dpi", None if dpi and round(float(dpi[0])) == DPI and round(float(dpi[1])) == DPI
                        else f"{dpi or 'no'} dpi, not {DPI}")]
    except (UnidentifiedImageError, OSError):
        checks.append(("readable image", "not a readable image"))
    return checks


def verify_photo(data: bytes, sha256: str, output: OutputSection) -> str | None:
    """Why ``data`` is not a registry-ready CHSI file (its first failed check), or None when it is."""
    return next((why for _, why in photo_checks(data, sha256, output) if why is not None), None)


def _shown(user: User | None, value: str, kind: str) -> str:
    if user is None:
        return value
    return user.id_number(value) if kind == "id" else user.person_name(value)


def missing_rows(store: Store, user: User | None, college: str | None = None, class_name: str | None = None,
                 ) -> list[tuple[str, str, str, str, str]]:
    """(college, class, student_no, name, id_number) of everyone not photographed, in the user's view
    (None: the server's own CLI, in full); a secretary's rows are only their college's."""
    if college is not None and class_name is not None:  # one class: no need to count every class first
        classes = [(college, class_name)] if user is None or user.may_see(college) else []
    else:
        classes = [(p.college, p.class_name) for p in store.class_progress()
                   if (college is None or p.college == college)
                   and (class_name is None or p.class_name == class_name) and (user is None or user.may_see(p.college))]
    return [(e.college, e.class_name, e.student_no, _shown(user, e.name, "name"), _shown(user, e.id_number, "id"))
            for c, k in classes for e in store.missing(c, k)]


def missing_csv(rows: Iterable[tuple[str, str, str, str, str]]) -> str:
    return csv_text(MISSING_HEADER, rows, text_columns=("id_number", "student_no"))


def fees_rows(store: Store, user: User | None) -> list[tuple[object, ...]]:
    """One row per closed class session: count x price from the booth's class_closed event, and its
    monitor's payment_confirmed event (when, on which booth, how much) if there is one; ``paid`` is
    "yes", "no", or "none due" for a class whose fee is 0 (nobody photographed, or free photos: the
    booth asks no payment). A make-up session's close (no college) is no class fee: its people paid
    one by one (``makeup_rows``)."""
    payments = {e.data.get("session_id"): e for e in store.events(kind="payment_confirmed", limit=1_000_000)}
    rows: list[tuple[object, ...]] = []
    closings = store.events(kind="class_closed", limit=1_000_000)
    # By close time, then college and class (closings at one second come in no given order).
    for event in sorted(closings, key=lambda e: (e.ts, e.data.get("college", ""), e.data.get("class", ""))):
        college, class_name = event.data.get("college", ""), event.data.get("class", "")
        if not college or (user is not None and not user.may_see(college)):
            continue
        paid = payments.get(event.data.get("session_id"))
        fee = event.data.get("fee_cny")
        owed = "yes" if paid else ("none due" if fee == 0 else "no")
        rows.append((college, class_name, event.booth, event.data.get("session_id"), event.ts,
                     event.data.get("count"), fee, owed,
                     paid.ts if paid else "", paid.booth if paid else "",
                     paid.data.get("amount_cny") if paid else ""))
    return rows


def fees_csv(rows: Iterable[tuple[object, ...]]) -> str:
    return csv_text(FEES_HEADER, rows, money_columns=("fee_cny", "amount_cny"))


def makeup_rows(store: Store, user: User | None) -> list[tuple[object, ...]]:
    """One row per person photographed in a make-up session (补拍: each pays for their own photo),
    with their payment if the operator confirmed it, in the user's view.

    The protocol's payment_confirmed event names only the session: the booth asks for the payment
    right after the person's photo is accepted, so a payment belongs to the session's latest photo
    captured before it (both times are the booth's clock). A person whose payment was not confirmed
    shows as unpaid.
    """
    sessions = {(e.booth, e.data.get("session_id")) for e in store.events(kind="class_opened", limit=1_000_000)
                if not e.data.get("college")}
    payments: dict[tuple[str, object], list[EventRecord]] = {}
    for event in store.events(kind="payment_confirmed", limit=1_000_000):
        if (event.booth, event.data.get("session_id")) in sessions:
            payments.setdefault((event.booth, event.data.get("session_id")), []).append(event)
    rows: list[tuple[object, ...]] = []
    for booth, session_id in sorted(sessions, key=str):
        photos = sorted((p for p in store.photos(session_id=str(session_id), current_only=False) if p.booth == booth),
                        key=lambda p: p.captured_at)
        paid: dict[str, EventRecord] = {}
        for confirmed in payments.get((booth, session_id), []):
            before = [p for p in photos if p.captured_at <= confirmed.ts]
            if before:
                paid[before[-1].photo_id] = confirmed
        for photo in photos:
            if user is not None and not user.may_see(photo.college):
                continue
            entry = store.roster_entry(photo.id_number)
            paid_by = paid.get(photo.photo_id)
            rows.append((booth, session_id, photo.captured_at, photo.college, photo.class_name, photo.student_no,
                         _shown(user, entry.name if entry else "", "name"), _shown(user, photo.id_number, "id"),
                         "yes" if paid_by else "no", paid_by.ts if paid_by else "",
                         paid_by.data.get("amount_cny") if paid_by else ""))
    return rows


def makeup_csv(rows: Iterable[tuple[object, ...]]) -> str:
    return csv_text(MAKEUP_HEADER, rows, text_columns=("id_number", "student_no"), money_columns=("amount_cny",))


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")  # synced with the whole package before its rename


def _prepare_target(given: Path, out: Path) -> Path:
    """The temporary package folder beside ``out`` (``given`` made absolute); ExportError naming
    ``given``, as the user typed it, when ``out`` is taken or nothing can be written there."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"--out {given}: already exists and is not an empty folder; name a new folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    except OSError as error:
        raise ExportError(f"--out {given}: cannot write there: {why_unwritable(out, error)}; name a folder this "
                          "user may write") from None


def export_chsi(store: Store, data_dir: Path, out: Path, *, college: str | None = None,
                class_name: str | None = None, as_zip: bool = False, output: OutputSection | None = None,
                ) -> ChsiReport:
    """Write the registry package to ``out`` (a new or empty folder); the report names every refused photo.

    With ``as_zip`` the photo tree goes into ``out/photos.zip`` instead of folders; manifest.csv and
    missing.csv are beside it either way.
    """
    output = output or OutputSection()
    given, out = Path(out), Path(out).absolute()
    temp = _prepare_target(given, out)
    photos_root = Path(data_dir) / "photos"
    report = ChsiReport(folder=out)
    try:
        temp.chmod(0o750)  # mkdtemp makes it 0700: the office's group could not open the package
        archive = zipfile.ZipFile(temp / "photos.zip", "w", zipfile.ZIP_STORED) if as_zip else None
        manifest = []
        folders: dict[tuple[str, str], tuple[Path, Path] | str] = {}
        for record in store.photos(college=college, class_name=class_name):
            reason, relative, data = _checked(record, photos_root, temp, output, folders)
            if reason is not None:
                report.refused.append((f"{record.college}/{record.class_name}/{mask_id(record.id_number)}.jpg",
                                       reason))
                continue
            if archive is not None:
                archive.writestr(str(relative), data)
            else:
                target = temp / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            entry = store.roster_entry(record.id_number)
            manifest.append((record.id_number, entry.name if entry else "", record.student_no, record.college,
                             record.class_name, record.sha256, record.captured_at, record.booth, record.attempt))
            report.written += 1
        if archive is not None:
            archive.close()
        _write_text(temp / "manifest.csv", csv_text(MANIFEST_HEADER, manifest,
                                                    text_columns=("id_number", "student_no")))
        missing = missing_rows(store, None, college, class_name)
        report.missing = len(missing)
        _write_text(temp / "missing.csv", missing_csv(missing))
        # Every photo, photos.zip and class folder on disk before the rename makes the package look
        # complete (after a power cut it could hold empty JPEGs): one sync for the whole package, not
        # an fsync per photo, which would cost the export rate.
        os.sync()
        if out.exists():
            out.rmdir()
        os.replace(temp, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return report


def _checked(record: PhotoRecord, photos_root: Path, package: Path, output: OutputSection,
             folders: dict[tuple[str, str], tuple[Path, Path] | str]) -> tuple[str | None, Path, bytes]:
    """(why the photo is refused or None, its path inside the package, its bytes).

    ``folders`` caches each class's checked (package folder, source folder) or why it is unsafe: the
    file name inside is a validated ID number, so one check per class covers every photo in it.
    """
    key = (record.college, record.class_name)
    if key not in folders:
        try:
            relative = Path(safe_segment(record.college)) / safe_segment(record.class_name)
            inside(package, package / relative)
            folders[key] = (relative, inside(photos_root, photos_root / relative))
        except UnsafePathError as error:
            folders[key] = f"unsafe name: {error}"
    folder = folders[key]
    if isinstance(folder, str):
        return folder, Path(), b""
    try:
        number = validate(record.id_number)
    except IdNumberError as error:
        return f"unsafe name: ID number is not valid: {error.code}", Path(), b""
    relative, source_folder = folder
    if Path(record.path) != relative / f"{number}.jpg":
        return "the stored path is not where central keeps this person's photo", Path(), b""
    try:
        data = (source_folder / f"{number}.jpg").read_bytes()
    except OSError as error:
        return f"cannot read the stored file ({error.strerror})", Path(), b""
    return verify_photo(data, record.sha256, output), relative / f"{number}.jpg", data


def roster_of(store: Store, college: str | None, class_name: str | None) -> list[RosterEntry]:
    """The roster rows an export covers (to tell an unknown class from an empty one)."""
    return store.roster(college=college, class_name=class_name)
