"""Tone of comments (consult.reports.sentiment): plain synchronous tests, no database."""

from __future__ import annotations

import pytest

from bench import evaluate_sentiment
from consult.reports.sentiment import MEASURED, detect_language, fold, score, sentiment


@pytest.mark.parametrize("text, expected", [
    ("Tôi hoàn toàn ủng hộ quy định này vì giúp người dân tiết kiệm thời gian", 1),
    ("Dự thảo rất hợp lý, cảm ơn ban soạn thảo.", 1),
    ("Thủ tục mới nhanh chóng và thuận tiện, tôi rất hài lòng", 1),
    ("Quy định này gây khó khăn cho doanh nghiệp nhỏ", -1),
    ("Tôi phản đối việc tăng phí vì quá cao so với thu nhập", -1),
    ("Cán bộ làm việc chậm chạp, hồ sơ rườm rà, rất tệ", -1),
    ("Đề nghị làm rõ khái niệm hộ kinh doanh tại Điều 3.", 0),
    ("Quy định này áp dụng từ ngày nào?", 0),
    ("Dự thảo gồm 5 chương và 42 điều.", 0),
])
def test_vietnamese(text, expected):
    assert sentiment(text, "vi") == expected
    assert sentiment(text) == expected  # language detected


@pytest.mark.parametrize("text, expected", [
    ("Quy định này không hợp lý", -1),
    ("Chính sách này chưa công bằng với người dân", -1),
    ("Tôi chẳng thấy tốt chỗ nào", -1),
    ("Tôi không đồng ý với dự thảo", -1),
    ("Tôi không phản đối, thậm chí rất ủng hộ", 1),
    ("Quy định mới không gây khó khăn gì cho chúng tôi", 1),
    ("Chính sách giúp giảm ô nhiễm ở khu dân cư", 1),
    ("Không gian công cộng ở phường tôi được mở rộng", 0),  # "không gian" is space, not "not"
])
def test_vietnamese_negation(text, expected):
    assert sentiment(text, "vi") == expected


@pytest.mark.parametrize("text, expected", [
    ("Toi hoan toan ung ho quy dinh nay", 1),
    ("Thu tuc nhanh chong, can bo nhiet tinh, toi rat hai long", 1),
    ("Quy dinh nay gay kho khan cho nguoi dan", -1),
    ("Du thao khong hop ly", -1),
    ("De nghi lam ro khai niem ho gia dinh", 0),
])
def test_vietnamese_without_diacritics(text, expected):
    assert text.isascii()
    assert detect_language(text) == "vi"
    assert sentiment(text) == expected


def test_words_that_lose_their_meaning_without_diacritics_are_not_used():
    # "tồi" (bad) without diacritics is "toi", which is "tôi" (I) in nearly every text.
    assert sentiment("Tôi thấy tồi", "vi") == -1
    assert sentiment("Toi thay the nao thi noi the", "vi") == 0


def test_intensifiers_and_contrast():
    assert score("Quy định tốt", "vi") < score("Quy định rất tốt", "vi")
    assert score("Quy định tốt", "vi") < score("Quy định tốt lắm", "vi")  # placed after the word
    assert score("good", "en") < score("very good", "en")
    # After "nhưng"/"but", the second half weighs more.
    assert sentiment("Dự thảo có vài điểm tốt nhưng nhìn chung bất cập và gây phiền hà", "vi") == -1
    assert sentiment("The rule has flaws, but overall it is a great improvement", "en") == 1


@pytest.mark.parametrize("text, expected", [
    ("I fully support this proposal because it will save residents time.", 1),
    ("This is a sensible rule and I thank the agency for it.", 1),
    ("This rule places an unfair burden on small businesses.", -1),
    ("I strongly oppose the rollback of clean water protections.", -1),
    ("Please clarify whether the rule applies to existing facilities.", 0),
    ("When will the final rule be published?", 0),
])
def test_english(text, expected):
    assert sentiment(text, "en") == expected
    assert sentiment(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("This rule is not good for our town.", -1),
    ("I don't support this change.", -1),
    ("The plan never helps renters.", -1),
    ("I am not opposed to the fee.", 1),
    ("The changes will not hurt anyone.", 1),
    ("Cutting SNAP benefits is cruel and wrong.", -1),
    ("This rule will reduce pollution in our rivers.", 1),
])
def test_english_negation(text, expected):
    assert sentiment(text, "en") == expected


def test_detect_language():
    assert detect_language("Tôi hoàn toàn ủng hộ quy định này") == "vi"
    assert detect_language("Toi khong dong y voi du thao nay") == "vi"
    assert detect_language("I do not agree with this draft at all") == "en"
    assert detect_language("I visited Hà Nội and Đà Nẵng last year and the trains were late") == "en"
    for text in ["", "😀😀", "12345", "ok", "Das ist gut"]:
        assert detect_language(text) is None


def test_odd_input_is_neutral_and_does_not_fail():
    for text in ["", "   ", "😡😡😡", "!!!???", "\u202e\u200b", "<script>alert(1)</script>", "\ud800", "a" * 100_000]:
        assert sentiment(text) == 0
        assert sentiment(text, "vi") == 0
        assert sentiment(text, "en") == 0
    assert sentiment(None) == 0  # type: ignore[arg-type]
    assert sentiment("Rất tốt " * 10_000) == 1  # long texts are cut, not slow


def test_same_verdict_without_diacritics_on_the_labelled_set():
    # Vietnamese typed without diacritics keeps the verdict on most of the labelled sentences.
    rows = [(label, text) for label, _, text in evaluate_sentiment.read("vi") if not text.isascii()]
    same = sum(sentiment(fold(text)) == sentiment(text) for _, text in rows)
    assert same / len(rows) >= 0.8


def test_measured_figures_are_those_of_the_held_out_evaluation():
    assert MEASURED == evaluate_sentiment.measured()
    for language in ("vi", "en"):
        assert MEASURED[language]["sentences"] >= 75


def test_evaluation_sets_are_balanced_and_split_in_halves():
    for language in ("vi", "en"):
        rows = evaluate_sentiment.read(language)
        assert len(rows) >= 150
        for split in ("dev", "test"):
            labels = [label for label, s, _ in rows if s == split]
            counts = {label: labels.count(label) for label in (-1, 0, 1)}
            assert min(counts.values()) >= 0.9 * max(counts.values())
        texts = [text for _, _, text in rows]
        assert len(set(texts)) == len(texts)


def test_confusion_figures():
    f = evaluate_sentiment.figures([1, 1, 0, -1], [1, 0, 0, 1])
    assert f["confusion"] == [[0, 0, 1], [0, 1, 0], [0, 1, 1]]
    assert f["accuracy"] == 0.5
    assert f["macro_f1"] == round((0 + 2 / 3 + 0.5) / 3, 3)
