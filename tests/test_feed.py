"""The Atom feed of consultations: well-formed XML, public consultations only, newest first, in the
reader's language, linked from every page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from consult.models import Agency, Consultation, ConsultationKind, ConsultationStatus
from tests.test_security_headers import header_problems

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED = "/consultations/feed.atom"


async def make(agency: Agency, slug: str, status=ConsultationStatus.OPEN, **values) -> Consultation:
    return await Consultation.create(
        agency=agency, slug=slug, title=values.pop("title", f"Đợt {slug}"), summary=values.pop("summary", "Tóm tắt."),
        kind=ConsultationKind.POLICY, language=values.pop("language", "vi"), status=status, **values,
    )


def parse(response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root


def rfc3339(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text)


async def test_the_feed_lists_public_consultations_newest_first(client):
    agency = await Agency.create(slug="bo-tu-phap", name_vi="Bộ Tư pháp", name_en="Ministry of Justice")
    first = await make(agency, "mot", title="Dự thảo <Luật> & \"quy định\"", summary="Tóm tắt <b>không phải HTML</b>")
    second = await make(agency, "hai", ConsultationStatus.CLOSED, title="Low-emission zone", language="en")
    await make(agency, "nhap", ConsultationStatus.DRAFT, title="Bản nháp bí mật")

    response = await client.get(FEED)
    root = parse(response)
    assert root.get(XML_LANG) == "vi"
    assert root.findtext(f"{ATOM}title") == "Các đợt lấy ý kiến – Consult"
    assert root.findtext(f"{ATOM}id").startswith("tag:testserver,")
    rfc3339(root.findtext(f"{ATOM}updated"))
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"self": "http://testserver/consultations/feed.atom", "alternate": "http://testserver/consultations"}

    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Low-emission zone", 'Dự thảo <Luật> & "quy định"']
    assert "Bản nháp" not in response.text
    newest, oldest = entries
    assert oldest.findtext(f"{ATOM}summary") == "Tóm tắt <b>không phải HTML</b>"  # text, escaped, not markup
    assert oldest.find(f"{ATOM}link").get("href") == "http://testserver/consultations/mot"
    assert oldest.find(f"{ATOM}author").findtext(f"{ATOM}name") == "Bộ Tư pháp"
    assert newest.find(f"{ATOM}title").get(XML_LANG) == "en"
    assert newest.find(f"{ATOM}category").get("term") == "closed" and newest.find(f"{ATOM}category").get("label") == "Đã kết thúc"
    assert oldest.findtext(f"{ATOM}id") != newest.findtext(f"{ATOM}id") and oldest.findtext(f"{ATOM}id").endswith(f"consultation:{first.id}")
    assert rfc3339(newest.findtext(f"{ATOM}updated")) == (await Consultation.get(id=second.id)).updated_at
    assert rfc3339(root.findtext(f"{ATOM}updated")) == max(rfc3339(e.findtext(f"{ATOM}updated")) for e in entries)

    assert response.headers["cache-control"] == "public, max-age=60"
    assert "Accept-Language" in response.headers["vary"]
    assert header_problems(response, https=False) == []


async def test_the_feed_follows_the_reader_language(client):
    agency = await Agency.create(slug="bo-tu-phap", name_vi="Bộ Tư pháp", name_en="Ministry of Justice")
    await make(agency, "mot")
    root = parse(await client.get(FEED, headers={"Accept-Language": "en"}))
    assert root.get(XML_LANG) == "en"
    assert root.findtext(f"{ATOM}title") == "Consultations – Consult"
    entry = root.find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}author").findtext(f"{ATOM}name") == "Ministry of Justice"
    assert entry.find(f"{ATOM}title").get(XML_LANG) == "vi"  # the consultation's own language
    assert entry.find(f"{ATOM}category").get("label") == "Open"


async def test_the_feed_holds_the_latest_fifty(client):
    agency = await Agency.create(slug="bo-tu-phap", name_vi="Bộ Tư pháp", name_en="Ministry of Justice")
    made = [await make(agency, f"dot-{i}", ConsultationStatus.CLOSED) for i in range(55)]
    entries = parse(await client.get(FEED)).findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id").rsplit(":", 1)[1] for e in entries] == [str(c.id) for c in reversed(made)][:50]


async def test_an_empty_feed_is_still_a_valid_feed(client):
    root = parse(await client.get(FEED))
    assert root.findall(f"{ATOM}entry") == []
    rfc3339(root.findtext(f"{ATOM}updated"))


async def test_every_page_links_to_the_feed(client):
    for path in ("/", "/consultations", "/privacy"):
        page = await client.get(path)
        assert '<link rel="alternate" type="application/atom+xml" href="/consultations/feed.atom"' in page.text, path
