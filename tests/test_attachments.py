"""PDF attachments: uploaded while the draft can change, checked by their first bytes and their size,
stored under a random name, and downloaded with their own name once the consultation is public."""

import hashlib
from urllib.parse import quote

import httpx
import pytest

import main
from consult import queries
from consult.models import Agency, Attachment, AuditEntry, Consultation, ConsultationStatus
from tests.helpers import csrf_from, make_account, post_form, text_of, title_of
from tests.site import new_draft

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
MIB = 1024 * 1024


async def upload(client: httpx.AsyncClient, consultation_id: int, content: bytes, filename: str = "Tờ trình dự thảo.pdf",
                 title: str = "Tờ trình", content_type: str = "application/pdf") -> httpx.Response:
    """Sends the upload form as a browser does: multipart, with the page's CSRF token."""
    page = await client.get(f"/manage/{consultation_id}")
    return await client.post(
        f"/manage/{consultation_id}/attachments",
        data={"title": title, "csrf_token": csrf_from(page.text)},
        files={"file": (filename, content, content_type)},
    )


def stored_files(settings) -> set[str]:
    folder = settings.upload_path
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


async def official_with_draft(client, mailbox) -> tuple[Agency, int]:
    agency = await Agency.create(slug="bo-tu-phap", name_vi="Bộ Tư pháp", name_en="Ministry of Justice")
    await make_account(client, mailbox, "canbo@example.vn", "Cán bộ", role="official", agency_id=agency.id)
    draft_id, _ = await new_draft(agency.id)
    return agency, draft_id


async def test_a_pdf_is_stored_by_a_random_name_and_downloaded_with_its_own(client, new_client, mailbox, settings):
    _, draft_id = await official_with_draft(client, mailbox)
    before = stored_files(settings)
    # The name and the declared type do not decide: the first bytes do.
    added = await upload(client, draft_id, PDF, filename="C:\\fakepath\\Tờ trình dự thảo.pdf", content_type="application/octet-stream")
    assert added.status_code == 303 and added.headers["location"] == f"/manage/{draft_id}#attachments"

    attachment = await Attachment.get(consultation_id=draft_id)
    assert (attachment.title, attachment.filename, attachment.size) == ("Tờ trình", "Tờ trình dự thảo.pdf", len(PDF))
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest() and "Tờ" not in attachment.stored_name
    assert stored_files(settings) - before == {attachment.stored_name}  # no temporary file left behind
    assert (settings.upload_path / attachment.stored_name).read_bytes() == PDF
    assert await AuditEntry.filter(action="attachment.add", target_id=str(draft_id)).exists()
    assert await queries.consultation_attachments(draft_id) == [
        {"id": attachment.id, "title": "Tờ trình", "filename": "Tờ trình dự thảo.pdf", "size": len(PDF)}
    ]

    edit_page = await client.get(f"/manage/{draft_id}")
    assert f'href="/manage/attachments/{attachment.id}"' in edit_page.text and "Tờ trình dự thảo.pdf" in text_of(edit_page.text)
    assert f'href="/manage/attachments/{attachment.id}"' in (await client.get(f"/manage/{draft_id}/preview")).text

    own = await client.get(f"/manage/attachments/{attachment.id}")
    assert own.status_code == 200 and own.content == PDF
    assert own.headers["content-type"] == "application/pdf"
    assert own.headers["x-content-type-options"] == "nosniff"
    assert own.headers["content-disposition"] == f"attachment; filename=\"to-trinh-du-thao.pdf\"; filename*=UTF-8''{quote('Tờ trình dự thảo.pdf', safe='')}"

    slug = (await Consultation.get(id=draft_id)).slug
    public_url = f"/consultations/{slug}/attachments/{attachment.id}"
    anonymous = new_client()
    assert (await anonymous.get(public_url)).status_code == 404  # a draft's files are not public
    assert (await anonymous.get(f"/manage/attachments/{attachment.id}")).status_code == 303  # sign in first
    await Consultation.filter(id=draft_id).update(status=ConsultationStatus.OPEN)
    public = await anonymous.get(public_url)
    assert public.status_code == 200 and public.content == PDF and public.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''T%E1%BB%9D" in public.headers["content-disposition"]
    assert (await anonymous.get(f"/consultations/other-slug/attachments/{attachment.id}")).status_code == 404
    assert (await anonymous.get(f"/consultations/{slug}/attachments/999999")).status_code == 404


async def test_the_title_defaults_to_the_file_name(client, mailbox):
    _, draft_id = await official_with_draft(client, mailbox)
    assert (await upload(client, draft_id, PDF, filename="Phụ lục 1.PDF", title="  ")).status_code == 303
    attachment = await Attachment.get(consultation_id=draft_id)
    assert (attachment.title, attachment.filename) == ("Phụ lục 1", "Phụ lục 1.pdf")


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "gia-mao.pdf", "Tệp đã chọn phải là tệp PDF"),
        (b"%PD", "ngan.pdf", "Tệp đã chọn phải là tệp PDF"),
        (b"", "rong.pdf", "Tệp đã chọn không có nội dung"),
        (b"", "", "Vui lòng chọn tệp PDF để tải lên"),  # what a browser sends when no file was chosen
    ],
)
async def test_what_is_not_a_pdf_is_refused_and_nothing_is_kept(client, mailbox, settings, content, filename, message):
    _, draft_id = await official_with_draft(client, mailbox)
    before = stored_files(settings)
    refused = await upload(client, draft_id, content, filename=filename, title="Tiêu đề đã gõ")
    assert refused.status_code == 400 and title_of(refused.text).startswith("Lỗi:")
    assert message in text_of(refused.text) and 'id="attachment_file-error"' in refused.text and 'href="#attachment_file"' in refused.text
    assert 'id="attachment_title" name="title" type="text" value="Tiêu đề đã gõ"' in refused.text  # the form keeps what was typed
    assert await Attachment.all().count() == 0 and stored_files(settings) == before


@pytest.fixture
async def one_mib_app(settings):
    """The app with a 1 MiB attachment limit; other forms keep the usual 1 MiB body limit."""
    small = main.create_app(settings.with_changes(attachment_max_bytes=MIB, max_body_bytes=MIB))
    yield small
    await small.state.rate_limiter.close()


async def test_a_file_over_the_limit_is_refused_with_the_limit_in_megabytes(client, mailbox, settings, one_mib_app):
    _, draft_id = await official_with_draft(client, mailbox)
    before = stored_files(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=one_mib_app), base_url="http://testserver", cookies=client.cookies) as small:
        fits = await upload(small, draft_id, PDF + b"0" * (MIB - len(PDF)))  # exactly the limit: the form fields fit beside it
        assert fits.status_code == 303

        just_over = await upload(small, draft_id, PDF + b"0" * (MIB - len(PDF) + 1), title="Phụ lục lớn")
        assert just_over.status_code == 400 and "Tệp không được lớn hơn 1 MB" in text_of(just_over.text)
        assert 'value="Phụ lục lớn"' in just_over.text

        # Far over: the body is refused while it arrives, and the person still reads why.
        far_over = await upload(small, draft_id, PDF + b"0" * (3 * MIB))
        assert far_over.status_code == 413 and "Tệp không được lớn hơn 1 MB" in text_of(far_over.text)
        assert 'id="attachment_file-error"' in far_over.text

        # The allowance is for the upload form only: any other form keeps the small limit.
        page = await small.get(f"/manage/{draft_id}")
        other = await small.post(f"/manage/{draft_id}/questions", data={"csrf_token": csrf_from(page.text), "prompt": "x" * (MIB + 10)})
        assert other.status_code == 413
    assert await Attachment.filter(consultation_id=draft_id).count() == 1
    assert len(stored_files(settings) - before) == 1


async def test_attachments_are_removed_while_editable_and_frozen_after_opening(client, new_client, mailbox, settings):
    _, draft_id = await official_with_draft(client, mailbox)
    for title in ("Tờ trình", "Phụ lục"):
        await upload(client, draft_id, PDF, title=title)
    first, second = await Attachment.filter(consultation_id=draft_id).order_by("id")

    other = new_client()
    other_agency = await Agency.create(slug="bo-khac", name_vi="Bộ khác", name_en="Other ministry")
    await make_account(other, mailbox, "khac@example.vn", "Cán bộ khác", role="official", agency_id=other_agency.id)
    assert (await other.get(f"/manage/attachments/{first.id}")).status_code == 403
    assert (await post_form(other, f"/manage/attachments/{first.id}/remove", {}, page="/manage")).status_code == 403
    assert (await upload_as_stranger(other, draft_id)).status_code == 403

    removed = await post_form(client, f"/manage/attachments/{second.id}/remove", {}, page=f"/manage/{draft_id}")
    assert removed.status_code == 303
    assert not await Attachment.filter(id=second.id).exists()
    assert not (settings.upload_path / second.stored_name).exists()
    assert await AuditEntry.filter(action="attachment.remove", target_id=str(draft_id)).exists()

    await Consultation.filter(id=draft_id).update(status=ConsultationStatus.OPEN)
    frozen = await upload(client, draft_id, PDF, title="Thêm sau khi mở")
    assert frozen.status_code == 409 and "Không thể sửa nội dung sau khi đã bắt đầu lấy ý kiến" in text_of(frozen.text)
    kept = await post_form(client, f"/manage/attachments/{first.id}/remove", {}, page=f"/manage/{draft_id}")
    assert kept.status_code == 303
    assert await Attachment.filter(consultation_id=draft_id).count() == 1
    assert (settings.upload_path / first.stored_name).read_bytes() == PDF


async def upload_as_stranger(client: httpx.AsyncClient, consultation_id: int) -> httpx.Response:
    """An upload to another agency's draft, with a valid token of the stranger's own session."""
    page = await client.get("/manage")
    return await client.post(
        f"/manage/{consultation_id}/attachments", data={"title": "X", "csrf_token": csrf_from(page.text)}, files={"file": ("x.pdf", PDF, "application/pdf")}
    )


async def test_an_upload_without_the_form_token_is_refused(client, mailbox):
    _, draft_id = await official_with_draft(client, mailbox)
    forged = await client.post(f"/manage/{draft_id}/attachments", data={"title": "X"}, files={"file": ("x.pdf", PDF, "application/pdf")})
    assert forged.status_code == 403
    assert await Attachment.all().count() == 0
