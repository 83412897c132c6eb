"""The office dashboard's ASGI app: login, fleet (live), progress, classes, missing lists, exports, audit.

Pages are rendered on the server (Jinja2, autoescaped); htmx and its SSE extension are vendored
under ``static/vendor`` (the office network may be offline). Every answer goes through the user's
view: ``User.id_number`` / ``User.person_name`` mask for secretaries and viewers, ``User.may_see``
keeps a secretary to their college, in pages, CSV and JSON alike. Handlers are plain functions
(Starlette runs them in its thread pool); each thread keeps its own store (``open_office_store``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import re
import secrets
import threading
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from boothcore.chsi import OutputSection
from boothcore.money import cny
from boothcore.names import normalize_name
from boothcore.refusals import office_label
from boothcore.roster import Category, RosterEntry
from boothcore.text import counted
from central.booth_checks import booth_check_rows
from central.commands import allow_retake
from central.config import CentralConfig
from central.export import (
    FEES_HEADER,
    MAKEUP_HEADER,
    export_chsi,
    fees_csv,
    fees_rows,
    makeup_csv,
    makeup_rows,
    missing_csv,
    missing_rows,
    photo_checks,
)
from central.export_zip import zip_stream
from central.progress import ClassRow, CollegeRow, class_rows, college_rows
from central.retakes import FlagError, flag_photo
from central.schedule import STANDING_LABELS, ScheduleImportError, parse_upload
from central.store import PhotoRecord, SqlStore, open_office_store
from central.users import LoginRateLimited, LoginRefused, User, Users, WebSession
from central.web.fleet import CONDITIONS, BoothView, fleet
from central.web.live import Broadcaster
from central.web.local_time import local_time
from central.web.proof import ProofSheetError, photo_file, proof_rows, proof_sheet_pdf

log = logging.getLogger(__name__)

SESSION_COOKIE = "booth_session"
LOGIN_CSRF_COOKIE = "booth_login_csrf"
STATIC = Path(__file__).parent / "static"
# The progress pages' live tables: counted again this often while a browser watches (one count per
# page for every watcher; 50,000 students take tens of ms, bench/office.py).
PROGRESS_POLL_S = 2.0
# The dashboard's registry package folders under <data>/exports (``Dashboard.chsi_export``).
EXPORT_NAME = re.compile(r"chsi-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}")
# A schedule CSV larger than this is refused before it is read (a university's is a few hundred kB).
MAX_SCHEDULE_BYTES = 5 * 2**20


class Dashboard:
    """The app's state: configuration, per-thread stores, the fleet broadcaster, the templates."""

    def __init__(self, config: CentralConfig) -> None:
        self.config = config
        self.local = threading.local()
        self.templates = Environment(loader=PackageLoader("central.web", "templates"),
                                     autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.templates.globals["t"] = bilingual
        self.templates.filters["cny"] = cny  # amounts as the CSV files write them
        self.templates.filters["local"] = functools.partial(local_time, zone=config.web.zone)
        self.templates.globals["zone"] = config.web.timezone
        self.templates.filters["refusal"] = office_label
        self.templates.globals["standing_labels"] = STANDING_LABELS
        self.fleet_live = Broadcaster(self.read_fleet)
        # The colleges' summary (None) and each college's page: one poller each, while watched.
        self.progress_live: dict[str | None, Broadcaster] = {}

    # ---------------------------------------------------------------------------- plumbing
    @property
    def store(self) -> SqlStore:
        store: SqlStore | None = getattr(self.local, "store", None)
        if store is None:
            store = self.local.store = open_office_store(self.config)
        return store

    @property
    def users(self) -> Users:
        return Users(self.store.conn)

    def read_fleet(self) -> list[BoothView]:
        return fleet(self.store, known_booths=self.config.ingest.known_booths,
                     telemetry_interval_s=self.config.web.telemetry_interval_s)

    def read_progress(self, college: str | None = None) -> list[ClassRow]:
        return class_rows(self.store, college=college)

    def render(self, name: str, request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        session: WebSession | None = getattr(request.state, "session", None)
        html = self.templates.get_template(name).render(
            request=request, session=session, user=session.user if session else None, **context)
        return HTMLResponse(html, status_code=status)

    def session(self, request: Request) -> WebSession:
        """The request's live session, or a 401 that the error page turns into the login form."""
        token = request.cookies.get(SESSION_COOKIE)
        session = self.users.session(token) if token else None
        if session is None:
            expired = token is not None
            raise HTTPException(401, "会话已过期，请重新登录 / Your session expired: log in again" if expired
                                else "请登录 / Please log in")
        request.state.session = session
        return session

    def admin(self, request: Request) -> WebSession:
        session = self.session(request)
        if not session.user.is_admin:
            raise HTTPException(403, "仅管理员可用 / Only an admin may open this page")
        return session

    async def form(self, request: Request, session: WebSession) -> dict[str, str]:
        """The posted form, after its CSRF token is checked against the session's."""
        form = await request.form()
        token = str(form.get("csrf", ""))
        if not secrets.compare_digest(token.encode(), session.csrf.encode()):
            raise HTTPException(403, "表单已失效，请刷新页面 / The form is out of date (CSRF check): reload the page")
        return {key: str(value) for key, value in form.items()}

    def class_or_404(self, user: User, college: str, class_name: str) -> None:
        self.college_or_403(user, college)
        if not self.store.roster(college=college, class_name=class_name):
            raise HTTPException(404, f"没有这个班级 / No class {college} / {class_name} in the roster")

    # ------------------------------------------------------------------------------- login
    def login_page(self, request: Request, message: str = "", status: int = 200, next_path: str | None = None,
                   ) -> HTMLResponse:
        csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
        response = self.render("login.html", request, status, csrf=csrf, message=message,
                               next=_safe_next(next_path or request.query_params.get("next", "/")))
        response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/login",
                            secure=request.url.scheme == "https")
        return response

    def login_get(self, request: Request) -> Response:
        return self.login_page(request)

    async def login_post(self, request: Request) -> Response:
        form = await request.form()
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not cookie or not secrets.compare_digest(str(form.get("csrf", "")).encode(), cookie.encode()):
            return self.login_page(request, "表单已失效，请重试 / The form is out of date: try again", 403,
                                   str(form.get("next", "/")))
        name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
        if not name or not password:
            return self.login_page(request, "请输入用户名和密码 / Enter a user name and a password", 400)
        web = self.config.web
        client = request.client.host if request.client else "?"
        try:
            user = await _in_thread(lambda: self.users.authenticate(
                name, password, client, attempts=web.login_attempts, window_s=web.login_window_s))
        except LoginRateLimited:
            return self.login_page(request, f"登录失败次数过多，请 {web.login_window_s // 60} 分钟后再试 / Too many "
                                   f"failed logins: try again in {web.login_window_s // 60} min", 429)
        except LoginRefused:
            return self.login_page(request, "用户名或密码错误 / Wrong user name or password", 401)
        token, _ = self.users.open_session(user, web.session_ttl_s)
        response = RedirectResponse(_safe_next(str(form.get("next", "/"))), status_code=303)
        response.set_cookie(SESSION_COOKIE, token, max_age=web.session_ttl_s, httponly=True, samesite="strict",
                            path="/", secure=request.url.scheme == "https")
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    async def logout(self, request: Request) -> Response:
        session = self.session(request)
        await self.form(request, session)
        self.users.close_session(request.cookies[SESSION_COOKIE], session.user.name)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # ------------------------------------------------------------------------------- fleet
    def fleet_page(self, request: Request) -> Response:
        session = self.session(request)
        return self.render("fleet.html", request, booths=self.fleet_for(session.user, self.read_fleet()),
                           conditions=CONDITIONS)

    def fleet_for(self, user: User, booths: list[BoothView]) -> list[BoothView]:
        """A secretary sees every booth, but the class of another college's session stays hidden."""
        return [b if user.may_see(b.college) or not b.college else
                BoothView(**{**asdict(b), "college": "", "class_name": "—"}) for b in booths]

    def fleet_stream(self, request: Request) -> Response:
        user = self.session(request).user
        template = self.templates.get_template("fleet_table.html")

        def render(booths: list[BoothView]) -> str:
            return template.render(booths=self.fleet_for(user, booths), user=user)

        return StreamingResponse(self.fleet_live.stream(render, "fleet"), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    def fleet_json(self, request: Request) -> Response:
        user = self.session(request).user
        return JSONResponse([asdict(b) for b in self.fleet_for(user, self.read_fleet())])

    # ---------------------------------------------------------------------------- progress
    @staticmethod
    def colleges_for(user: User, rows: list[ClassRow]) -> list[CollegeRow]:
        """The totals of the colleges ``user`` may see."""
        return college_rows([row for row in rows if user.may_see(row.college)])

    @staticmethod
    def college_or_403(user: User, college: str) -> None:
        if not user.may_see(college):
            raise HTTPException(403, f"只能查看本学院 / A secretary sees only {user.college}")

    def progress_live_for(self, college: str | None) -> Broadcaster:
        live = self.progress_live.get(college)
        if live is None:
            live = self.progress_live.setdefault(
                college, Broadcaster(functools.partial(self.read_progress, college), poll_s=PROGRESS_POLL_S))
        return live

    def progress_page(self, request: Request) -> Response:
        user = self.session(request).user
        return self.render("progress.html", request, colleges=self.colleges_for(user, self.read_progress()))

    def college_progress_page(self, request: Request) -> Response:
        user = self.session(request).user
        college = request.path_params["college"]
        self.college_or_403(user, college)
        classes = self.read_progress(college)
        if not classes:
            raise HTTPException(404, f"没有这个学院 / No college {college} in the roster")
        return self.render("progress_college.html", request, college=college, classes=classes)

    def progress_stream(self, request: Request) -> Response:
        user = self.session(request).user
        template = self.templates.get_template("progress_colleges.html")

        def render(rows: list[ClassRow]) -> str:
            return template.render(colleges=self.colleges_for(user, rows), user=user)

        return StreamingResponse(self.progress_live_for(None).stream(render, "progress"),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    def college_progress_stream(self, request: Request) -> Response:
        user = self.session(request).user
        college = request.path_params["college"]
        self.college_or_403(user, college)
        template = self.templates.get_template("progress_tables.html")

        def render(rows: list[ClassRow]) -> str:
            return template.render(classes=rows, user=user)

        return StreamingResponse(self.progress_live_for(college).stream(render, "progress"),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    def progress_json(self, request: Request) -> Response:
        user = self.session(request).user
        return JSONResponse([row.as_json() for row in self.read_progress() if user.may_see(row.college)])

    def class_page(self, request: Request) -> Response:
        user = self.session(request).user
        college, class_name = request.path_params["college"], request.path_params["class_name"]
        self.class_or_404(user, college, class_name)
        photos = {p.id_number: p for p in self.store.photos(college=college, class_name=class_name)}
        flags = {f.id_number: f for f in self.store.retake_flags(college, class_name)}  # the latest per person
        due = {e.id_number for e in self.store.missing(college, class_name)}  # the missing list's people
        students = [{"student_no": e.student_no, "name": user.person_name(e.name),
                     "id_number": user.id_number(e.id_number), "photo": photos.get(e.id_number),
                     "flag": flags.get(e.id_number),
                     "excluded": None if e.id_number in due or e.id_number in photos else _not_photographed(e)}
                    for e in self.store.roster(college=college, class_name=class_name)]
        return self.render("class.html", request, college=college, class_name=class_name, students=students,
                           missing=len(due), to_photograph=sum(1 for s in students if s["excluded"] is None))

    def missing_download(self, request: Request) -> Response:
        user = self.session(request).user
        college, class_name = request.path_params["college"], request.path_params["class_name"]
        self.class_or_404(user, college, class_name)
        return _csv(missing_csv(missing_rows(self.store, user, college, class_name)),
                    f"missing-{college}-{class_name}.csv")

    def missing_json(self, request: Request) -> Response:
        user = self.session(request).user
        college, class_name = request.path_params["college"], request.path_params["class_name"]
        self.class_or_404(user, college, class_name)
        rows = missing_rows(self.store, user, college, class_name)
        return JSONResponse([dict(zip(("college", "class", "student_no", "name", "id_number"), r, strict=True))
                             for r in rows])

    # ----------------------------------------------------------------------- photos, proof sheet
    def proof_page(self, request: Request) -> Response:
        user = self.session(request).user
        college, class_name = request.path_params["college"], request.path_params["class_name"]
        self.class_or_404(user, college, class_name)
        return self.render("proof.html", request, college=college, class_name=class_name,
                           rows=proof_rows(self.store, user, college, class_name, self.config.web.zone))

    def proof_pdf(self, request: Request) -> Response:
        user = self.session(request).user
        college, class_name = request.path_params["college"], request.path_params["class_name"]
        self.class_or_404(user, college, class_name)
        rows = proof_rows(self.store, user, college, class_name, self.config.web.zone)
        photos = {}
        for row in rows:
            found = photo_file(self.store, self.config.data_dir, row.photo_id)
            if found is not None:
                with contextlib.suppress(OSError):
                    photos[row.photo_id] = found[1].read_bytes()
        try:
            pdf = proof_sheet_pdf(rows, photos, college, class_name,
                                  f"{dt.datetime.now(self.config.web.zone):%Y-%m-%d %H:%M} {self.config.web.timezone}")
        except ProofSheetError as error:
            raise HTTPException(503, str(error)) from None
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(f'proof-{college}-{class_name}.pdf')}",
            "Cache-Control": "no-store"})

    def photo_jpeg(self, request: Request) -> Response:
        user = self.session(request).user
        found = photo_file(self.store, self.config.data_dir, request.path_params["photo_id"])
        if found is None or not user.may_see(found[0]):
            raise HTTPException(404, "没有这张照片 / No such photo")
        try:
            data = found[1].read_bytes()
        except OSError:
            raise HTTPException(404, "照片文件不可读 / The photo's file cannot be read") from None
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})

    def photo_or_404(self, user: User, photo_id: str) -> PhotoRecord:
        record = self.store.photo(photo_id)
        if record is None or not user.may_see(record.college):
            raise HTTPException(404, "没有这张照片 / No such photo")
        return record

    def photo_view(self, user: User, photo_id: str) -> dict[str, Any]:
        """What the photo page and its JSON show, in ``user``'s view."""
        record = self.photo_or_404(user, photo_id)
        entry = self.store.roster_entry(record.id_number)
        found = photo_file(self.store, self.config.data_dir, photo_id)
        try:
            data = found[1].read_bytes() if found else None
        except OSError:
            data = None
        checks = (photo_checks(data, record.sha256, OutputSection()) if data is not None
                  else [("file", "照片文件不可读 / the stored file cannot be read")])
        flag = self.store.retake_flag(photo_id)
        booth = booth_check_rows(record.booth_checks)
        return {"photo_id": record.photo_id, "college": record.college, "class": record.class_name,
                "student_no": record.student_no, "name": user.person_name(entry.name if entry else ""),
                "id_number": user.id_number(record.id_number), "booth": record.booth,
                "session_id": record.session_id, "attempt": record.attempt, "captured_at": record.captured_at,
                "stored_at": record.stored_at, "size": record.size, "sha256": record.sha256,
                "current": record.is_current,
                "checks": [{"check": name, "ok": why is None, "detail": why or ""} for name, why in checks],
                "booth_checks": None if booth is None else [asdict(row) for row in booth],
                "retake_flag": None if flag is None else {"reason": flag.reason, "by": flag.actor,
                                                          "at": flag.flagged_at}}

    def photo_page(self, request: Request, message: str = "", status: int = 200) -> Response:
        """The photo; after a flag or a "tell the booths again" (redirected here, POST-redirect-GET),
        what came of it, from the query's ``flagged`` / ``told`` (numbers of booths told, or "none")."""
        user = self.session(request).user
        view = self.photo_view(user, request.path_params["photo_id"])
        message = message or _photo_outcome(request.query_params.get("flagged"), request.query_params.get("told"))
        return self.render("photo.html", request, status, photo=view, message=message,
                           class_url=f"/classes/{quote(view['college'])}/{quote(view['class'])}")

    def photo_json(self, request: Request) -> Response:
        return JSONResponse(self.photo_view(self.session(request).user, request.path_params["photo_id"]))

    async def photo_flag(self, request: Request) -> Response:
        session = self.admin(request)
        form = await self.form(request, session)
        record = self.photo_or_404(session.user, request.path_params["photo_id"])
        try:
            outcome = await _in_thread(lambda: flag_photo(self.config, self.store, record, form.get("reason", ""),
                                                          session.user.name))
        except FlagError as error:
            return self.photo_page(request, str(error), 400)
        if outcome.problem:
            log.warning("photo %s flagged for a retake; the booths were not told: %s", record.photo_id,
                        outcome.problem)
        told = "none" if outcome.problem else str(len(outcome.booths))
        return RedirectResponse(f"/photos/{quote(record.photo_id)}?flagged={told}", status_code=303)

    async def photo_tell_booths(self, request: Request) -> Response:
        """Send ``allow_retake`` for a flagged photo again (the broker was down when it was flagged)."""
        session = self.admin(request)
        await self.form(request, session)
        record = self.photo_or_404(session.user, request.path_params["photo_id"])
        if self.store.retake_flag(record.photo_id) is None:
            raise HTTPException(409, "这张照片没有标记重拍 / This photo is not flagged for a retake")
        try:
            booths = await _in_thread(lambda: allow_retake(self.config, self.store, record.id_number,
                                                           record.photo_id))
        except OSError as error:
            return self.photo_page(request, f"未能通知设备 / The booths were not told ({error})", 503)
        return RedirectResponse(f"/photos/{quote(record.photo_id)}?told={len(booths)}", status_code=303)

    # ----------------------------------------------------------------------------- schedule
    def schedule_view(self, user: User) -> dict[str, Any]:
        standing = {(row.college, row.class_name): row for row in self.read_progress() if user.may_see(row.college)}
        slots = [slot for slot in self.store.schedule() if (slot.college, slot.class_name) in standing]
        return {"slots": slots, "classes": standing}

    def schedule_page(self, request: Request, message: str = "", problems: list[str] | None = None,
                      status: int = 200) -> Response:
        user = self.session(request).user
        return self.render("schedule.html", request, status, message=message, problems=problems or [],
                           zone=self.config.web.timezone, **self.schedule_view(user))

    def schedule_json(self, request: Request) -> Response:
        view = self.schedule_view(self.session(request).user)
        return JSONResponse([{"college": s.college, "class": s.class_name, "booth": s.booth, "date": s.slot_date,
                              "start": s.start_time, "end": s.end_time, "starts_at": s.starts_at,
                              "ends_at": s.ends_at,
                              "standing": view["classes"][(s.college, s.class_name)].standing}
                             for s in view["slots"]])

    async def schedule_import(self, request: Request) -> Response:
        session = self.session(request)
        if session.user.role == "viewer":
            raise HTTPException(403, "只有管理员和教学秘书可以导入排期 / Only an admin or a secretary imports a "
                                     "schedule")
        if int(request.headers.get("content-length") or 0) > MAX_SCHEDULE_BYTES:
            raise HTTPException(413, f"文件太大 / The file is larger than {MAX_SCHEDULE_BYTES // 2**20} MiB")
        form = await request.form()
        if not secrets.compare_digest(str(form.get("csrf", "")).encode(), session.csrf.encode()):
            raise HTTPException(403, "表单已失效，请刷新页面 / The form is out of date (CSRF check): reload the page")
        upload = form.get("file")
        if isinstance(upload, str) or upload is None or not upload.filename:
            return self.schedule_page(request, "请选择排期 CSV 文件 / Choose a schedule CSV file", status=400)
        raw = await upload.read()
        name = Path(upload.filename).name
        classes = {(e.college, e.class_name) for e in self.store.roster()}
        try:
            slots = parse_upload(raw, classes, self.config.web.zone, name,
                                 None if session.user.is_admin else session.user.college)
        except ScheduleImportError as error:
            lines = error.report().splitlines()
            return self.schedule_page(request, lines[0], lines[1:], status=400)
        count = self.store.import_schedule(slots)
        colleges = sorted({slot.college for slot in slots})
        self.users.audit(session.user.name, "schedule_import",
                         f"{counted(count, 'slot')} of {', '.join(colleges)} from {name}")
        return self.schedule_page(request, f"已导入 {count} 个时段 / Imported {counted(count, 'slot')} of "
                                           f"{', '.join(colleges)} from {name}")

    # ----------------------------------------------------------------------- exports, audit
    def exports_page(self, request: Request) -> Response:
        session = self.session(request)
        return self.render("exports.html", request, report=None,
                           packages=self.finished_exports() if session.user.is_admin else [])

    def missing_all_download(self, request: Request) -> Response:
        user = self.session(request).user
        return _csv(missing_csv(missing_rows(self.store, user)), "missing.csv")

    def fees_download(self, request: Request) -> Response:
        user = self.session(request).user
        return _csv(fees_csv(fees_rows(self.store, user)), "fees.csv")

    def makeup_download(self, request: Request) -> Response:
        user = self.session(request).user
        return _csv(makeup_csv(makeup_rows(self.store, user)), "makeup-payments.csv")

    def fees_page(self, request: Request) -> Response:
        user = self.session(request).user
        # The cells are the events' JSON values (str, int, float or None), summed below as they are.
        makeup: list[dict[str, Any]] = [dict(zip(MAKEUP_HEADER, row, strict=True))
                                        for row in makeup_rows(self.store, user)]
        rows: list[dict[str, Any]] = [dict(zip(FEES_HEADER, row, strict=True)) for row in fees_rows(self.store, user)]
        totals: dict[str, dict[str, float]] = {}

        def total_of(college: str) -> dict[str, float]:
            return totals.setdefault(college, dict.fromkeys(
                ("classes", "photos", "fee_cny", "paid_cny", "makeup_people", "makeup_paid", "makeup_paid_cny"), 0))

        for row in rows:
            total = total_of(row["college"])
            total["classes"] += 1
            total["photos"] += row["count"] or 0
            total["fee_cny"] += row["fee_cny"] or 0.0
            total["paid_cny"] += row["amount_cny"] or 0.0
        for person in makeup:  # a make-up person counts for their own college
            total = total_of(person["college"])
            total["makeup_people"] += 1
            total["makeup_paid"] += person["paid"] == "yes"
            total["makeup_paid_cny"] += person["amount_cny"] or 0.0
        return self.render("fees.html", request, rows=rows, totals=totals, makeup=makeup)

    async def chsi_export(self, request: Request) -> Response:
        session = self.admin(request)
        form = await self.form(request, session)
        # Typed or pasted (from a spreadsheet cell, often with a space at either end): read by the name rule.
        college, class_name = (normalize_name(form.get(key) or "") or None for key in ("college", "class"))
        if (college or class_name) and not self.store.roster(college=college, class_name=class_name):
            raise HTTPException(404, f"没有这个学院或班级 / No college or class {college or '*'} / {class_name or '*'}")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        out = self.exports_root / f"chsi-{stamp}-{secrets.token_hex(3)}"
        report = await _in_thread(lambda: export_chsi(self.store, self.config.data_dir, out, college=college,
                                                      class_name=class_name, as_zip=form.get("zip") == "1"))
        self.users.audit(session.user.name, "export_chsi",
                         f"{college or '*'}/{class_name or '*'}: {report.written} photo(s), "
                         f"{len(report.refused)} refused, to {out}")
        return self.render("exports.html", request, report=report, download=out.name,
                           packages=self.finished_exports())

    @property
    def exports_root(self) -> Path:
        """Where the dashboard's registry packages are written (each a folder ``chsi-<UTC time>-<random>``)."""
        return self.config.data_dir / "exports"

    def finished_exports(self) -> list[str]:
        """The names of the finished packages, newest first (one being written is a hidden ``.partial``)."""
        try:
            names = [p.name for p in self.exports_root.iterdir() if EXPORT_NAME.fullmatch(p.name) and p.is_dir()]
        except FileNotFoundError:
            return []
        return sorted(names, reverse=True)

    def chsi_download(self, request: Request) -> Response:
        """A finished registry package as one zip, made while it is sent (``central.export_zip``);
        admins only, as the export itself: it holds full ID numbers and names. Audited."""
        session = self.admin(request)
        name = request.path_params["name"]
        folder = self.exports_root / name
        if not EXPORT_NAME.fullmatch(name) or not folder.is_dir():
            raise HTTPException(404, f"没有这个导出 / No finished export {name}")
        self.users.audit(session.user.name, "export_download", f"{name}.zip")
        return StreamingResponse(zip_stream(folder), media_type="application/zip", headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.zip",
            "Cache-Control": "private, no-store"})

    def audit_page(self, request: Request) -> Response:
        self.admin(request)
        return self.render("audit.html", request, entries=self.users.audit_log())

    # -------------------------------------------------------------------------------- errors
    def http_error(self, request: Request, error: Exception) -> Response:
        """The error page (a 401: the login form, then back to the path), or JSON for the API and for a
        client that asks for JSON (Accept: application/json without text/html). A browser following
        a download link (CSV, PDF, JPEG) gets the page, not JSON."""
        assert isinstance(error, HTTPException)
        if _wants_json(request):
            return JSONResponse({"error": error.detail}, status_code=error.status_code)
        if error.status_code == 401:
            response = self.login_page(request, str(error.detail), 401, next_path=request.url.path)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        return self.render("error.html", request, error.status_code, message=error.detail,
                           status_code=error.status_code)


def _wants_json(request: Request) -> bool:
    """The API's paths (/api/..., .json) answer JSON; elsewhere only a client whose Accept header names
    application/json and not text/html (q-values are not weighed: browsers list text/html)."""
    path = request.url.path
    if path.startswith("/api/") or path.endswith(".json"):
        return True
    accepted = {part.split(";", 1)[0].strip().lower() for part in request.headers.get("accept", "").split(",")}
    return "application/json" in accepted and "text/html" not in accepted


def bilingual(zh: str, en: str) -> Markup:
    """Chinese first, English beside it (as on the booth's screens)."""
    return Markup('<span lang="zh-CN">{}</span> <span class="en" lang="en">{}</span>').format(zh, en)


def _photo_outcome(flagged: str | None, told: str | None) -> str:
    """The photo page's line after a flag (``flagged``) or a "tell the booths again" (``told``): how
    many booths were told ("none": the broker could not be reached; the reason is in the log)."""
    if flagged is None and told is None:
        return ""
    count = flagged if told is None else told
    if count is not None and count.isdecimal():
        line = f"已通知 {count} 台设备 / {counted(int(count), 'booth')} told to allow the retake"
    else:
        line = ("未能通知设备 / The booths were not told (the broker could not be reached; the reason is in the "
                "log): use 'tell the booths again' later; until then the operator's override lets the student "
                "be photographed")
    if flagged is not None:
        return f"已标记重拍，该生回到未拍名单 / Flagged: the student is on the missing list again. {line}"
    return line


def _safe_next(target: str) -> str:
    """Only a path on this site (no //host, no scheme): the login's redirect cannot leave the dashboard."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _not_photographed(entry: RosterEntry) -> tuple[str, str]:
    """Why a roster row that is not on the missing list has no photo (zh, en): every booth refuses
    these people for good (``SqlStore._to_photograph``)."""
    if entry.category == Category.ENTRUSTED:
        return "委培，不拍", "entrusted training: not photographed"
    if entry.captured_before:
        return "往年已拍", "photographed in an earlier year"
    return f"{entry.graduation_year} 届，不拍", f"graduates in {entry.graduation_year}: not photographed this year"


def _csv(text: str, filename: str) -> Response:
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
                             "Cache-Control": "no-store"})


async def _in_thread(task: Any) -> Any:
    return await anyio.to_thread.run_sync(task)


def create_app(config: CentralConfig) -> Starlette:
    """The dashboard on ``config``'s store."""
    board = Dashboard(config)
    klass = "/classes/{college}/{class_name}"
    routes = [
        Route("/login", board.login_get, methods=["GET"]),
        Route("/login", board.login_post, methods=["POST"]),
        Route("/logout", board.logout, methods=["POST"]),
        Route("/", board.fleet_page),
        Route("/live/fleet", board.fleet_stream),
        Route("/api/fleet.json", board.fleet_json),
        Route("/progress", board.progress_page),
        Route("/api/progress.json", board.progress_json),
        Route("/live/progress", board.progress_stream),
        Route("/progress/{college}", board.college_progress_page),
        Route("/live/progress/{college}", board.college_progress_stream),
        Route("/schedule", board.schedule_page, methods=["GET"]),
        Route("/schedule", board.schedule_import, methods=["POST"]),
        Route("/api/schedule.json", board.schedule_json),
        Route(klass, board.class_page),
        Route(klass + "/missing.csv", board.missing_download),
        Route("/api" + klass + "/missing.json", board.missing_json),
        Route(klass + "/proof", board.proof_page),
        Route(klass + "/proof.pdf", board.proof_pdf),
        Route("/photos/{photo_id:str}.jpg", board.photo_jpeg),
        Route("/photos/{photo_id:str}", board.photo_page, methods=["GET"]),
        Route("/photos/{photo_id:str}/flag", board.photo_flag, methods=["POST"]),
        Route("/photos/{photo_id:str}/allow-retake", board.photo_tell_booths, methods=["POST"]),
        Route("/api/photos/{photo_id:str}.json", board.photo_json),
        Route("/exports", board.exports_page),
        Route("/exports/missing.csv", board.missing_all_download),
        Route("/exports/fees.csv", board.fees_download),
        Route("/exports/makeup-payments.csv", board.makeup_download),
        Route("/fees", board.fees_page),
        Route("/exports/chsi", board.chsi_export, methods=["POST"]),
        Route("/exports/chsi/{name:str}.zip", board.chsi_download),
        Route("/audit", board.audit_page),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await board.fleet_live.close()
        for live in list(board.progress_live.values()):
            await live.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: board.http_error}, lifespan=lifespan)
    app.state.dashboard = board
    return app
