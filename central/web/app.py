"""The office dashboard's ASGI app: login, fleet (live), progress, classes, missing lists, exports, audit.

Pages are rendered on the server (Jinja2, autoescaped); htmx and its SSE extension are vendored
under ``static/vendor`` (the office network may be offline). Every answer goes through the user's
view: ``User.id_number`` / ``User.person_name`` mask for secretaries and viewers, ``User.may_see``
keeps a secretary to their college, in pages, CSV and JSON alike. Handlers are plain functions
(Starlette runs them in its thread pool); each thread keeps its own ``SqliteStore``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
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

from central.config import CentralConfig
from central.export import FEES_HEADER, export_chsi, fees_csv, fees_rows, missing_csv, missing_rows
from central.store import SqliteStore, open_store
from central.users import LoginRateLimited, LoginRefused, User, Users, WebSession
from central.web.fleet import CONDITIONS, BoothView, fleet
from central.web.live import Broadcaster
from central.web.proof import ProofSheetError, photo_file, proof_rows, proof_sheet_pdf

SESSION_COOKIE = "booth_session"
LOGIN_CSRF_COOKIE = "booth_login_csrf"
STATIC = Path(__file__).parent / "static"


class Dashboard:
    """The app's state: configuration, per-thread stores, the fleet broadcaster, the templates."""

    def __init__(self, config: CentralConfig) -> None:
        self.config = config
        self.local = threading.local()
        self.templates = Environment(loader=PackageLoader("central.web", "templates"),
                                     autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.templates.globals["t"] = bilingual
        self.fleet_live = Broadcaster(self.read_fleet)

    # ---------------------------------------------------------------------------- plumbing
    @property
    def store(self) -> SqliteStore:
        store = getattr(self.local, "store", None)
        if store is None:
            store = self.local.store = open_store(self.config.storage.db_url, base=self.config.data_dir)
        return store  # type: ignore[return-value]

    @property
    def users(self) -> Users:
        return Users(self.store.conn)

    def read_fleet(self) -> list[BoothView]:
        return fleet(self.store, known_booths=self.config.ingest.known_booths,
                     telemetry_interval_s=self.config.web.telemetry_interval_s)

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
        if not user.may_see(college):
            raise HTTPException(403, f"只能查看本学院 / A secretary sees only {user.college}")
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
    def visible_progress(self, user: User) -> list[dict[str, Any]]:
        return [{"college": p.college, "class": p.class_name, "roster_size": p.roster_size,
                 "photographed": p.photographed, "missing": p.missing,
                 "percent": round(100 * p.photographed / p.roster_size) if p.roster_size else 0,
                 "last_activity": p.last_activity, "url": f"/classes/{quote(p.college)}/{quote(p.class_name)}"}
                for p in self.store.class_progress() if user.may_see(p.college)]

    def progress_page(self, request: Request) -> Response:
        user = self.session(request).user
        classes = self.visible_progress(user)
        colleges: dict[str, dict[str, int]] = {}
        for row in classes:
            total = colleges.setdefault(row["college"], {"roster_size": 0, "photographed": 0, "missing": 0})
            for key in total:
                total[key] += row[key]
        return self.render("progress.html", request, classes=classes, colleges=colleges)

    def progress_json(self, request: Request) -> Response:
        return JSONResponse(self.visible_progress(self.session(request).user))

    def class_page(self, request: Request) -> Response:
        user = self.session(request).user
        college, class_name = request.path_params["college"], request.path_params["class_name"]
        self.class_or_404(user, college, class_name)
        photos = {p.id_number: p for p in self.store.photos(college=college, class_name=class_name)}
        students = [{"student_no": e.student_no, "name": user.person_name(e.name),
                     "id_number": user.id_number(e.id_number), "photo": photos.get(e.id_number)}
                    for e in self.store.roster(college=college, class_name=class_name)]
        return self.render("class.html", request, college=college, class_name=class_name, students=students,
                           missing=sum(1 for s in students if s["photo"] is None))

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
                           rows=proof_rows(self.store, user, college, class_name))

    def proof_pdf(self, request: Request) -> Response:
        user = self.session(request).user
        college, class_name = request.path_params["college"], request.path_params["class_name"]
        self.class_or_404(user, college, class_name)
        rows = proof_rows(self.store, user, college, class_name)
        photos = {}
        for row in rows:
            found = photo_file(self.store, self.config.data_dir, row.photo_id)
            if found is not None:
                with contextlib.suppress(OSError):
                    photos[row.photo_id] = found[1].read_bytes()
        try:
            pdf = proof_sheet_pdf(rows, photos, college, class_name,
                                  dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"))
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

    # ----------------------------------------------------------------------- exports, audit
    def exports_page(self, request: Request) -> Response:
        self.session(request)
        return self.render("exports.html", request, report=None)

    def missing_all_download(self, request: Request) -> Response:
        user = self.session(request).user
        return _csv(missing_csv(missing_rows(self.store, user)), "missing.csv")

    def fees_download(self, request: Request) -> Response:
        user = self.session(request).user
        return _csv(fees_csv(fees_rows(self.store, user)), "fees.csv")

    def fees_page(self, request: Request) -> Response:
        user = self.session(request).user
        rows = [dict(zip(FEES_HEADER, row, strict=True)) for row in fees_rows(self.store, user)]
        totals: dict[str, dict[str, float]] = {}
        for row in rows:
            total = totals.setdefault(row["college"], {"classes": 0, "photos": 0, "fee_cny": 0.0, "paid_cny": 0.0})
            total["classes"] += 1
            total["photos"] += row["count"] or 0
            total["fee_cny"] += row["fee_cny"] or 0.0
            total["paid_cny"] += row["amount_cny"] or 0.0
        return self.render("fees.html", request, rows=rows, totals=totals)

    async def chsi_export(self, request: Request) -> Response:
        session = self.admin(request)
        form = await self.form(request, session)
        college, class_name = form.get("college") or None, form.get("class") or None
        if (college or class_name) and not self.store.roster(college=college, class_name=class_name):
            raise HTTPException(404, f"没有这个学院或班级 / No college or class {college or '*'} / {class_name or '*'}")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        out = self.config.data_dir / "exports" / f"chsi-{stamp}-{secrets.token_hex(3)}"
        report = await _in_thread(lambda: export_chsi(self.store, self.config.data_dir, out, college=college,
                                                      class_name=class_name, as_zip=form.get("zip") == "1"))
        self.users.audit(session.user.name, "export_chsi",
                         f"{college or '*'}/{class_name or '*'}: {report.written} photo(s), "
                         f"{len(report.refused)} refused, to {out}")
        return self.render("exports.html", request, report=report)

    def audit_page(self, request: Request) -> Response:
        self.admin(request)
        return self.render("audit.html", request, entries=self.users.audit_log())

    # -------------------------------------------------------------------------------- errors
    def http_error(self, request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        wants_json = request.url.path.startswith("/api/") or request.url.path.endswith((".json", ".csv", ".pdf",
                                                                                          ".jpg"))
        if wants_json:
            return JSONResponse({"error": error.detail}, status_code=error.status_code)
        if error.status_code == 401:
            response = self.login_page(request, str(error.detail), 401, next_path=request.url.path)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        return self.render("error.html", request, error.status_code, message=error.detail,
                           status_code=error.status_code)


def bilingual(zh: str, en: str) -> Markup:
    """Chinese first, English beside it (as on the booth's screens)."""
    return Markup('<span lang="zh-CN">{}</span> <span class="en" lang="en">{}</span>').format(zh, en)


def _safe_next(target: str) -> str:
    """Only a path on this site (no //host, no scheme): the login's redirect cannot leave the dashboard."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


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
        Route(klass, board.class_page),
        Route(klass + "/missing.csv", board.missing_download),
        Route("/api" + klass + "/missing.json", board.missing_json),
        Route(klass + "/proof", board.proof_page),
        Route(klass + "/proof.pdf", board.proof_pdf),
        Route("/photos/{photo_id:str}.jpg", board.photo_jpeg),
        Route("/exports", board.exports_page),
        Route("/exports/missing.csv", board.missing_all_download),
        Route("/exports/fees.csv", board.fees_download),
        Route("/fees", board.fees_page),
        Route("/exports/chsi", board.chsi_export, methods=["POST"]),
        Route("/audit", board.audit_page),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await board.fleet_live.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: board.http_error}, lifespan=lifespan)
    app.state.dashboard = board
    return app
