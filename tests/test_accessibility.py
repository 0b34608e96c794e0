"""axe-core (WCAG 2.2 A and AA rules) on every page of the registry, in both languages, at a phone
width and a desktop width, in Chromium.

For speed, pages are checked four at a time, each role in its own browser context (its cookies) whose
tabs are reused from page to page, with axe-core added to every document as it loads rather than sent
over for each page."""

import asyncio

import pytest
from axe_playwright_python.async_playwright import Axe

from tests.site import PAGES, seed_world, session_cookie

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
WIDTHS = {"phone": (375, 812), "desktop": (1280, 900)}
AXE_SOURCE = Axe().axe_script
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
# Only what the test reads comes back from the page (not the rules that passed or did not apply).
AXE_RUN = "options => axe.run(document, options).then(r => ({url: r.url, violations: r.violations}))"
CONCURRENCY = 4


def describe(violations: list[dict], page_name: str, url: str) -> str:
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            lines.append(f"{page_name} ({url}): {violation['id']} [{violation['impact']}] {violation['help']} at {node['target']}")
    return "\n".join(lines)


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("width", list(WIDTHS))
async def test_every_page_passes_axe(app, settings, live_server, browser, language, width):
    world = await seed_world(settings)
    roles = list(dict.fromkeys(spec.role for spec in PAGES))
    contexts = {}
    for role in roles:
        context = await browser.new_context(viewport=dict(zip(("width", "height"), WIDTHS[width])))
        cookies = {**await session_cookie(app, role), "lang": language}
        await context.add_cookies([{"name": k, "value": v, "url": live_server} for k, v in cookies.items()])
        await context.add_init_script(script=AXE_SOURCE)
        contexts[role] = context
    idle_tabs = {role: [] for role in roles}
    limit = asyncio.Semaphore(CONCURRENCY)

    async def check(page_spec) -> str:
        async with limit:
            tabs = idle_tabs[page_spec.role]
            page = tabs.pop() if tabs else await contexts[page_spec.role].new_page()
            try:
                url = live_server + page_spec.url(world)
                response = await page.goto(url)
                if response.status != page_spec.status:
                    return f"{page_spec.name} ({url}): status {response.status}, not {page_spec.status}"
                lang = await page.get_attribute("html", "lang")
                if lang != language and page_spec.role == "anonymous":
                    return f"{page_spec.name} ({url}): html lang={lang!r}, not {language!r}"
                results = await page.evaluate(AXE_RUN, AXE_OPTIONS)
                assert results["url"] == page.url, f"axe-core checked {results['url']}, not {page.url}"
            finally:
                tabs.append(page)
            return describe(results["violations"], page_spec.name, url)

    try:
        # Every page is checked even when one fails, and the contexts close only after all are done.
        reports = await asyncio.gather(*(check(page_spec) for page_spec in PAGES), return_exceptions=True)
    finally:
        for context in contexts.values():
            await context.close()
    for report in reports:
        if isinstance(report, BaseException):
            raise report
    assert len(reports) == len(PAGES)
    failures = [report for report in reports if report]
    assert not failures, "\n".join(failures)
