"""Personal data rules: what is found, exactly where, and what is not (the numbers of ordinary policy comments)."""

import time

import pytest

from moderation.rules import SignalKind
from consult.text.redaction import redact
from moderation.rules.personal_data import find_personal_data, luhn_valid


def found(text: str) -> dict[str, list[str]]:
    """rule -> the matched pieces of text."""
    return {s.rule: [text[a:b] for a, b in s.spans] for s in find_personal_data(text)}


def signal(text: str, rule: str):
    matches = [s for s in find_personal_data(text) if s.rule == rule]
    assert len(matches) == 1, find_personal_data(text)
    return matches[0]


# --- e-mail -------------------------------------------------------------------------------------------------------

def test_email():
    text = "Liên hệ tôi qua nguyen.van-a+gopy@gmail.com nhé."
    s = signal(text, "pii.email")
    assert s.kind is SignalKind.PERSONAL_DATA
    assert s.spans == ((16, 43),)
    assert text[16:43] == "nguyen.van-a+gopy@gmail.com"
    assert s.score >= 0.9


@pytest.mark.parametrize("written", [
    "ten [at] gmail [dot] com",
    "ten @ gmail . com",
    "ten (at) gmail (dot) com",
    "tran.b (at) yahoo (dot) com.vn",
    "ten{at}gmail{dot}com",
    "ten a còng gmail chấm com",
])
def test_obfuscated_email(written):
    text = f"Email của tôi: {written}, cảm ơn"
    assert found(text) == {"pii.email": [written]}


def test_email_of_a_public_body_scores_low():
    assert signal("Gửi góp ý về gopy@moj.gov.vn", "pii.email").score < 0.5


def test_email_domain_alone_is_not_an_email():
    assert found("Xem trên trang gmail.com hoặc vnexpress.net") == {}


# --- phones -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("number", [
    "0912345678", "0912 345 678", "091.234.5678", "0912-345-678", "+84 912-345-678", "+84912345678",
    "(+84) 912 345 678", "+84 (0) 912 345 678", "84912345678", "0384 567 890", "0868.123.456",
    "024 3825 1234", "(028) 3822 1234", "0084 912 345 678",
])
def test_vietnamese_phone_numbers(number):
    text = f"Gọi cho tôi theo số {number} vào buổi tối."
    start = text.index(number)
    s = signal(text, "pii.phone")
    assert s.spans == ((start, start + len(number)),)


@pytest.mark.parametrize("number", ["+1 202 555 0143", "+44 20 7946 0958", "+33 1 23 45 67 89", "+8613812345678"])
def test_international_phone_numbers(number):
    assert found(f"Call me at {number} please") == {"pii.phone": [number]}


def test_phone_context_raises_the_score():
    assert signal("SĐT: 0912345678", "pii.phone").score > signal("0912345678", "pii.phone").score


def test_two_phone_numbers_side_by_side():
    assert found("0912 345 678 0987 654 321") == {"pii.phone": ["0912 345 678", "0987 654 321"]}


def test_a_year_before_a_phone_number_is_not_part_of_it():
    assert found("năm 2025 0912345678") == {"pii.phone": ["0912345678"]}


# --- citizen ID ---------------------------------------------------------------------------------------------------

def test_citizen_id_with_context():
    text = "Số CCCD của tôi là 001099012345."
    s = signal(text, "pii.citizen_id")
    assert s.spans == ((19, 31),)
    assert s.score >= 0.9


def test_citizen_id_context_after_the_number():
    assert signal("079203001234 là số định danh của tôi", "pii.citizen_id").score >= 0.9


def test_citizen_id_without_context_scores_lower():
    plain = signal("Mã 001099012345 đã gửi", "pii.citizen_id")
    assert 0 < plain.score < signal("căn cước 001099012345", "pii.citizen_id").score


def test_twelve_digits_without_a_province_code_are_not_a_citizen_id():
    assert found("Mã 100099012345 đã gửi") == {}


@pytest.mark.parametrize("text", ["CMND 012345678", "chứng minh nhân dân số 012 345 678", "Số CMT: 123456789"])
def test_old_nine_digit_id_with_context(text):
    assert signal(text, "pii.citizen_id").score >= 0.85


def test_nine_digits_without_context_score_low():
    assert signal("mã 123456789", "pii.citizen_id").score <= 0.3


# --- bank cards and accounts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("digits, valid", [
    ("4111111111111111", True), ("5555555555554444", True), ("79927398713", True), ("79927398710", False),
    ("4111111111111112", False), ("", False), ("12a4", False), ("٤١١١", False),
])
def test_luhn(digits, valid):
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "5555 5555 5555 4444"])
def test_bank_card(card):
    text = f"Thẻ của tôi {card} hết hạn"
    s = signal(text, "pii.bank_card")
    assert s.spans == ((12, 12 + len(card)),)


def test_card_number_failing_luhn_is_not_a_card():
    assert found("Thẻ 4111 1111 1111 1112") == {}


@pytest.mark.parametrize("text, number", [
    ("STK 0123456789 Vietcombank", "0123456789"),
    ("Số tài khoản: 19036282828018 Techcombank", "19036282828018"),
    ("chuyển khoản BIDV 12010000123456", "12010000123456"),
    ("Agribank 1234 5678 9012", "1234 5678 9012"),
    ("MB 0912345678 (chủ tài khoản Nguyễn Văn A)", "0912345678"),
    ("account 12345678 at ACB", "12345678"),
])
def test_bank_account_needs_context(text, number):
    assert found(text) == {"pii.bank_account": [number]}


def test_long_number_without_bank_context_is_not_an_account():
    assert found("Mã hồ sơ 19036282828018") == {}


def test_account_context_belongs_to_the_number_after_it():
    assert found("STK: 123456, SĐT 0912345678") == {"pii.phone": ["0912345678"]}


# --- addresses ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "số 12 ngõ 34 phố Hàng Bạc",
    "Số 12 Ngõ 34 Phố Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm",
    "123 Nguyễn Huệ, phường Bến Nghé, quận 1",
    "12/3A hẻm 45 đường Lê Lợi",
    "số 7 đường số 5, phường 2, quận Tân Bình",
    "nhà số 5, thôn Đông, xã Yên Bình, huyện Ý Yên",
    "Số nhà 8, xóm 3, xã Nghi Phong, huyện Nghi Lộc, tỉnh Nghệ An",
    "45 đường Nguyễn Trãi",
    "12 Baker Street",
    "221B Baker St.",
])
def test_street_addresses(address):
    text = f"Tôi ở {address}. Xin cảm ơn"
    assert found(text) == {"pii.address": [address]}


def test_address_after_a_cue():
    assert found("Địa chỉ: 25 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội. Cảm ơn") == {
        "pii.address": ["25 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội"]}


@pytest.mark.parametrize("text", [
    "Luật số 45 đường bộ", "Theo Điều 12 Luật này", "khoản 3 điều 5 Luật Giao thông đường bộ",
    "Có 25 Người dân ở xã Yên Bình", "UBND quận 1, TP. HCM", "Nghị định số 13/2023/NĐ-CP, phường 3",
])
def test_not_addresses(text):
    assert "pii.address" not in found(text)


# --- ordinary numbers ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Năm 2025, dự thảo cần sửa.",
    "Mức phạt 5.000.000 đồng là quá cao",
    "mức phạt 100.000.000.000 đồng",
    "thu nhập 12 000 000 đồng mỗi tháng",
    "Chỉ 2 triệu mỗi tháng",
    "Điều 12 khoản 3 điểm a",
    "Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân",
    "Thông tư số 01/2024/TT-BCA",
    "tăng 15% so với 2024, tức 15,5 phần trăm",
    "ngày 22/11/2026",
    "ngày 22.11.2026 hoặc 2026-11-22",
    "1.000.000.000",
    "có 1234567 người",
    "Quyết định 1234/QĐ-UBND ngày 01/02/2023",
    "giá 1,5 tỷ, diện tích 120 m2",
    "các năm 1990 1991 1992 1993 1994 và 2020 2021 2022 2023",
    "",
])
def test_ordinary_numbers_are_not_personal_data(text):
    assert find_personal_data(text) == []


# --- invisible characters, other scripts --------------------------------------------------------------------------

@pytest.mark.parametrize("hidden", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200f", "\u200e", "\u202e", "\u00ad"])
def test_invisible_characters_inside_a_phone_number(hidden):
    text = f"Gọi 0912{hidden}345{hidden}678 nhé"
    s = signal(text, "pii.phone")
    assert s.spans == ((4, 16),)
    assert text[4:16] == f"0912{hidden}345{hidden}678"


def test_invisible_characters_inside_an_email():
    text = "mail: ten\u200b.ho@\u200dgmail.com!"
    s = signal(text, "pii.email")
    assert text[s.spans[0][0]:s.spans[0][1]] == "ten\u200b.ho@\u200dgmail.com"


def test_right_to_left_override_around_a_number():
    text = "\u202e0912345678\u202c"
    assert signal(text, "pii.phone").spans == ((1, 11),)


def test_spans_stay_in_original_offsets_after_invisible_characters():
    text = "\u200b\u200b\u200bA ten@gmail.com B 0912345678"
    spans = {s.rule: s.spans for s in find_personal_data(text)}
    assert text[slice(*spans["pii.email"][0])] == "ten@gmail.com"
    assert text[slice(*spans["pii.phone"][0])] == "0912345678"


def test_full_width_digits():
    text = "ＳĐＴ ０９１２３４５６７８"
    assert found(text) == {"pii.phone": ["０９１２３４５６７８"]}


@pytest.mark.parametrize("text", [
    "مرحبا، رقمي ٠٩١٢٣٤٥٦٧٨ شكرا", "请联系我 电话 0912345678 谢谢", "📞0912345678📞", "😀" * 200, "\ud800 lone surrogate",
    "\u0000\u0001 control", "Ａ" * 50, "a" * 10000, "1" * 5000, "١٢٣٤٥٦٧٨٩٠١٢",
])
def test_other_scripts_do_not_crash(text):
    for s in find_personal_data(text):
        assert s.spans == tuple(sorted(s.spans))
        assert all(0 <= a < b <= len(text) for a, b in s.spans)


def test_emoji_around_a_phone_number():
    assert found("📞0912345678📞") == {"pii.phone": ["0912345678"]}


# --- signals and redaction ----------------------------------------------------------------------------------------

def test_one_signal_per_rule_with_all_its_spans():
    text = "Gọi 0912345678 hoặc 0987654321, mail a@b.vn"
    signals = find_personal_data(text)
    assert [s.rule for s in signals] == ["pii.phone", "pii.email"]
    assert signals[0].spans == ((4, 14), (20, 30))
    assert all(0 <= s.score <= 1 for s in signals)


def test_redact():
    text = "Gọi 0912 345 678 hoặc ten@gmail.com nhé"
    spans = [span for s in find_personal_data(text) for span in s.spans]
    assert redact(text, spans) == "Gọi […] hoặc […] nhé"
    assert redact(text, spans, marker="***") == "Gọi *** hoặc *** nhé"


def test_redact_merges_overlapping_and_unsorted_spans():
    assert redact("abcdefghij", [(6, 8), (1, 3), (2, 5), (5, 6)], "#") == "a#ij"
    assert redact("abcdef", [(1, 2), (3, 4)], "#") == "a#c#ef"


def test_redact_edge_cases():
    assert redact("abc", []) == "abc"
    assert redact("abc", [(0, 3)], "x") == "x"
    assert redact("abc", [(1, 1)], "x") == "abc"
    assert redact("abc", [(2, 10)], "x") == "abx"
    assert redact("", [], "x") == ""


# --- speed --------------------------------------------------------------------------------------------------------

COMMENT = ("Tôi đồng ý với dự thảo Nghị định 13/2023/NĐ-CP, tuy nhiên Điều 12 khoản 3 cần sửa. Năm 2025 mức phạt "
           "5.000.000 đồng là quá cao so với thu nhập 2 triệu đồng mỗi tháng, tăng 15% so với ngày 22/11/2026. "
           "Liên hệ 0912 345 678 hoặc ten@gmail.com, địa chỉ số 12 ngõ 34 phố Hàng Bạc, phường Hàng Bạc. ") * 2


def test_a_comment_takes_well_under_a_millisecond():
    text = COMMENT[:400]
    find_personal_data(text)
    started = time.perf_counter()
    for _ in range(50):
        find_personal_data(text)
    assert (time.perf_counter() - started) / 50 < 0.005  # about 0.2 ms on an idle core; loose for busy machines


@pytest.mark.parametrize("text", ["1 " * 3000, "12 " * 3000, "ngõ 1 " * 2000, "a at b dot com " * 500, "0912 345 678 " * 500])
def test_pathological_texts_stay_linear(text):
    started = time.perf_counter()
    find_personal_data(text)
    assert time.perf_counter() - started < 2  # tens of milliseconds; a quadratic pass takes tens of seconds
