"""Themes of a consultation's comments (consult.reports.themes): plain synchronous tests, no database."""

from __future__ import annotations

import json
import random

import pytest

from consult.reports import themes as th
from consult.reports.sentiment import fold
from consult.reports.themes import ThemeFinder

# Planted subjects: the words that must come out in the labels, and the words the comments are made of.
SUBJECTS = {
    "học phí": ("vi", ["học phí", "giáo viên", "học sinh", "trường học", "sách giáo khoa", "lớp học"]),
    "giao thông": ("vi", ["xe máy", "ùn tắc", "giao thông", "biển báo", "xe buýt", "tai nạn"]),
    "đất đai": ("vi", ["thu hồi đất", "đền bù", "giá đất", "tái định cư", "sổ đỏ", "mặt bằng"]),
    "water": ("en", ["drinking water", "rivers", "coal ash", "groundwater", "wetlands", "lakes"]),
    "housing": ("en", ["tenants", "rent", "eviction", "landlords", "apartments", "zoning"]),
}
FRAMES = {
    "vi": ["Tôi đề nghị xem xét lại quy định về {a} và {b} trong dự thảo này.",
           "Ở địa phương tôi {a} còn nhiều bất cập, {b} chưa được quan tâm.",
           "Cần có hướng dẫn cụ thể về {a}, nhất là {b} và {c}.",
           "Người dân rất quan tâm đến {a} và mong {b} sớm được giải quyết."],
    "en": ["I ask the agency to look again at {a} and {b} in this rule.",
           "In my town {a} are a daily concern and {b} get too little attention.",
           "The rule should say more about {a}, especially {b} and {c}.",
           "People here care about {a} and want {b} handled soon."],
}


def planted(per_subject: int = 40, seed: int = 1) -> tuple[list[tuple[int, str]], dict[int, str]]:
    rng = random.Random(seed)
    items, truth = [], {}
    for subject, (language, words) in SUBJECTS.items():
        for _ in range(per_subject):
            sentences = []
            for _ in range(rng.randint(2, 3)):
                a, b, c = rng.sample(words, 3)
                sentences.append(rng.choice(FRAMES[language]).format(a=a, b=b, c=c))
            items.append((0, " ".join(sentences)))
            truth[len(items) - 1] = subject
    order = list(range(len(items)))
    rng.shuffle(order)
    shuffled = [(1000 + new, items[old][1]) for new, old in enumerate(order)]
    return shuffled, {1000 + new: truth[old] for new, old in enumerate(order)}


def run(items: list[tuple[int, str]], batch: int = 37, **options) -> tuple[ThemeFinder, list]:
    finder = ThemeFinder(**options)
    for start in range(0, len(items), batch):
        finder.add_sample(items[start:start + batch])
    finder.fit()
    labels: list = []
    for start in range(0, len(items), batch):
        labels += finder.assign(items[start:start + batch])
    return finder, labels


@pytest.fixture(scope="module")
def planted_run():
    items, truth = planted()
    finder, labels = run(items)
    return items, truth, finder, labels, finder.result()


def test_planted_subjects_are_separated(planted_run):
    items, truth, _, labels, themes = planted_run
    assert None not in labels
    assert len(themes) == len(SUBJECTS)
    by_theme: dict = {}
    for (comment_id, _), label in zip(items, labels):
        by_theme.setdefault(label, []).append(truth[comment_id])
    for subjects in by_theme.values():
        assert len(set(subjects)) == 1  # every theme holds one planted subject, and all of it


def test_labels_name_the_subjects_with_their_words(planted_run):
    items, truth, _, labels, themes = planted_run
    for theme in themes:
        subject = truth[theme["quotes"][0]["comment_id"]]
        words = SUBJECTS[subject][1]
        assert theme["label"] == ", ".join(theme["terms"][:3])
        assert 1 <= len(theme["terms"]) <= 6
        # Key terms are the subject's words, shown with their diacritics and spaces, not "_".
        assert sum(term.lower() in words for term in theme["terms"]) >= 3, theme
        assert all("_" not in term for term in theme["terms"])
    all_terms = {term for theme in themes for term in theme["terms"]}
    assert {"học phí", "tenants"} <= all_terms
    # Vietnamese words of several syllables are kept whole, not cut into syllables.
    vietnamese_terms = [term for theme in themes for term in theme["terms"] if not term.isascii()]
    assert sum(" " in term for term in vietnamese_terms) >= len(vietnamese_terms) // 2


def test_quotes_belong_to_their_theme_and_sizes_add_up(planted_run):
    items, _, _, labels, themes = planted_run
    label_of = {comment_id: label for (comment_id, _), label in zip(items, labels)}
    text_of = dict(items)
    assert sum(theme["size"] for theme in themes) == sum(label is not None for label in labels) == len(items)
    assert [theme["size"] for theme in themes] == sorted((theme["size"] for theme in themes), reverse=True)
    for theme in themes:
        assert theme["size"] == sum(1 for label in labels if label == theme["id"])
        assert 1 <= len(theme["quotes"]) <= 3
        assert len({quote["comment_id"] for quote in theme["quotes"]}) == len(theme["quotes"])
        for quote in theme["quotes"]:
            assert label_of[quote["comment_id"]] == theme["id"]
            assert quote["text"] == th.excerpt(text_of[quote["comment_id"]])
    json.dumps(themes)  # plain JSON types


def test_same_seed_same_themes():
    items, _ = planted(per_subject=15, seed=3)
    assert run(items)[0].result() == run(items)[0].result()


def test_text_without_diacritics_and_old_tone_marks_join_their_theme(planted_run):
    items, truth, finder, labels, _ = planted_run
    theme_of = {}
    for (comment_id, _), label in zip(items, labels):
        theme_of[truth[comment_id]] = label
    unaccented = fold("Tôi đề nghị xem xét lại quy định về học phí và giáo viên, sách giáo khoa trong dự thảo này.")
    assert unaccented.isascii()
    old_style = "Người dân rất quan tâm đến thu hồi đất, giá đất và mong đền bù sớm được giải quyết. Thuỷ lợi hoà bình."
    assert finder.assign([(1, unaccented), (2, old_style)]) == [theme_of["học phí"], theme_of["đất đai"]]


def test_mixed_languages_in_one_comment(planted_run):
    *_, finder, _, _ = planted_run
    label = finder.assign([(1, "Tenants và landlords: eviction và rent quá cao, học sinh cũng khổ.")])[0]
    assert label is not None


def test_no_comments_at_all():
    finder = ThemeFinder()
    finder.fit()
    assert finder.assign([(1, "Tôi ủng hộ dự thảo"), (2, "")]) == [None, None]
    assert finder.assign([]) == []
    assert finder.result() == []


def test_assign_before_fit_fits_on_what_was_sampled():
    finder = ThemeFinder()
    assert finder.assign([(1, "water rivers lakes")]) == [None]
    assert finder.result() == []


def test_one_comment():
    finder, labels = run([(7, "Đề nghị giảm học phí cho học sinh nghèo ở vùng sâu vùng xa.")])
    assert labels == [0]
    themes = finder.result()
    assert len(themes) == 1 and themes[0]["size"] == 1
    assert themes[0]["quotes"] == [{"comment_id": 7, "text": "Đề nghị giảm học phí cho học sinh nghèo ở vùng sâu vùng xa."}]


def test_identical_comments_make_one_theme_with_one_quote():
    text = "I oppose the rollback of clean water protections against toxic coal ash."
    finder, labels = run([(i, text) for i in range(300)])
    themes = finder.result()
    assert labels == [0] * 300
    assert len(themes) == 1 and themes[0]["size"] == 300
    assert len(themes[0]["quotes"]) == 1


def test_few_comments_give_few_themes():
    items, _ = planted(per_subject=2, seed=5)  # 10 comments
    finder, labels = run(items)
    assert 1 <= len(finder.result()) <= 2
    assert None not in labels


def test_texts_without_usable_words():
    items = [(1, "😀😀😀 🎉"), (2, "!!! ??? ..."), (3, "12345 678"), (4, "và của là các những được cho với"),
             (5, "the and of to is"), (6, ""), (7, None), (8, "   \n\t ")]
    finder, labels = run(items, batch=3)
    assert labels == [None] * len(items)
    assert finder.result() == []


def test_unusable_texts_among_usable_ones(planted_run):
    *_, finder, _, _ = planted_run
    labels = finder.assign([(1, "😀😀"), (2, "và của là"), (3, "tenants and rent and eviction"), (4, None)])
    assert labels[0] is None and labels[1] is None and labels[3] is None and labels[2] is not None


def test_huge_naughty_and_markup_texts_do_not_fail():
    naughty = [
        "<script>alert('học phí')</script><b>giáo viên</b> &amp; học sinh",
        "\u202etenants\u202c rent \u200beviction\ufeff landlords",
        "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇ học phí",
        "田中さんにあげて下さい học phí giáo viên",
        "ﾟ･✿ヾ╲(｡◕‿◕｡)╱✿･ﾟ rent",
        "\ud800 lone surrogate rent tenants",
        "https://example.com/học-phí?x=1 mail@example.com học phí",
        "HỌC PHÍ GIÁO VIÊN HỌC SINH",
        "học phí " * 50_000,  # 400,000 characters
        "a" * 100_000,
        "\x00\x01\x02 rent \x7f tenants",
    ]
    items, _ = planted(per_subject=10, seed=2)
    items = items + [(9000 + i, text) for i, text in enumerate(naughty)]
    finder, labels = run(items)
    assert len(labels) == len(items)
    themes = finder.result()
    assert sum(t["size"] for t in themes) == sum(label is not None for label in labels)
    for theme in themes:
        for quote in theme["quotes"]:
            assert len(quote["text"]) <= 300
    json.dumps(themes)
    assert labels[items.index((9000 + 7, naughty[7]))] is not None  # capitals are the same words


def test_excerpt_is_cut_at_a_word():
    text = ("Quy định này gây khó khăn cho doanh nghiệp nhỏ " * 20).strip()
    short = th.excerpt(text)
    assert len(short) <= 300 and short.endswith("…")
    assert text.startswith(short[:-1])
    assert text[len(short) - 1] == " "  # the cut falls between words
    assert th.excerpt("  một\n\nhai\tba  ") == "một hai ba"
    assert len(th.excerpt("x" * 1000)) == 300


def test_words_are_found_alike_on_the_fast_and_the_slow_path():
    # The fast path (bytes) and the regular expression agree on text they both handle.
    for text in ["tôi ủng hộ, quy định (này) rất tốt!", "hello world-wide web's 2020 rule", "đường xá, cầu cống..."]:
        assert th.words_of(text) == th._WORD.findall(text)
    assert th.words_of("rent “tenants” 😀eviction") == ["rent", "tenants", "eviction"]


def test_without_pyvi_the_statistical_lexicon_is_used():
    items, truth = planted(per_subject=30, seed=4)
    finder, labels = run(items, segmentation="statistical")
    assert finder.segmentation_used == "statistical"
    by_theme: dict = {}
    for (comment_id, _), label in zip(items, labels):
        by_theme.setdefault(label, set()).add(truth[comment_id])
    assert len(by_theme) == len(SUBJECTS) and all(len(s) == 1 for s in by_theme.values())


def test_max_themes_is_respected():
    items, _ = planted(per_subject=20, seed=6)
    finder, labels = run(items, max_themes=3)
    assert len(finder.result()) <= 3
    assert set(labels) <= {0, 1, 2}
    assert run(items, max_themes=0)[1] == [None] * len(items)


def test_the_sample_is_bounded():
    finder = ThemeFinder(sample_size=50)
    for start in range(0, 5000, 100):
        finder.add_sample([(i, f"comment number {i} about rent") for i in range(start, start + 100)])
    assert len(finder._sample) == 50
    ids = [comment_id for comment_id, _ in finder._sample]
    assert max(ids) > 2500  # late comments get their chance too


def test_stop_words_and_pyvi_lexicon_files_are_read():
    assert {"của", "và", "là", "các", "những", "được", "cho", "với", "này", "có", "không", "chúng_tôi"} <= th.stop_words("vi")
    assert {"the", "and", "of", "dear"} <= th.stop_words("en")


def test_two_themes_never_share_a_label():
    """k-means may split one subject in two: the smaller theme's label takes a later key term that tells it apart."""
    from consult.reports.themes import _distinct_label

    used = {"nhựa, rác, thu gom"}
    assert _distinct_label(["nhựa", "rác", "thu gom", "phí", "túi"], used) == "nhựa, rác, phí"
    assert _distinct_label(["nhựa", "rác", "thu gom", "phí"], used | {"nhựa, rác, phí"}) == "nhựa, rác, thu gom (2)"
    assert _distinct_label(["túi", "siêu thị"], used) == "túi, siêu thị"
