"""The optional, self-declared profile fields that reports break figures down by.

Provinces are Viet Nam's 34 provincial-level units since the 2025 reorganisation (Resolution
202/2025/QH15), plus "outside Viet Nam". Proper names are not translated through the catalog: the
English name is the Vietnamese one without its marks, as official English documents write it.
"""

from __future__ import annotations

import re
import unicodedata

from consult.i18n import gettext as _

# code, Vietnamese name, English name; in the order of the resolution's list (north to south).
PROVINCES: tuple[tuple[str, str, str], ...] = (
    ("ha-noi", "Thành phố Hà Nội", "Ha Noi City"),
    ("hue", "Thành phố Huế", "Hue City"),
    ("lai-chau", "Lai Châu", "Lai Chau"),
    ("dien-bien", "Điện Biên", "Dien Bien"),
    ("son-la", "Sơn La", "Son La"),
    ("lang-son", "Lạng Sơn", "Lang Son"),
    ("quang-ninh", "Quảng Ninh", "Quang Ninh"),
    ("thanh-hoa", "Thanh Hóa", "Thanh Hoa"),
    ("nghe-an", "Nghệ An", "Nghe An"),
    ("ha-tinh", "Hà Tĩnh", "Ha Tinh"),
    ("cao-bang", "Cao Bằng", "Cao Bang"),
    ("tuyen-quang", "Tuyên Quang", "Tuyen Quang"),
    ("lao-cai", "Lào Cai", "Lao Cai"),
    ("thai-nguyen", "Thái Nguyên", "Thai Nguyen"),
    ("phu-tho", "Phú Thọ", "Phu Tho"),
    ("bac-ninh", "Bắc Ninh", "Bac Ninh"),
    ("hung-yen", "Hưng Yên", "Hung Yen"),
    ("hai-phong", "Thành phố Hải Phòng", "Hai Phong City"),
    ("ninh-binh", "Ninh Bình", "Ninh Binh"),
    ("quang-tri", "Quảng Trị", "Quang Tri"),
    ("da-nang", "Thành phố Đà Nẵng", "Da Nang City"),
    ("quang-ngai", "Quảng Ngãi", "Quang Ngai"),
    ("gia-lai", "Gia Lai", "Gia Lai"),
    ("khanh-hoa", "Khánh Hòa", "Khanh Hoa"),
    ("lam-dong", "Lâm Đồng", "Lam Dong"),
    ("dak-lak", "Đắk Lắk", "Dak Lak"),
    ("ho-chi-minh", "Thành phố Hồ Chí Minh", "Ho Chi Minh City"),
    ("dong-nai", "Đồng Nai", "Dong Nai"),
    ("tay-ninh", "Tây Ninh", "Tay Ninh"),
    ("can-tho", "Thành phố Cần Thơ", "Can Tho City"),
    ("vinh-long", "Vĩnh Long", "Vinh Long"),
    ("dong-thap", "Đồng Tháp", "Dong Thap"),
    ("ca-mau", "Cà Mau", "Ca Mau"),
    ("an-giang", "An Giang", "An Giang"),
    ("abroad", "Ngoài Việt Nam", "Outside Viet Nam"),
)
PROVINCE_CODES = frozenset(code for code, _vi, _en in PROVINCES)

RESPONDENT_KINDS = ("individual", "business", "organisation", "public_body", "expert")


def province_name(code: str | None, language: str) -> str:
    for value, name_vi, name_en in PROVINCES:
        if value == code:
            return name_en if language == "en" else name_vi
    return ""


def _plain(text: str) -> str:
    """Lower case without marks, "Thành phố" / "Tỉnh" / "City" / "Province" dropped: how an address names a province."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    words = [w for w in re.split(r"[^a-z0-9]+", bare) if w]
    while words[:2] == ["thanh", "pho"] or words[:1] in (["tinh"], ["tp"]):
        words = words[2:] if words[0] == "thanh" else words[1:]
    while words[-1:] in (["city"], ["province"]):
        words = words[:-1]
    return " ".join(words)


_BY_NAME = {_plain(name): code for code, name_vi, name_en in PROVINCES for name in (name_vi, name_en, code.replace("-", " "))}


def province_code(name: str) -> str:
    """The code of the province an address names ("Thành phố Huế", "TP. Hồ Chí Minh", "Hue City"), or "" if none matches."""
    return _BY_NAME.get(_plain(name), "") if name else ""


def province_choices(language: str) -> list[tuple[str, str]]:
    return [(code, name_en if language == "en" else name_vi) for code, name_vi, name_en in PROVINCES]


def respondent_kind_label(code: str | None) -> str:
    labels = {
        "individual": _("A private person"),
        "business": _("A business"),
        "organisation": _("An association or non-profit organisation"),
        "public_body": _("A public body"),
        "expert": _("A researcher or expert"),
    }
    return labels.get(code or "", "")


def respondent_kind_choices() -> list[tuple[str, str]]:
    return [(code, respondent_kind_label(code)) for code in RESPONDENT_KINDS]
