"""Visitors who are not signed in get the consultation page from a short cache, each with their own
CSRF token; signed-in people always get a fresh page."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from consult.models import Account, Comment, CommentStatus, Stance
from consult.web.pagecache import PageCache
from tests.helpers import csrf_from, text_of
from tests.test_participation import citizen, consultation


@pytest.fixture
def page_cache(app):
    kept = app.state.page_cache
    app.state.page_cache = PageCache(seconds=3600)
    yield app.state.page_cache
    app.state.page_cache = kept


async def comment(c, author, body: str) -> None:
    await Comment.create(consultation=c, author=author, stance=Stance.SUPPORT, body=body, status=CommentStatus.PUBLISHED,
                         published_at=datetime.now(timezone.utc))


async def test_visitors_share_a_cached_page_with_their_own_token(app, page_cache, new_client):
    c = await consultation()
    author = await Account.create(email="a@example.vn", display_name="A", password_hash="x")
    await comment(c, author, "Ý kiến đầu tiên")
    first, second, member = new_client(), new_client(), new_client()
    page = await first.get(f"/consultations/{c.slug}")
    assert "Ý kiến đầu tiên" in text_of(page.text)
    await comment(c, author, "Ý kiến thứ hai")
    cached = await second.get(f"/consultations/{c.slug}")
    assert "Ý kiến thứ hai" not in text_of(cached.text), "a visitor gets the kept page"
    assert csrf_from(cached.text) != csrf_from(page.text), "each visitor gets their own token"
    switched = await second.post("/language", data={"language": "en", "next": "/", "csrf_token": csrf_from(cached.text)})
    assert switched.status_code == 303, "the token in the kept page works for its visitor"
    await citizen(member, "dan@example.vn")
    assert "Ý kiến thứ hai" in text_of((await member.get(f"/consultations/{c.slug}")).text), "signed-in people get a fresh page"
    english = await second.get(f"/consultations/{c.slug}")
    assert "Ý kiến thứ hai" in text_of(english.text), "each language is kept apart"
    page_cache.clear()
    assert "Ý kiến thứ hai" in text_of((await first.get(f"/consultations/{c.slug}")).text)


async def test_nothing_is_kept_when_the_cache_is_off_or_the_page_is_missing(app, new_client):
    assert app.state.page_cache.seconds == 0
    visitor = new_client()
    c = await consultation()
    author = await Account.create(email="a@example.vn", display_name="A", password_hash="x")
    await visitor.get(f"/consultations/{c.slug}")
    await comment(c, author, "Mới")
    assert "Mới" in text_of((await visitor.get(f"/consultations/{c.slug}")).text)
    assert app.state.page_cache.pages == {}


async def test_the_home_page_is_kept_for_visitors_too(app, page_cache, new_client):
    await new_client().get("/")
    c = await consultation(slug="mo-moi")
    assert c.title not in text_of((await new_client().get("/")).text), "the kept home page, from before it opened"
    page_cache.clear()
    assert c.title in text_of((await new_client().get("/")).text)
