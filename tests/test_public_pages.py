"""The public list of consultations (filters, search, keyset pages) and a consultation's page."""

from datetime import datetime, timedelta, timezone

from consult import demo
from consult.models import Agency, Article, Consultation, ConsultationKind, ConsultationStatus
from consult.text.sanitize import markdown_to_html
from tests.helpers import text_of


async def test_list_filters_search_and_pages(client, settings):
    await demo.load(settings)
    page = await client.get("/consultations")
    text = text_of(page.text)
    assert "Dự thảo Luật Tiếp cận thông tin (sửa đổi)" in text and "Quy hoạch điểm đỗ xe công cộng nội đô" in text
    transport = await Agency.get(slug="so-giao-thong-van-tai-ha-noi")
    only_open = text_of((await client.get(f"/consultations?status=open&agency={transport.id}")).text)
    assert "Low-emission zone in the Hoan Kiem district" in only_open and "Quy hoạch điểm đỗ xe" not in only_open
    search = text_of((await client.get("/consultations?q=hộ tịch")).text)
    assert "Thiết kế dịch vụ đăng ký hộ tịch trực tuyến" in search and "Low-emission" not in search
    assert "Không có đợt lấy ý kiến nào phù hợp." in text_of((await client.get("/consultations?q=không-có-gì-cả")).text)
    # Nonsense filters are ignored rather than failing.
    assert (await client.get("/consultations?agency=abc&kind=poem&status=deleted&after=-5")).status_code == 200

    agency = await Agency.get(slug="bo-tu-phap")
    for i in range(45):
        await Consultation.create(agency=agency, slug=f"extra-{i}", title=f"Đợt bổ sung {i:02d}", summary="x",
                                  kind=ConsultationKind.POLICY, language="vi", status=ConsultationStatus.CLOSED)
    seen, url = [], "/consultations?status=closed"
    while url:
        html = (await client.get(url)).text
        seen.append(html.count('class="card"'))
        marker = 'href="/consultations?'
        url = None
        if "Xem thêm" in html:
            start = html.index(marker, html.index("Xem thêm") - 200) + len('href="')
            url = html[start:html.index('"', start)].replace("&amp;", "&")
    assert sum(seen) == 46 and seen[0] == 20  # 45 and the demo's closed one


async def test_consultation_page_shows_articles_and_hides_drafts(client, settings):
    await demo.load(settings)
    open_one = await Consultation.get(slug="hanoi-low-emission-zone")
    await Article.create(consultation=open_one, position=1, label="Article 1", title="Scope",
                         body_markdown="x", body_html=markdown_to_html("Applies to **motorbikes** <script>alert(1)</script>"))
    await Consultation.filter(id=open_one.id).update(closes_at=datetime.now(timezone.utc) + timedelta(days=3, hours=1))
    page = await client.get("/consultations/hanoi-low-emission-zone")
    assert page.status_code == 200
    assert "<strong>motorbikes</strong>" in page.text and "<script>alert" not in page.text
    assert "sau 3 ngày nữa" in text_of(page.text)  # the countdown, in words
    draft = await Consultation.create(agency_id=open_one.agency_id, slug="chua-cong-bo", title="Bí mật", summary="x",
                                      kind=ConsultationKind.POLICY, language="vi")
    assert (await client.get(f"/consultations/{draft.slug}")).status_code == 404
    home = await client.get("/")
    assert 'href="/consultations/hanoi-low-emission-zone"' in home.text
    await Consultation.filter(id=open_one.id).update(closes_at=datetime.now(timezone.utc) + timedelta(hours=5))
    assert "sau 5 giờ nữa" in text_of((await client.get("/")).text)


async def test_home_lists_open_consultations_closing_soonest_first_then_the_recently_closed(client, settings):
    await demo.load(settings)
    text = text_of((await client.get("/")).text)
    open_part, _, closed_part = text.partition("Vừa kết thúc")
    assert open_part.index("Thiết kế dịch vụ đăng ký hộ tịch trực tuyến") < open_part.index("Dự thảo Luật Tiếp cận thông tin")  # 5 days before 20
    assert "Phân luồng giao thông khu chợ đêm phố cổ" in closed_part and "Phân luồng giao thông" not in open_part
    assert "Đã kết thúc ngày" in closed_part
