"""Consult: assembles the web app and the job worker, and is the command line.

    python main.py                 apply migrations and serve on http://127.0.0.1:8000
    python main.py migrate         apply migrations
    python main.py createadmin     create an administrator (or make an account one)
    python main.py demo            load demonstration data (safe to run twice)
    python main.py worker          run the arq worker (same as: arq main.WorkerSettings)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from arq.connections import RedisSettings
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from tortoise import Tortoise
from tortoise.contrib.starlette import RegisterTortoise

import consult.jobs
import moderation.jobs
import moderation.web
from consult import db, i18n
from consult.queue import ArqQueue, InProcessQueue, JobQueue, install
from consult.security import RateLimiter
from consult.identity import parse_providers
from consult.services import PermissionDenied
from consult.settings import Settings, load_settings
from consult.web import api
from consult.web.forms import CsrfError
from consult.web.identity import Identity
from consult.web.pagecache import PageCache
from consult.web.middleware import (
    LANG_COOKIE,
    AccountLanguageMiddleware,
    BodyLimitMiddleware,
    BodyTooLarge,
    SecurityHeadersMiddleware,
    choose_language,
    security_headers,
)
from consult.web import manage
from consult.web.routes import routes as consult_routes
from consult.web.templating import build_environment, render
from consult.web.views import SignInRequired

log = logging.getLogger("consult")

JOB_FUNCTIONS = consult.jobs.FUNCTIONS + moderation.jobs.FUNCTIONS
CRON_JOBS = consult.jobs.CRON_JOBS + moderation.jobs.CRON_JOBS
SESSION_COOKIE = "consult_session"
# For `python -m tortoise -c main.TORTOISE_ORM makemigrations`: the models, no real database needed.
TORTOISE_ORM = db.tortoise_config("sqlite://:memory:")


def make_queue(settings: Settings) -> JobQueue:
    if settings.redis_url:
        return ArqQueue(settings.redis_url)
    return InProcessQueue(JOB_FUNCTIONS, CRON_JOBS, max_tries=settings.job_max_tries, context={"settings": settings})


@asynccontextmanager
async def lifespan(app: Starlette):
    settings: Settings = app.state.settings
    db.ensure_sqlite_dir(settings)
    async with RegisterTortoise(app, config=db.tortoise_config(settings.db_url), _enable_global_fallback=True):
        queue = app.state.queue_factory(settings)
        await queue.start()
        install(queue)
        app.state.queue = queue
        try:
            yield
        finally:
            await queue.stop()
            install(None)
            await app.state.rate_limiter.close()


# --- errors -------------------------------------------------------------------------------------

ERROR_TITLES = {
    400: i18n.lazy("The request could not be understood"),
    403: i18n.lazy("You do not have permission to see this page"),
    404: i18n.lazy("Page not found"),
    405: i18n.lazy("This action is not allowed here"),
    410: i18n.lazy("This page is no longer available"),
    413: i18n.lazy("What you sent is too large"),
    415: i18n.lazy("What you sent is not in a form this page accepts"),
    429: i18n.lazy("Too many requests"),
    500: i18n.lazy("Sorry, there is a problem with the service"),
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


def error_response(request: Request, status: int, detail: str | None = None) -> Response:
    # A 500 is rendered outside the middleware, after it reset the request's language: set it again.
    language = getattr(request.state, "language", None) or choose_language(
        None, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"), request.app.state.settings.default_language
    )
    i18n.set_language(language)
    title = i18n.gettext(ERROR_TITLES.get(status, ERROR_TITLES[500]))
    if wants_json(request):
        return api.error_response(status, detail or title)
    try:
        return render(request, "errors/error.html", {"status": status, "title": title, "detail": detail}, status_code=status)
    except Exception:  # never let an error page raise: a plain line in the user's language
        log.exception("error page failed to render")
        return PlainTextResponse(title, status_code=status)


async def http_exception(request: Request, exc: HTTPException) -> Response:
    response = error_response(request, exc.status_code)
    if exc.status_code == 405 and exc.headers:
        response.headers.update(exc.headers)
    return response


async def csrf_error(request: Request, exc: Exception) -> Response:
    return error_response(request, 403, i18n.gettext("The form has expired or did not come from this site. Go back, reload the page and try again."))


async def permission_denied(request: Request, exc: Exception) -> Response:
    return error_response(request, 403)


async def body_too_large(request: Request, exc: Exception) -> Response:
    return error_response(request, 413)


async def sign_in_required(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/account/signin?next={quote(target, safe='/')}", status_code=303)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    response = error_response(request, 500)
    # This handler runs outside every middleware, the security headers' one included.
    for name, value in security_headers(request.app.state.settings.https_only):
        response.headers[name.decode()] = value.decode()
    return response


# --- the app ------------------------------------------------------------------------------------


def create_app(settings: Settings | None = None, queue_factory=make_queue) -> Starlette:
    settings = settings or load_settings()
    middleware = [
        Middleware(SecurityHeadersMiddleware, https_only=settings.https_only),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, allowances=manage.body_allowances(settings)),
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie=SESSION_COOKIE,
            max_age=settings.session_days * 86400,
            same_site="lax",
            https_only=settings.https_only,
        ),
        Middleware(AccountLanguageMiddleware, default_language=settings.default_language),
    ]
    exception_handlers: dict[Any, Any] = {
        HTTPException: http_exception,
        CsrfError: csrf_error,
        PermissionDenied: permission_denied,
        BodyTooLarge: body_too_large,
        SignInRequired: sign_in_required,
        Exception: server_error,
    }
    app = Starlette(
        routes=consult_routes + moderation.web.routes,
        middleware=middleware,
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = build_environment(settings)
    app.state.queue_factory = queue_factory
    app.state.rate_limiter = RateLimiter(settings.redis_url)
    app.state.identity = Identity(parse_providers(settings.oidc_providers))  # a mistake in the setting stops the start
    app.state.page_cache = PageCache(settings.page_cache_seconds)
    return app


# --- the arq worker -----------------------------------------------------------------------------


async def worker_startup(ctx: dict) -> None:
    settings = load_settings()
    await Tortoise.init(config=db.tortoise_config(settings.db_url), _enable_global_fallback=True)
    ctx["settings"] = settings
    install(ArqQueue.from_pool(ctx["redis"]))


async def worker_shutdown(ctx: dict) -> None:
    install(None)
    await Tortoise.close_connections()


def _worker_redis_settings() -> RedisSettings:
    url = load_settings().redis_url
    return RedisSettings.from_dsn(url) if url else RedisSettings()


class WorkerSettings:
    functions = JOB_FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = worker_startup
    on_shutdown = worker_shutdown
    redis_settings = _worker_redis_settings()
    max_tries = 5
    keep_result = 60
    job_timeout = 600


# --- command line -------------------------------------------------------------------------------


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")


async def _with_database(settings: Settings, action) -> Any:
    db.ensure_sqlite_dir(settings)
    await Tortoise.init(config=db.tortoise_config(settings.db_url), _enable_global_fallback=True)
    try:
        return await action()
    finally:
        await Tortoise.close_connections()


def cmd_migrate(settings: Settings) -> None:
    db.ensure_sqlite_dir(settings)
    asyncio.run(db.migrate(settings.db_url))
    print("Database is up to date.")


def cmd_serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    if workers > 1 and (settings.is_sqlite or not settings.redis_url):
        sys.exit("Several web processes need PostgreSQL (DATABASE_URL) and Redis (REDIS_URL).")
    cmd_migrate(settings)
    print(f"Consult is running on http://{host}:{port}  (Ctrl+C to stop)", flush=True)
    uvicorn.run(
        "main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        log_level=settings.log_level.lower(),
    )


def cmd_createadmin(settings: Settings, email: str | None, name: str | None) -> None:
    from consult import services

    email = email or input("E-mail: ")
    name = name or input("Display name: ")
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: ")
    cmd_migrate(settings)

    async def create() -> None:
        try:
            account = await services.create_admin(settings, email=email, display_name=name, password=password)
        except services.ServiceError as error:
            sys.exit("\n".join(error.errors.values()))
        print(f"{account.email} is an administrator.")

    asyncio.run(_with_database(settings, create))


def cmd_demo(settings: Settings) -> None:
    from consult import demo

    cmd_migrate(settings)

    async def load() -> str:
        # The finished consultation publishes its outcome, which prompts jobs (mails, the open data
        # package): they run here, in this process, before the command ends.
        queue = InProcessQueue(JOB_FUNCTIONS, run_cron=False, context={"settings": settings})
        install(queue)
        await queue.start()
        try:
            summary = await demo.load(settings)
            await queue.drain()
        finally:
            await queue.stop()
            install(None)
        return summary

    print(asyncio.run(_with_database(settings, load)))


def cmd_worker() -> None:
    from arq import run_worker

    run_worker(WorkerSettings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python main.py", description="Consult: public consultations.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="web processes (needs PostgreSQL and Redis above 1)")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="apply migrations and serve (the default)")
    sub.add_parser("migrate", help="apply database migrations")
    admin = sub.add_parser("createadmin", help="create an administrator; the password is read from the terminal or stdin")
    admin.add_argument("--email")
    admin.add_argument("--name")
    sub.add_parser("demo", help="load demonstration data (safe to run twice)")
    sub.add_parser("worker", help="run the arq job worker")
    args = parser.parse_args(argv)
    settings = load_settings()
    i18n.set_language(settings.default_language)
    configure_logging(settings)
    if args.command in (None, "serve"):
        cmd_serve(settings, args.host, args.port, args.workers)
    elif args.command == "migrate":
        cmd_migrate(settings)
    elif args.command == "createadmin":
        cmd_createadmin(settings, args.email, args.name)
    elif args.command == "demo":
        cmd_demo(settings)
    elif args.command == "worker":
        cmd_worker()


if __name__ == "__main__":
    main()
