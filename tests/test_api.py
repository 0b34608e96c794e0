"""The read-only JSON API: only public data, the same figures as the pages, every page walked exactly
once, JSON errors in the request's language, and responses that match the OpenAPI document."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from starlette.routing import Route

from consult.models import (
    Account, Agency, Answer, Article, Attachment, Comment, CommentStatus, Consultation, ConsultationKind, ConsultationStatus,
    ConsultationTopic, Question, QuestionKind, QuestionResponse, Stance, Topic, Vote, VoteValue,
)
from tests.test_security_headers import header_problems

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


@dataclass
class Seed:
    agency: Agency
    other_agency: Agency
    open: Consultation
    closed: Consultation
    scheduled: Consultation
    draft: Consultation
    articles: list[Article] = field(default_factory=list)
    people: list[Account] = field(default_factory=list)
    published: list[Comment] = field(default_factory=list)  # top-level, published, on the open consultation
    unpublished: list[Comment] = field(default_factory=list)


async def consultation(agency: Agency, slug: str, status: ConsultationStatus, **values) -> Consultation:
    return await Consultation.create(
        agency=agency, slug=slug, title=values.pop("title", f"Dự thảo {slug}"), summary=values.pop("summary", "Tóm tắt để lấy ý kiến."),
        kind=values.pop("kind", ConsultationKind.LEGAL_TEXT), language=values.pop("language", "vi"), status=status,
        opens_at=NOW - timedelta(days=5), closes_at=NOW + timedelta(days=25), **values,
    )


async def comment(c: Consultation, author: Account | None, status=CommentStatus.PUBLISHED, **values) -> Comment:
    return await Comment.create(
        consultation=c, author=author, status=status, body=values.pop("body", "Ý kiến của tôi về dự thảo."),
        published_at=NOW if status is CommentStatus.PUBLISHED else None, **values,
    )


@pytest.fixture
async def seed(app) -> Seed:
    agency = await Agency.create(slug="bo-tu-phap", name_vi="Bộ Tư pháp", name_en="Ministry of Justice")
    other = await Agency.create(slug="so-gtvt", name_vi="Sở Giao thông Vận tải", name_en="Department of Transport")
    s = Seed(
        agency=agency, other_agency=other,
        open=await consultation(agency, "luat-tiep-can-thong-tin", ConsultationStatus.OPEN, title="Dự thảo Luật Tiếp cận thông tin"),
        closed=await consultation(other, "low-emission-zone", ConsultationStatus.CLOSED, title="Low-emission zone", kind=ConsultationKind.POLICY, language="en"),
        scheduled=await consultation(agency, "ho-tich", ConsultationStatus.SCHEDULED, kind=ConsultationKind.SERVICE_DESIGN),
        draft=await consultation(agency, "bi-mat", ConsultationStatus.DRAFT, title="Bản nháp bí mật"),
    )
    for position, label in ((1, "Điều 1"), (2, "Điều 2"), (4, "Điều 3")):  # positions keep gaps after a removal
        s.articles.append(await Article.create(consultation=s.open, position=position, label=label, title=f"Tiêu đề {label}",
                                               body_markdown="x", body_html=f"<p>Nội dung {label}</p>"))
    s.people = [await Account.create(email=f"nguoi{i}@example.vn", display_name=f"Người {i}", password_hash="x") for i in range(4)]
    stances = [Stance.SUPPORT, Stance.OPPOSE, Stance.CHANGE]
    # Seven comments with the same number of agreements, to walk the ties of the "most agreed" order.
    for i in range(7):
        article = s.articles[i % 2] if i < 6 else None
        s.published.append(await comment(s.open, s.people[i % 4], article=article, stance=stances[i % 3], agree_count=2,
                                         proposed_wording="Sửa thành: ..." if stances[i % 3] is Stance.CHANGE else None))
    for agreed in (5, 0, 1):
        s.published.append(await comment(s.open, s.people[0], article=s.articles[2], stance=Stance.SUPPORT, agree_count=agreed))
    for status in (CommentStatus.PENDING, CommentStatus.HIDDEN, CommentStatus.REJECTED, CommentStatus.WITHDRAWN):
        s.unpublished.append(await comment(s.open, s.people[1], status=status, article=s.articles[0], stance=Stance.OPPOSE, body=f"Không công khai {status.value}"))
    await comment(s.draft, s.people[1], stance=Stance.SUPPORT, body="Ý kiến trên bản nháp")
    return s


def routes_of(app) -> list[str]:
    return sorted(route.path for route in app.routes if isinstance(route, Route) and route.path.startswith("/api/"))


def openapi_path(route_path: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", route_path)


class Spec:
    """The app's own OpenAPI document, to validate responses with."""

    def __init__(self, document: dict):
        self.document = document

    def check(self, path: str, response) -> dict:
        """The response's JSON, after checking it against the schema the document gives for it."""
        body = response.json()
        operation = self.document["paths"][path]["get"]
        described = operation["responses"].get(str(response.status_code))
        assert described, f"{path} answered {response.status_code}, which the document does not describe"
        schema = described["content"]["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": self.document["components"]})
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{path} ({response.status_code}): " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
        return body


@pytest.fixture
async def spec(client) -> Spec:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    return Spec(response.json())


def assert_api_headers(response, anonymous: bool = True) -> None:
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["access-control-allow-origin"] == "*"
    if response.status_code == 200:
        assert response.headers["cache-control"] == ("public, max-age=60" if anonymous else "private, max-age=60")
    assert header_problems(response, https=False) == []


def assert_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == status and body["error"]["message"], body
    return body["error"]["message"]


async def walk(client, url: str) -> tuple[list[dict], int]:
    """Every item of a paginated list, following next; and the number of pages."""
    items, pages = [], 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        pages += 1
        url = body["next"]
        if url:
            assert url.startswith("http://testserver/api/"), url
            url = url.removeprefix("http://testserver")
        assert pages < 50, "pagination does not end"
    return items, pages


# --- the OpenAPI document ------------------------------------------------------------------------


async def test_the_openapi_document_is_valid_and_describes_every_api_route(app, client):
    response = await client.get("/api/openapi.json")
    assert_api_headers(response)
    document = response.json()
    validate_spec(document)
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "http://testserver"}]
    described = set(document["paths"])
    routes = {openapi_path(path) for path in routes_of(app)}
    assert routes and routes <= described, f"not in the OpenAPI document: {sorted(routes - described)}"
    assert "/consultations/feed.atom" in described
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", path)), (method, path)


# --- consultations -------------------------------------------------------------------------------


async def test_the_list_has_public_consultations_only_in_the_documented_shape(client, seed, spec):
    topic = await Topic.create(slug="minh-bach", name_vi="Minh bạch", name_en="Transparency")
    await ConsultationTopic.create(consultation=seed.open, topic=topic)
    response = await client.get("/api/consultations")
    assert_api_headers(response)
    body = spec.check("/api/consultations", response)
    assert [item["id"] for item in body["items"]] == [seed.scheduled.id, seed.closed.id, seed.open.id]
    assert body["next"] is None
    # UTF-8 as it is, not \u escapes, and nothing of the draft.
    assert "Dự thảo Luật Tiếp cận thông tin".encode() in response.content
    assert "bi-mat" not in response.text and "Bản nháp" not in response.text
    item = next(i for i in body["items"] if i["id"] == seed.open.id)
    assert item["url"] == "http://testserver/consultations/luat-tiep-can-thong-tin"
    assert item["agency"] == {"id": seed.agency.id, "name_vi": "Bộ Tư pháp", "name_en": "Ministry of Justice"}
    assert item["status"] == "open" and item["kind"] == "legal_text" and item["language"] == "vi"
    assert item["opens_at"] == "2026-02-24T08:00:00Z" and item["closes_at"] == "2026-03-26T08:00:00Z"
    assert item["topics"] == [{"id": topic.id, "slug": "minh-bach", "name_vi": "Minh bạch", "name_en": "Transparency"}]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=closed", ["closed"]),
        ("kind=service_design", ["scheduled"]),
        ("agency={other}", ["closed"]),
        ("q=emission", ["closed"]),
        ("q=tiếp cận", ["open"]),
        ("topic=minh-bach", ["open"]),
        ("topic=khong-co", []),
        ("status=open&agency={other}", []),
    ],
)
async def test_the_list_has_the_filters_of_the_page(client, seed, query, expected):
    topic = await Topic.create(slug="minh-bach", name_vi="Minh bạch", name_en="Transparency")
    await ConsultationTopic.create(consultation=seed.open, topic=topic)
    ids = {"open": seed.open.id, "closed": seed.closed.id, "scheduled": seed.scheduled.id}
    response = await client.get(f"/api/consultations?{query.format(other=seed.other_agency.id)}")
    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["items"]] == [ids[name] for name in expected]


async def test_the_list_is_walked_page_by_page_exactly_once(client, seed):
    for i in range(23):
        await consultation(seed.agency, f"them-{i}", ConsultationStatus.CLOSED)
    items, pages = await walk(client, "/api/consultations?status=closed&limit=5")
    assert pages == 5 and len(items) == 24 and len({i["id"] for i in items}) == 24
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)
    assert all(i["status"] == "closed" for i in items)
    default, _ = await walk(client, "/api/consultations")
    assert len(default) == 26


@pytest.mark.parametrize(
    "query",
    ["agency=abc", "agency=0", "agency=-3", "agency=99999999999", "kind=poem", "status=draft", "status=deleted", "limit=0", "limit=101",
     "limit=ten", "after=abc", "after=-5", "after=0", "after=99999999999", "after=1.2", "q=" + "x" * 101, "topic=" + "y" * 81],
)
async def test_bad_list_parameters_are_a_json_400(client, seed, query):
    response = await client.get(f"/api/consultations?{query}")
    assert_error(response, 400)
    assert_api_headers(response)


async def test_errors_are_in_the_request_language(client, seed):
    vi = assert_error(await client.get("/api/consultations?kind=poem", headers={"Accept-Language": "vi"}), 400)
    en = assert_error(await client.get("/api/consultations?kind=poem", headers={"Accept-Language": "en"}), 400)
    assert en == "kind must be one of: policy, legal_text, service_design."
    assert vi != en and "kind" in vi
    missing_vi = assert_error(await client.get(f"/api/consultations/{seed.draft.id}"), 404)
    missing_en = assert_error(await client.get(f"/api/consultations/{seed.draft.id}", headers={"Accept-Language": "en"}), 404)
    assert missing_en == "There is no public consultation with this number." and missing_vi != missing_en


async def test_a_consultation_with_its_articles_questions_and_attachments(client, seed, spec):
    topic = await Topic.create(slug="minh-bach", name_vi="Minh bạch", name_en="Transparency")
    await ConsultationTopic.create(consultation=seed.open, topic=topic)
    q1 = await Question.create(consultation=seed.open, position=1, kind=QuestionKind.SINGLE, prompt="Bạn có đồng ý?", options=["Có", "Không"], required=True)
    q2 = await Question.create(consultation=seed.open, position=2, kind=QuestionKind.SCALE, prompt="Mức độ cần thiết?")
    pdf = await Attachment.create(consultation=seed.open, title="Toàn văn dự thảo", filename="du-thao.pdf", stored_name="abc123.pdf", size=2048, sha256="0" * 64)
    response = await client.get(f"/api/consultations/{seed.open.id}")
    assert_api_headers(response)
    body = spec.check("/api/consultations/{consultation_id}", response)
    assert body["title"] == "Dự thảo Luật Tiếp cận thông tin" and body["agency"]["id"] == seed.agency.id
    assert [(a["id"], a["position"], a["label"]) for a in body["articles"]] == [(a.id, a.position, a.label) for a in seed.articles]
    assert body["articles"][0]["body_html"] == "<p>Nội dung Điều 1</p>"
    assert body["questions"] == [
        {"id": q1.id, "position": 1, "kind": "single", "prompt": "Bạn có đồng ý?", "options": ["Có", "Không"], "required": True},
        {"id": q2.id, "position": 2, "kind": "scale", "prompt": "Mức độ cần thiết?", "options": [], "required": False},
    ]
    assert body["attachments"] == [{
        "id": pdf.id, "title": "Toàn văn dự thảo", "filename": "du-thao.pdf", "size": 2048,
        "url": f"http://testserver/consultations/luat-tiep-can-thong-tin/attachments/{pdf.id}",
    }]
    assert body["topics"] == [{"id": topic.id, "slug": "minh-bach", "name_vi": "Minh bạch", "name_en": "Transparency"}]
    assert "abc123" not in response.text  # the stored file name stays on the server
    scheduled = spec.check("/api/consultations/{consultation_id}", await client.get(f"/api/consultations/{seed.scheduled.id}"))
    assert scheduled["articles"] == [] and scheduled["questions"] == [] and scheduled["status"] == "scheduled"


@pytest.mark.parametrize("suffix", ["", "/comments", "/tallies"])
async def test_drafts_and_unknown_ids_are_a_json_404(client, seed, spec, suffix):
    for consultation_id in (seed.draft.id, 99999999999, 2**31, 999999999999999999999999):
        response = await client.get(f"/api/consultations/{consultation_id}{suffix}")
        assert_error(response, 404)
        assert_api_headers(response)
        spec.check("/api/consultations/{consultation_id}" + suffix, response)
    for path in ("abc", "-1", "1.5", "%00"):
        assert_error(await client.get(f"/api/consultations/{path}{suffix}"), 404)


async def test_router_errors_under_api_are_json(client, seed):
    assert_error(await client.get("/api/nothing-here"), 404)
    refused = await client.post("/api/consultations", json={"title": "x"})
    assert_error(refused, 405)
    assert "GET" in refused.headers["allow"]
    assert await Consultation.all().count() == 4


async def test_a_signed_in_browser_is_not_cached_publicly(client, seed, mailbox):
    from tests.helpers import make_account

    await make_account(client, mailbox, "reader@example.vn")
    response = await client.get("/api/consultations")
    assert_api_headers(response, anonymous=False)


# --- comments ------------------------------------------------------------------------------------


async def test_comments_are_published_ones_only_with_replies_and_no_personal_data(client, seed, spec):
    first = seed.published[0]
    reply = await comment(seed.open, seed.people[2], parent=first, article_id=first.article_id, body="Trả lời công khai")
    await comment(seed.open, seed.people[3], parent=first, status=CommentStatus.PENDING, body="Trả lời chưa duyệt")
    await comment(seed.open, seed.people[3], parent=first, status=CommentStatus.HIDDEN, body="Trả lời đã ẩn")
    orphan = await comment(seed.open, None, stance=Stance.OPPOSE, body="Từ một tài khoản đã xoá")
    await Vote.create(comment=first, account=seed.people[3], value=VoteValue.DISAGREE)
    await Comment.filter(id=first.id).update(disagree_count=1, pass_count=3)

    response = await client.get(f"/api/consultations/{seed.open.id}/comments")
    assert_api_headers(response)
    body = spec.check("/api/consultations/{consultation_id}/comments", response)
    ids = [item["id"] for item in body["items"]]
    assert ids == sorted([c.id for c in seed.published] + [orphan.id], reverse=True) and body["next"] is None
    for hidden in seed.unpublished:
        assert hidden.body not in response.text
    assert "chưa duyệt" not in response.text and "đã ẩn" not in response.text and "bản nháp" not in response.text
    assert "@example.vn" not in response.text and "author_id" not in response.text

    item = next(i for i in body["items"] if i["id"] == first.id)
    assert item["votes"] == {"agree": 2, "disagree": 1, "pass": 3}
    assert item["author_name"] == "Người 0" and item["stance"] == "support" and item["article_id"] == seed.articles[0].id
    assert item["published_at"] == "2026-03-01T08:00:00Z" and item["created_at"].endswith("Z")
    assert [(r["id"], r["parent_id"], r["body"], r["stance"]) for r in item["replies"]] == [(reply.id, first.id, "Trả lời công khai", None)]
    assert next(i for i in body["items"] if i["id"] == orphan.id)["author_name"] is None
    assert reply.id not in ids  # replies only under their comment


@pytest.mark.parametrize("order", ["newest", "agreed"])
async def test_comment_pages_walk_every_comment_exactly_once(client, seed, order):
    items, pages = await walk(client, f"/api/consultations/{seed.open.id}/comments?order={order}&limit=3")
    ids = [item["id"] for item in items]
    assert sorted(ids) == sorted(c.id for c in seed.published) and len(set(ids)) == len(ids)
    assert pages == 4
    if order == "newest":
        assert ids == sorted(ids, reverse=True)
    else:
        keys = [(item["votes"]["agree"], item["id"]) for item in items]
        assert keys == sorted(keys, reverse=True)
        assert items[0]["votes"]["agree"] == 5 and items[-1]["votes"]["agree"] == 0
    on_article, _ = await walk(client, f"/api/consultations/{seed.open.id}/comments?order={order}&article={seed.articles[0].id}&limit=2")
    assert sorted(i["id"] for i in on_article) == sorted(c.id for c in seed.published if c.article_id == seed.articles[0].id)


@pytest.mark.parametrize(
    "query",
    ["order=oldest", "limit=0", "limit=101", "article=abc", "article=99999999999", "after=xyz", "after=1.2.3", "order=agreed&after=12",
     "order=newest&after=2.5", "order=agreed&after=99999999999.1", "order=agreed&after=-1.5", "after=%F0%9F%98%80"],
)
async def test_bad_comment_parameters_are_a_json_400(client, seed, query):
    assert_error(await client.get(f"/api/consultations/{seed.open.id}/comments?{query}"), 400)


async def test_an_article_of_another_consultation_is_refused(client, seed):
    other = await Article.create(consultation=seed.closed, position=1, label="Article 1", body_markdown="x", body_html="<p>x</p>")
    message = assert_error(await client.get(f"/api/consultations/{seed.open.id}/comments?article={other.id}", headers={"Accept-Language": "en"}), 400)
    assert message == "This article is not part of this consultation"


# --- tallies -------------------------------------------------------------------------------------


async def test_tallies_are_what_was_published_and_questions_wait_for_the_close(client, seed, spec):
    q_single = await Question.create(consultation=seed.open, position=1, kind=QuestionKind.SINGLE, prompt="Đồng ý?", options=["Có", "Không"])
    q_scale = await Question.create(consultation=seed.open, position=2, kind=QuestionKind.SCALE, prompt="Mức độ?")
    q_text = await Question.create(consultation=seed.open, position=3, kind=QuestionKind.TEXT, prompt="Ý kiến khác?")
    for person, choice, scale in ((seed.people[0], 0, 5), (seed.people[1], 0, 3), (seed.people[2], 1, 5)):
        response = await QuestionResponse.create(consultation=seed.open, account=person)
        await Answer.create(response=response, question=q_single, option=choice)
        await Answer.create(response=response, question=q_scale, option=scale)
    await Answer.create(response=response, question=q_text, text="Một ý kiến riêng tư")

    url = f"/api/consultations/{seed.open.id}/tallies"
    response = await client.get(url)
    assert_api_headers(response)
    body = spec.check("/api/consultations/{consultation_id}/tallies", response)
    expected = {None: {"total": 0, "support": 0, "oppose": 0, "change": 0}}
    expected |= {a.id: {"total": 0, "support": 0, "oppose": 0, "change": 0} for a in seed.articles}
    for c in seed.published:
        expected[c.article_id]["total"] += 1
        expected[c.article_id][c.stance.value] += 1
    assert {row["article_id"]: {k: row[k] for k in ("total", "support", "oppose", "change")} for row in body["articles"]} == expected
    assert [row["article_id"] for row in body["articles"]] == [None] + [a.id for a in seed.articles]
    assert [row["label"] for row in body["articles"]] == [None, "Điều 1", "Điều 2", "Điều 3"]
    assert body["comments_total"] == len(seed.published) == 10
    assert body["status"] == "open" and body["questions"] is None and body["responses"] is None and body["questions_available"] is False

    await Consultation.filter(id=seed.open.id).update(status=ConsultationStatus.CLOSED)
    closed = spec.check("/api/consultations/{consultation_id}/tallies", await client.get(url))
    assert closed["questions_available"] is True and closed["responses"] == 3
    results = {q["id"]: q for q in closed["questions"]}
    assert [r["count"] for r in results[q_single.id]["results"]] == [2, 1] and results[q_single.id]["answered"] == 3
    assert [(r["value"], r["count"]) for r in results[q_scale.id]["results"]] == [(1, 0), (2, 0), (3, 1), (4, 0), (5, 2)]
    assert results[q_text.id]["results"] == [] and results[q_text.id]["answered"] == 1
    assert "riêng tư" not in (await client.get(url)).text
    assert closed["articles"] == body["articles"]


async def test_tallies_match_the_consultation_page(client, seed):
    api = (await client.get(f"/api/consultations/{seed.open.id}/tallies")).json()
    page = await client.get(f"/consultations/{seed.open.slug}")
    assert page.status_code == 200
    shown = {
        int(m["article"]): {k: int(m[k]) for k in ("total", "support", "oppose", "change")}
        for m in re.finditer(r'data-article="(?P<article>\d+)" data-total="(?P<total>\d+)" data-support="(?P<support>\d+)" '
                             r'data-oppose="(?P<oppose>\d+)" data-change="(?P<change>\d+)"', page.text)
    }
    assert shown, "the page no longer carries its article tallies in data- attributes"
    from_api = {row["article_id"]: {k: row[k] for k in ("total", "support", "oppose", "change")} for row in api["articles"] if row["article_id"]}
    assert shown == from_api


async def test_next_links_use_the_configured_base_url(client, seed, settings):
    body = (await client.get(f"/api/consultations/{seed.open.id}/comments?limit=2&order=agreed&article={seed.articles[0].id}")).json()
    parts = urlsplit(body["next"])
    assert f"{parts.scheme}://{parts.netloc}" == settings.base_url
    assert parts.path == f"/api/consultations/{seed.open.id}/comments"
    assert "order=agreed" in parts.query and f"article={seed.articles[0].id}" in parts.query and "limit=2" in parts.query
