"""Every page of the site is in the registry, and every registered page answers as registered."""

import httpx

from tests.site import NOT_PAGES, PAGES, page_routes, seed_world, session_cookie


def test_every_get_route_is_in_the_page_registry(app):
    covered = {page.route for page in PAGES if page.route} | NOT_PAGES
    assert sorted(page_routes(app) - covered) == [], "add a line to PAGES in tests/site.py for each new page"
    assert sorted(covered - page_routes(app)) == [], "PAGES names a route that no longer exists"


async def test_every_registered_page_answers_with_its_status(app, settings):
    world = await seed_world(settings)
    for page in PAGES:
        cookies = await session_cookie(app, page.role)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", cookies=cookies) as client:
            response = await client.get(page.url(world))
        assert response.status_code == page.status, page.name
        assert response.headers["content-type"].startswith("text/html"), page.name
