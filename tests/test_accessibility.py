"""axe-core (WCAG 2.2 A and AA rules) on every page of the registry, in both languages, at a phone
width and a desktop width, in Chromium."""

import pytest
from axe_playwright_python.async_playwright import Axe

from tests.site import PAGES, seed_world, session_cookie

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
WIDTHS = {"phone": (375, 812), "desktop": (1280, 900)}
AXE = Axe()


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
    failures = []
    checked = 0
    signed_in: dict[str, dict] = {}
    for page_spec in PAGES:
        context = await browser.new_context(viewport=dict(zip(("width", "height"), WIDTHS[width])))
        if page_spec.role not in signed_in:
            signed_in[page_spec.role] = await session_cookie(app, page_spec.role)
        cookies = dict(signed_in[page_spec.role])
        cookies["lang"] = language
        await context.add_cookies([{"name": k, "value": v, "url": live_server} for k, v in cookies.items()])
        page = await context.new_page()
        url = live_server + page_spec.url(world)
        response = await page.goto(url)
        assert response.status == page_spec.status, page_spec.name
        assert await page.get_attribute("html", "lang") == language or page_spec.role != "anonymous"
        results = await AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
        violations = results.response["violations"]
        if violations:
            failures.append(describe(violations, page_spec.name, url))
        checked += 1
        await context.close()
    assert checked == len(PAGES)
    assert not failures, "\n".join(failures)
