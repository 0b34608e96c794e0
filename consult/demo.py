"""Demonstration data: two agencies, consultations in Vietnamese and English, and one account per role.

Safe to run twice: everything is found by its e-mail or short name before it is created. The accounts
share one password, generated on the first run into <data_dir>/demo_password and printed each time.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from tortoise.transactions import in_transaction

from consult import demo_outcome, security
from consult.models import Account, Agency, Consultation, ConsultationKind, ConsultationStatus, Role, RoleGrant
from consult.settings import Settings

AGENCIES = [
    ("bo-tu-phap", "Bộ Tư pháp", "Ministry of Justice"),
    ("so-giao-thong-van-tai-ha-noi", "Sở Giao thông Vận tải Hà Nội", "Hanoi Department of Transport"),
]

CONSULTATIONS = [
    {
        "slug": "du-thao-luat-tiep-can-thong-tin-sua-doi",
        "agency": "bo-tu-phap",
        "title": "Dự thảo Luật Tiếp cận thông tin (sửa đổi)",
        "summary": "Lấy ý kiến nhân dân về dự thảo sửa đổi Luật Tiếp cận thông tin: thời hạn cung cấp thông tin, "
        "thông tin được công khai trên mạng và chi phí sao chụp tài liệu.",
        "kind": ConsultationKind.LEGAL_TEXT,
        "language": "vi",
        "status": ConsultationStatus.OPEN,
        "opens": -10,
        "closes": 20,
    },
    {
        "slug": "cai-cach-thu-tuc-dang-ky-ho-tich-truc-tuyen",
        "agency": "bo-tu-phap",
        "title": "Thiết kế dịch vụ đăng ký hộ tịch trực tuyến",
        "summary": "Góp ý về quy trình đăng ký khai sinh và kết hôn trực tuyến: các bước, giấy tờ cần nộp và cách nhận kết quả.",
        "kind": ConsultationKind.SERVICE_DESIGN,
        "language": "vi",
        "status": ConsultationStatus.OPEN,
        "opens": -3,
        "closes": 5,
    },
    {
        "slug": "hanoi-low-emission-zone",
        "agency": "so-giao-thong-van-tai-ha-noi",
        "title": "Low-emission zone in the Hoan Kiem district",
        "summary": "Proposed rules for a low-emission zone: which vehicles may enter, at what times, and the support offered "
        "to people who must replace a motorbike.",
        "kind": ConsultationKind.POLICY,
        "language": "en",
        "status": ConsultationStatus.OPEN,
        "opens": -1,
        "closes": 30,
    },
    {
        "slug": "quy-hoach-diem-do-xe-cong-cong",
        "agency": "so-giao-thong-van-tai-ha-noi",
        "title": "Quy hoạch điểm đỗ xe công cộng nội đô",
        "summary": "Phương án bố trí điểm đỗ xe công cộng và mức phí theo giờ tại các quận nội thành.",
        "kind": ConsultationKind.POLICY,
        "language": "vi",
        "status": ConsultationStatus.SCHEDULED,
        "opens": 7,
        "closes": 37,
    },
    {
        "slug": "gio-hoat-dong-cho-dem-pho-co",
        "agency": "so-giao-thong-van-tai-ha-noi",
        "title": "Phân luồng giao thông khu chợ đêm phố cổ",
        "summary": "Phương án cấm xe, điểm trông giữ xe và giờ hoạt động của các tuyến phố đi bộ vào tối cuối tuần.",
        "kind": ConsultationKind.POLICY,
        "language": "vi",
        "status": ConsultationStatus.CLOSED,
        "opens": -40,
        "closes": -5,
    },
]

ACCOUNTS = [
    ("admin@demo.consult.invalid", "Quản trị viên", [(Role.ADMIN, None)]),
    ("canbo@demo.consult.invalid", "Cán bộ Bộ Tư pháp", [(Role.OFFICIAL, "bo-tu-phap")]),
    ("official@demo.consult.invalid", "Transport official", [(Role.OFFICIAL, "so-giao-thong-van-tai-ha-noi")]),
    ("kiemduyet@demo.consult.invalid", "Kiểm duyệt viên", [(Role.MODERATOR, None)]),
    ("nguoidan1@demo.consult.invalid", "Hoa Sen", []),
    ("nguoidan2@demo.consult.invalid", "Minh Anh", []),
    ("citizen@demo.consult.invalid", "River Walker", []),
]


def demo_password(settings: Settings) -> str:
    path = settings.data_path / "demo_password"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    settings.data_path.mkdir(parents=True, exist_ok=True)
    password = "demo-" + secrets.token_urlsafe(9)
    path.write_text(password + "\n", encoding="ascii")
    return password


async def load(settings: Settings) -> str:
    password = demo_password(settings)
    now = datetime.now(timezone.utc)
    created = 0
    async with in_transaction():
        agencies = {}
        for slug, name_vi, name_en in AGENCIES:
            agency, made = await Agency.get_or_create(slug=slug, defaults={"name_vi": name_vi, "name_en": name_en})
            agencies[slug] = agency
            created += made
        password_hash = security.hash_password(password)
        for email, name, roles in ACCOUNTS:
            account, made = await Account.get_or_create(
                email=email,
                defaults={"display_name": name, "password_hash": password_hash, "email_verified_at": now, "language": None},
            )
            created += made
            for role, agency_slug in roles:
                _, made = await RoleGrant.get_or_create(
                    account=account, role=role, agency=agencies[agency_slug] if agency_slug else None
                )
                created += made
        for item in CONSULTATIONS:
            _, made = await Consultation.get_or_create(
                slug=item["slug"],
                defaults={
                    "agency": agencies[item["agency"]],
                    "title": item["title"],
                    "summary": item["summary"],
                    "kind": item["kind"],
                    "language": item["language"],
                    "status": item["status"],
                    "opens_at": now + timedelta(days=item["opens"]),
                    "closes_at": now + timedelta(days=item["closes"]),
                },
            )
            created += made
    admin = await Account.get(email=ACCOUNTS[0][0])
    if await demo_outcome.load(settings, admin.id):
        created += 1
    lines = [f"Demo data loaded ({created} new records). Every demo account's password: {password}"]
    lines.append(f"  A finished consultation, with its report, answer and open data: /consultations/{demo_outcome.SLUG}")
    lines += [f"  {email}" for email, _, _ in ACCOUNTS]
    return "\n".join(lines)
