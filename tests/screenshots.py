"""Full-page screenshots of every page of the registry (tests/site.py), at a phone and a desktop width,
in Vietnamese and in English, for a person to look at.

    python -m tests.screenshots [OUTPUT_DIR]      (default: var/screenshots, which git ignores)

It runs on its own, not under pytest: a temporary data folder and SQLite database, the seeded world of
tests/site.py, the app served by uvicorn on loopback in this event loop, and Chromium (CONSULT_TEST_BROWSER,
/usr/bin/chromium by default). Files are named LANGUAGE-WIDTH-PAGE.png, e.g. vi-phone-home.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import main  # noqa: E402
from consult import db  # noqa: E402
from consult.settings import load_settings  # noqa: E402
from tests import helpers  # noqa: E402
from tests.oidc_provider import TestProvider  # noqa: E402
from tests.site import PAGES, seed_world, session_cookie  # noqa: E402

LANGUAGES = ("vi", "en")
WIDTHS = {"phone": (375, 812), "desktop": (1280, 900)}
# The flags of the tests' browser fixture (tests/conftest.py).
BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
CONCURRENCY = 4
DEFAULT_OUTPUT = ROOT / "var" / "screenshots"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def file_name(language: str, width: str, page_name: str) -> str:
    return f"{language}-{width}-{slug(page_name)}.png"


async def shoot_every_page(browser, base: str, world, cookies: dict, output: Path) -> list[str]:
    """Every page, language and width, four at a time; one context per language, width and role, its tabs reused."""
    keys = [(language, width, role) for language in LANGUAGES for width in WIDTHS for role in cookies]

    async def new_context(language: str, width: str, role: str):
        w, h = WIDTHS[width]
        context = await browser.new_context(viewport={"width": w, "height": h})
        jar = {**cookies[role], "lang": language}
        await context.add_cookies([{"name": k, "value": v, "url": base} for k, v in jar.items()])
        return context

    contexts = dict(zip(keys, await asyncio.gather(*(new_context(*key) for key in keys))))
    idle_tabs: dict[tuple, list] = {key: [] for key in keys}
    limit = asyncio.Semaphore(CONCURRENCY)

    async def shoot(language: str, width: str, spec) -> str | None:
        key = (language, width, spec.role)
        async with limit:
            page = idle_tabs[key].pop() if idle_tabs[key] else await contexts[key].new_page()
            try:
                response = await page.goto(base + spec.url(world), wait_until="load")
                await page.screenshot(path=str(output / file_name(language, width, spec.name)), full_page=True)
            finally:
                idle_tabs[key].append(page)
        if response is None or response.status != spec.status:
            return f"{language} {width} {spec.name}: status {response.status if response else None}, expected {spec.status}"
        return None

    try:
        results = await asyncio.gather(*(shoot(lang, width, spec) for lang in LANGUAGES for width in WIDTHS for spec in PAGES))
    finally:
        for context in contexts.values():
            await context.close()
    return [problem for problem in results if problem]


async def take_all(output: Path, browser_path: str) -> tuple[int, list[str]]:
    """A fresh database and seeded world, the app on loopback, Chromium: (screenshots written, problems)."""
    from playwright.async_api import async_playwright

    output.mkdir(parents=True, exist_ok=True)
    provider = TestProvider().start()  # the identity provider the sign-in and consent pages show
    with tempfile.TemporaryDirectory(prefix="consult-screenshots-") as data_dir:
        settings = load_settings(environ={}, data_dir=data_dir, secret_key=secrets.token_urlsafe(32), base_url="http://testserver",
                                 oidc_providers=json.dumps(provider.settings_value()))
        db.ensure_sqlite_dir(settings)
        await db.migrate(settings.db_url)
        app = main.create_app(settings)
        async with app.router.lifespan_context(app):
            world = await seed_world(settings)
            cookies = {role: await session_cookie(app, role) for role in dict.fromkeys(p.role for p in PAGES)}
            async with helpers.served(app) as base, async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=browser_path, args=BROWSER_ARGS)
                try:
                    problems = await shoot_every_page(browser, base, world, cookies, output)
                finally:
                    await browser.close()
    provider.stop()
    written = sum(1 for lang in LANGUAGES for width in WIDTHS for spec in PAGES if (output / file_name(lang, width, spec.name)).is_file())
    return written, problems


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", default=str(DEFAULT_OUTPUT), help=f"folder for the PNG files (default: {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    env_settings = load_settings(environ={k: v for k, v in os.environ.items() if k.startswith("CONSULT_TEST_")})
    browser_path = env_settings.test_browser
    if not Path(browser_path).exists():
        print(f"Chromium not found at {browser_path} (apt-get install chromium, or set CONSULT_TEST_BROWSER)", file=sys.stderr)
        return 2
    output = Path(args.output)
    count, problems = asyncio.run(take_all(output, browser_path))
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"Wrote {count} screenshots to {output} ({len(PAGES)} pages x {len(LANGUAGES)} languages x {len(WIDTHS)} widths).")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(run())
