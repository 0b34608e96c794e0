"""The consultation exports (consult.exports) and the open data package (consult.opendata), on the real database.

CSV files are read back cell by cell: the public export holds published comments only, no name, e-mail, account,
province or kind, participant keys that link one person within a consultation and differ across consultations;
the personal export holds every status and the e-mail. Text that spreadsheets would run as a formula is quoted,
text of every script and size survives, XLSX files hold the same rows, batches cover every row once in order.
The open data package lists every file with its true size, hash and row count, describes every column, and its
tallies are the counts of the database; writing it twice changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openpyxl import load_workbook

from consult import exports, opendata
from consult.exports import columns, csv_chunks, participant_key, rows, write_xlsx
from consult.models import (
    Account, Agency, Answer, Article, Comment, CommentStatus, Consultation, ConsultationKind, ConsultationStatus, OutcomeDecision,
    OutcomeItem, Question, QuestionKind, QuestionResponse, Stance, Vote, VoteValue,
)

SECRET = "open-data-test-secret"
WRITTEN = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=timezone.utc)
PUBLISHED = datetime(2026, 3, 4, 5, 9, 59, tzinfo=timezone.utc)
PERSONAL_FIELDS = ("display_name", "email", "account_id", "province", "respondent_kind")

# Text from the Big List of Naughty Strings' kinds, and what people really write.
NAUGHTY = [
    "Tôi đề nghị bổ sung khoản 3 vào Điều 1: “quyền được biết” 🇻🇳👍🏽 — ổn chứ?",
    "Combining marks: Tiếng Việt có dấu: ệ ự ữ ẫ (NFD: e\u0323\u0302)",
    "RTL: مرحبا بالعالم \u202eevil\u202c and zero\u200bwidth\u200c joiners\u2060",
    'Quotes "double", \'single\', commas, semicolons; and\nnew lines\r\nand CRLF',
    "Emoji ZWJ 👩‍👩‍👧‍👦 and astral 𝕿𝖊𝖘𝖙 and CJK 漢字",
    "<script>alert(1)</script> & ' OR 1=1; -- DROP TABLE comment;",
    "Control \x01 and \x08 characters and a vertical tab \x0b",
    "￾ noncharacter \uffff end",
]
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"bấm vào\")", "+84 912 345 678", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)", "\tindented", "\rcarriage"]


# --- a world to export ------------------------------------------------------------------------------------


async def make_consultation(slug: str, agency: Agency | None = None) -> Consultation:
    agency = agency or await Agency.get_or_none(slug="bo-tnmt") or await Agency.create(slug="bo-tnmt", name_vi="Bộ Tài nguyên và Môi trường", name_en="Ministry of Resources")
    return await Consultation.create(
        agency=agency, slug=slug, title="Dự thảo Luật Đất đai (sửa đổi)", summary="Lấy ý kiến nhân dân về dự thảo.",
        kind=ConsultationKind.LEGAL_TEXT, language="vi", status=ConsultationStatus.OUTCOME_PUBLISHED,
        closed_at=datetime(2026, 4, 1, tzinfo=timezone.utc), outcome_published_at=datetime(2026, 5, 2, 3, 4, 5, tzinfo=timezone.utc),
    )  # fmt: skip


async def account(email: str, name: str, province: str | None = None, kind: str | None = None) -> Account:
    return await Account.create(email=email, display_name=name, password_hash="not-a-hash", province=province, respondent_kind=kind)


async def comment(c: Consultation, author: Account | None, body: str, *, status: CommentStatus = CommentStatus.PUBLISHED, **fields: Any) -> Comment:
    defaults: dict[str, Any] = {"stance": Stance.SUPPORT, "created_at": WRITTEN}
    if status is CommentStatus.PUBLISHED:
        defaults["published_at"] = PUBLISHED
    return await Comment.create(consultation=c, author=author, body=body, status=status, **{**defaults, **fields})


async def vote(target: Comment, voter: Account, value: VoteValue) -> Vote:
    counter = {VoteValue.AGREE: "agree_count", VoteValue.DISAGREE: "disagree_count", VoteValue.PASS: "pass_count"}[value]
    setattr(target, counter, getattr(target, counter) + 1)
    await target.save(update_fields=[counter])  # the services keep the counters with the votes
    return await Vote.create(comment=target, account=voter, value=value, created_at=WRITTEN)


class World:
    """Consultation A with every kind of comment, votes, questions and answers; B with one comment of Alice's."""

    async def build(self) -> "World":
        self.a = await make_consultation("luat-dat-dai")
        self.b = await make_consultation("luat-nha-o")
        self.article1 = await Article.create(consultation=self.a, position=1, label="Điều 1", title="Phạm vi")
        self.article2 = await Article.create(consultation=self.a, position=2, label="Điều 2", title="Đối tượng")
        self.alice = await account("alice@example.vn", "Chị Lan", "ha-noi", "individual")
        self.bob = await account("bob@example.vn", "=Anh Bình", "da-nang", "business")
        self.carol = await account("carol@example.vn", "Cô Hoa")
        a = self.a
        self.published = await comment(a, self.alice, "Đồng ý với Điều 1, nhưng cần làm rõ thẩm quyền cấp xã.", article=self.article1)
        self.formula = await comment(a, self.bob, FORMULAS[0], stance=Stance.OPPOSE)
        self.pending = await comment(a, self.alice, "Góp ý đang chờ duyệt.", status=CommentStatus.PENDING)
        self.rejected = await comment(a, self.bob, "Bọn soạn thảo là lũ ngu.", status=CommentStatus.REJECTED, reason_code="abuse")
        self.hidden = await comment(a, self.carol, "Gọi tôi: 0912 345 678.", status=CommentStatus.HIDDEN, reason_code="flagged", flag_count=3)
        self.withdrawn = await comment(a, self.carol, "Tôi rút lại ý kiến.", status=CommentStatus.WITHDRAWN)
        self.orphan = await comment(a, None, "Ý kiến của một tài khoản đã xóa.", stance=Stance.CHANGE, article=self.article2,
                                    proposed_wording="+ Bổ sung khoản 4: hỗ trợ tái định cư.")  # fmt: skip
        self.reply = await comment(a, self.carol, "Tôi cũng nghĩ vậy.", stance=None, parent=self.published, article=self.article1,
                                   redacted_at=WRITTEN)  # fmt: skip
        self.other = await comment(self.b, self.alice, "Góp ý cho luật nhà ở.")
        await vote(self.published, self.carol, VoteValue.AGREE)
        await vote(self.published, self.bob, VoteValue.DISAGREE)
        await vote(self.formula, self.alice, VoteValue.PASS)
        await vote(self.formula, self.carol, VoteValue.AGREE)
        await vote(self.pending, self.carol, VoteValue.AGREE)  # only staff see votes on what is not published
        await vote(self.other, self.bob, VoteValue.AGREE)

        self.single = await Question.create(consultation=a, position=1, kind=QuestionKind.SINGLE, prompt="Bạn có đồng ý?", options=["Có", "Không"])
        self.multiple = await Question.create(consultation=a, position=2, kind=QuestionKind.MULTIPLE, prompt="Ưu tiên?", options=["Nhà ở", "Đất nông nghiệp", "Bồi thường"])
        self.scale = await Question.create(consultation=a, position=3, kind=QuestionKind.SCALE, prompt="Mức độ rõ ràng (1-5)?")
        self.free = await Question.create(consultation=a, position=4, kind=QuestionKind.TEXT, prompt="Ý kiến khác?")
        alice_r = await QuestionResponse.create(consultation=a, account=self.alice, created_at=WRITTEN)
        bob_r = await QuestionResponse.create(consultation=a, account=self.bob, created_at=WRITTEN)
        await Answer.create(response=alice_r, question=self.single, option=0)
        await Answer.create(response=alice_r, question=self.multiple, option=0)
        await Answer.create(response=alice_r, question=self.multiple, option=2)
        await Answer.create(response=alice_r, question=self.scale, option=4)
        await Answer.create(response=alice_r, question=self.free, text="Liên hệ tôi qua 0912 345 678 hoặc alice@example.vn.")
        await Answer.create(response=bob_r, question=self.single, option=1)
        await Answer.create(response=bob_r, question=self.free, text="=1+1")
        await OutcomeItem.create(consultation=a, position=1, kind="article", article=self.article1, title="Thẩm quyền cấp xã",
                                 comment_count=2, summary="Nhiều ý kiến đề nghị làm rõ.", decision=OutcomeDecision.ACCEPTED,
                                 reason="Đã bổ sung khoản 3.")  # fmt: skip
        await OutcomeItem.create(consultation=a, position=2, kind="general", title="=Ý kiến chung", summary="", decision=None, reason="")
        return self

    def key(self, who: Account | None, c: Consultation | None = None) -> str:
        return participant_key(SECRET, (c or self.a).id, who.id if who else None)


@pytest.fixture
async def world(app) -> World:
    return await World().build()


async def export_csv(kind: str, consultation_id: int, *, personal: bool, **options: Any) -> tuple[bytes, list[dict[str, str]]]:
    data = b"".join([chunk async for chunk in csv_chunks(kind, consultation_id, personal=personal, secret=SECRET, **options)])
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    reader = csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""))
    header = next(reader)
    assert header == columns(kind, personal=personal)
    return data, [dict(zip(header, line, strict=True)) for line in reader]


async def all_rows(kind: str, consultation_id: int, *, personal: bool, **options: Any) -> list[list[Any]]:
    return [row async for batch in rows(kind, consultation_id, personal=personal, secret=SECRET, **options) for row in batch]


def assert_nothing_personal(data: bytes | str, world: World) -> None:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    for person in (world.alice, world.bob, world.carol):
        assert person.email not in text
        assert person.display_name not in text
    for profile in ("ha-noi", "da-nang", "individual", "business"):
        assert profile not in text


# --- comments ----------------------------------------------------------------------------------------------


async def test_public_comments_are_the_published_ones_without_anything_personal(world):
    data, table = await export_csv("comments", world.a.id, personal=False)
    assert not set(PERSONAL_FIELDS) & set(table[0])
    assert [int(row["comment_id"]) for row in table] == [world.published.id, world.formula.id, world.orphan.id, world.reply.id]
    first, formula, orphan, reply = table
    assert first == {
        "comment_id": str(world.published.id), "parent_id": "", "participant_key": world.key(world.alice),
        "created_at": "2026-03-04T05:06:00Z", "published_at": "2026-03-04T05:09:00Z",
        "article_position": "1", "article_label": "Điều 1", "stance": "support",
        "body": "Đồng ý với Điều 1, nhưng cần làm rõ thẩm quyền cấp xã.", "proposed_wording": "",
        "agree_count": "1", "disagree_count": "1", "pass_count": "0", "campaign_id": "", "redacted": "false",
    }  # fmt: skip
    assert formula["body"] == "'" + FORMULAS[0] and formula["stance"] == "oppose" and formula["article_label"] == ""
    assert formula["participant_key"] == world.key(world.bob)
    assert orphan["participant_key"] == "" and orphan["proposed_wording"] == "'+ Bổ sung khoản 4: hỗ trợ tái định cư."
    assert orphan["stance"] == "change" and orphan["article_label"] == "Điều 2"
    assert reply["parent_id"] == str(world.published.id) and reply["stance"] == "" and reply["redacted"] == "true"
    assert_nothing_personal(data, world)
    for rejected in ("lũ ngu", "0912 345 678", "chờ duyệt", "rút lại"):
        assert rejected not in data.decode("utf-8")


async def test_personal_comments_hold_every_status_with_the_author(world):
    data, table = await export_csv("comments", world.a.id, personal=True)
    assert "participant_key" not in table[0]
    by_id = {int(row["comment_id"]): row for row in table}
    assert list(by_id) == sorted(by_id) and len(by_id) == 8
    assert {row["status"] for row in table} == {"published", "pending", "rejected", "hidden", "withdrawn"}
    first = by_id[world.published.id]
    assert (first["account_id"], first["display_name"], first["email"], first["province"], first["respondent_kind"]) == (
        str(world.alice.id), "Chị Lan", "alice@example.vn", "ha-noi", "individual")
    assert first["created_at"] == "2026-03-04T05:06:07Z" and first["published_at"] == "2026-03-04T05:09:59Z"
    rejected = by_id[world.rejected.id]
    assert (rejected["status"], rejected["reason_code"], rejected["published_at"]) == ("rejected", "abuse", "")
    assert rejected["display_name"] == "'=Anh Bình"  # a display name is user text too
    hidden = by_id[world.hidden.id]
    assert (hidden["status"], hidden["reason_code"], hidden["flag_count"], hidden["province"]) == ("hidden", "flagged", "3", "")
    orphan = by_id[world.orphan.id]
    assert orphan["account_id"] == orphan["email"] == orphan["display_name"] == ""
    assert world.other.id not in by_id  # another consultation's


async def test_participant_keys_link_one_person_within_a_consultation_only(world):
    _data, comments_a = await export_csv("comments", world.a.id, personal=False)
    _data, votes_a = await export_csv("votes", world.a.id, personal=False)
    _data, responses_a = await export_csv("responses", world.a.id, personal=False)
    _data, comments_b = await export_csv("comments", world.b.id, personal=False)
    _data, votes_b = await export_csv("votes", world.b.id, personal=False)
    alice_a, bob_a = world.key(world.alice), world.key(world.bob)
    assert re.fullmatch(r"[0-9a-f]{12}", alice_a) and alice_a != bob_a
    assert comments_a[0]["participant_key"] == alice_a
    assert [row["participant_key"] for row in votes_a if row["value"] == "pass"] == [alice_a]
    assert {row["participant_key"] for row in responses_a} == {alice_a, bob_a}
    # Alice in B, Bob in B: other keys than in A.
    assert comments_b[0]["participant_key"] == world.key(world.alice, world.b) != alice_a
    assert votes_b[0]["participant_key"] == world.key(world.bob, world.b) != bob_a
    # Computed as documented, and another secret gives other keys.
    expected = __import__("hmac").new(SECRET.encode(), f"{world.a.id}:{world.alice.id}".encode(), hashlib.sha256).hexdigest()[:12]
    assert alice_a == expected != participant_key("another secret", world.a.id, world.alice.id)
    assert participant_key(SECRET, world.a.id, None) == ""


# --- votes and responses -------------------------------------------------------------------------------------


async def test_votes_public_on_published_comments_personal_on_all(world):
    data, public = await export_csv("votes", world.a.id, personal=False)
    # By comment, then by voter (alice, bob, carol were made in that order).
    assert [(int(r["comment_id"]), r["participant_key"], r["value"]) for r in public] == [
        (world.published.id, world.key(world.bob), "disagree"), (world.published.id, world.key(world.carol), "agree"),
        (world.formula.id, world.key(world.alice), "pass"), (world.formula.id, world.key(world.carol), "agree")]
    assert public[1] == {"vote_id": public[1]["vote_id"], "comment_id": str(world.published.id), "participant_key": world.key(world.carol),
                         "value": "agree", "created_at": "2026-03-04T05:06:00Z", "updated_at": public[1]["updated_at"]}  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", public[0]["updated_at"])
    assert_nothing_personal(data, world)
    _data, personal = await export_csv("votes", world.a.id, personal=True)
    assert len(personal) == 5 and personal[-1]["comment_id"] == str(world.pending.id)
    assert (personal[-1]["account_id"], personal[-1]["display_name"], personal[-1]["email"]) == (str(world.carol.id), "Cô Hoa", "carol@example.vn")
    assert personal[-1]["created_at"] == "2026-03-04T05:06:07Z"


async def test_responses_one_row_per_answer_free_text_withheld_in_public(world):
    data, public = await export_csv("responses", world.a.id, personal=False)
    summary = [(r["participant_key"], r["question_position"], r["question_kind"], r["option"], r["option_label"], r["text"]) for r in public]
    alice, bob = world.key(world.alice), world.key(world.bob)
    assert summary == [
        (alice, "1", "single", "1", "Có", ""),
        (alice, "2", "multiple", "1", "Nhà ở", ""),
        (alice, "2", "multiple", "3", "Bồi thường", ""),
        (alice, "3", "scale", "4", "4", ""),
        (alice, "4", "text", "", "", ""),  # not moderated: withheld
        (bob, "1", "single", "2", "Không", ""),
        (bob, "4", "text", "", "", ""),
    ]
    assert public[0]["question_prompt"] == "Bạn có đồng ý?" and public[0]["question_id"] == str(world.single.id)
    assert "0912" not in data.decode("utf-8")
    assert_nothing_personal(data, world)

    # With the moderation package's redactor handed in, free text is published as it returns it.
    redacted = await all_rows("responses", world.a.id, personal=False, publish_text=lambda text: re.sub(r"[\w.]+@\w+(?:\.\w+)+|\d[\d ]{7,}\d", "[…]", text))
    texts = [row[columns("responses", personal=False).index("text")] for row in redacted]
    assert texts == [None, None, None, None, "Liên hệ tôi qua […] hoặc […].", None, "=1+1"]

    _data, personal = await export_csv("responses", world.a.id, personal=True)
    assert personal[4]["text"] == "Liên hệ tôi qua 0912 345 678 hoặc alice@example.vn." and personal[4]["email"] == "alice@example.vn"
    assert personal[6]["text"] == "'=1+1" and personal[6]["display_name"] == "'=Anh Bình"
    assert len({row["response_id"] for row in personal}) == 2


async def test_the_agencys_answer_table_comes_in_position_order_the_same_for_everyone(world):
    await OutcomeItem.create(consultation=world.a, position=1, kind="theme", title="Bồi thường", summary="Ý kiến về bồi thường.", reason="")
    public = await all_rows("answers", world.a.id, personal=False, batch=1)
    assert [(row[0], row[1], row[4]) for row in public] == [(1, "article", "Thẩm quyền cấp xã"), (1, "theme", "Bồi thường"), (2, "general", "=Ý kiến chung")]
    assert await all_rows("answers", world.a.id, personal=True, batch=2) == public
    _data, table = await export_csv("answers", world.a.id, personal=True)
    assert table[0] == {"position": "1", "kind": "article", "article_position": "1", "article_label": "Điều 1", "title": "Thẩm quyền cấp xã",
                        "comment_count": "2", "summary": "Nhiều ý kiến đề nghị làm rõ.", "decision": "accepted", "reason": "Đã bổ sung khoản 3."}  # fmt: skip
    assert table[2]["title"] == "'=Ý kiến chung" and table[2]["decision"] == "" and table[2]["article_label"] == ""


# --- CSV and XLSX mechanics ----------------------------------------------------------------------------------


async def test_batches_cover_every_row_once_in_order(app):
    c = await make_consultation("nhieu-gop-y")
    author = await account("many@example.vn", "Người góp ý")
    ids = [(await comment(c, author, f"Góp ý số {n}")).id for n in range(10)]
    batches = [batch async for batch in rows("comments", c.id, personal=False, secret=SECRET, batch=3)]
    assert [len(batch) for batch in batches] == [3, 3, 3, 1]
    assert [row[0] for batch in batches for row in batch] == ids
    chunks = [chunk async for chunk in csv_chunks("comments", c.id, personal=True, secret=SECRET, batch=3)]
    assert len(chunks) == 5  # the header, then one chunk per batch
    # A count that is a multiple of the batch ends cleanly too.
    await Comment.filter(id=ids[-1]).delete()
    assert [len(b) async for b in rows("comments", c.id, personal=True, secret=SECRET, batch=3)] == [3, 3, 3]
    with pytest.raises(ValueError):
        await anext(rows("comments", c.id, personal=False, secret=SECRET, batch=0))
    # Votes page by comment and voter: 2 + 0 + 3 + 1 votes on four comments, in batches of 2, each once.
    voters = [await account(f"voter{n}@example.vn", f"Người {n}") for n in range(3)]
    plan = {ids[0]: voters[:2], ids[1]: [], ids[2]: voters, ids[3]: voters[1:2]}
    for comment_id, who in plan.items():
        for voter in who:
            await Vote.create(comment_id=comment_id, account=voter, value=VoteValue.AGREE)
    for personal in (False, True):
        batches = [batch async for batch in rows("votes", c.id, personal=personal, secret=SECRET, batch=2)]
        assert [len(batch) for batch in batches] == [2, 2, 2]
        got = [(row[1], row[2]) for batch in batches for row in batch]
        expected = [(cid, voter.id if personal else participant_key(SECRET, c.id, voter.id)) for cid, who in plan.items() for voter in who]
        assert got == expected
    # A reader that stops early (a cancelled download) leaves no query running and the database usable.
    reader = rows("comments", c.id, personal=True, secret=SECRET, batch=3)
    assert len(await anext(reader)) == 3
    await reader.aclose()
    assert await Comment.filter(consultation_id=c.id).count() == 9
    # A comment written while the export runs is not in it: the export ends at the last comment there was when it began.
    reader = rows("comments", c.id, personal=False, secret=SECRET, batch=3)
    first = await anext(reader)
    late = await comment(c, author, "Góp ý đến muộn")
    rest = [row async for batch in reader for row in batch]
    assert [row[0] for row in first + rest] == ids[:-1] and late.id not in {row[0] for row in rest}


async def test_an_empty_consultation_gives_just_the_header(app, tmp_path):
    c = await make_consultation("chua-co-ai")
    for kind in exports.TABLES:
        for personal in (False, True):
            data = b"".join([chunk async for chunk in csv_chunks(kind, c.id, personal=personal, secret=SECRET)])
            assert data == b"\xef\xbb\xbf" + ",".join(columns(kind, personal=personal)).encode() + b"\r\n"
            path = tmp_path / f"{kind}-{personal}.xlsx"
            assert await write_xlsx(kind, c.id, path, personal=personal, secret=SECRET) == 0
            assert [list(r) for r in load_workbook(path).active.values] == [columns(kind, personal=personal)]


async def test_unknown_kind_and_missing_secret_are_refused(app):
    with pytest.raises(ValueError):
        columns("flags", personal=True)
    with pytest.raises(ValueError):
        await anext(csv_chunks("flags", 1, personal=True, secret=SECRET))
    with pytest.raises(ValueError):
        await anext(rows("comments", 1, personal=False, secret=""))


async def test_a_table_longer_than_a_sheet_goes_on_over_further_sheets(app, tmp_path, monkeypatch):
    c = await make_consultation("nhieu-trang")
    author = await account("p@example.vn", "Người góp ý")
    ids = [(await comment(c, author, f"Góp ý số {n}")).id for n in range(10)]
    monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", 5)  # Excel's is 1,048,576, the header included
    path = tmp_path / "long.xlsx"
    assert await write_xlsx("comments", c.id, path, personal=False, secret=SECRET, batch=3) == 10
    book = load_workbook(path)
    assert book.sheetnames == ["comments", "comments (2)", "comments (3)"]
    sheets = [[list(row) for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames]
    assert all(sheet[0] == columns("comments", personal=False) for sheet in sheets)
    assert [row[0] for sheet in sheets for row in sheet[1:]] == ids
    assert [len(sheet) for sheet in sheets] == [5, 5, 3]


async def test_formulas_are_quoted_in_csv_and_xlsx(app, tmp_path):
    c = await make_consultation("cong-thuc")
    author = await account("f@example.vn", "@người dùng")
    for text in FORMULAS + ["a=1 is fine", "'already quoted", "2+2"]:
        await comment(c, author, text)
    _data, table = await export_csv("comments", c.id, personal=True)
    expected = ["'" + text for text in FORMULAS] + ["a=1 is fine", "'already quoted", "2+2"]
    assert [row["body"] for row in table] == expected
    assert {row["display_name"] for row in table} == {"'@người dùng"}
    path = tmp_path / "formulas.xlsx"
    await write_xlsx("comments", c.id, path, personal=True, secret=SECRET)
    sheet = load_workbook(path).active
    body_at = columns("comments", personal=True).index("body")
    cells = [row[body_at] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == [text.replace("\r", "\n") for text in expected]  # Excel's line breaks
    assert {cell.data_type for cell in cells} == {"s"}  # text, never a formula ("f")


async def test_naughty_emoji_and_huge_text_round_trip(app, tmp_path):
    c = await make_consultation("van-ban-kho")
    author = await account("n@example.vn", "Người Việt 🇻🇳")
    huge = ("Đoạn văn rất dài về quyền sử dụng đất. " * 1200)[:40_000]
    texts = NAUGHTY + [huge]
    for text in texts:
        await comment(c, author, text, proposed_wording=text[::-1])
    _data, table = await export_csv("comments", c.id, personal=True)
    assert [row["body"] for row in table] == texts  # csv keeps every character, CR LF inside a cell included
    assert [row["proposed_wording"] for row in table] == [exports.safe_text(t[::-1]) for t in texts]
    assert table[0]["display_name"] == "Người Việt 🇻🇳"

    path = tmp_path / "naughty.xlsx"
    assert await write_xlsx("comments", c.id, path, personal=True, secret=SECRET) == len(texts)
    sheet = load_workbook(path).active
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    bodies = [row[header.index("body")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    for got, text in zip(bodies, texts, strict=True):
        clean = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text).replace("\r\n", "\n")
        assert got in (clean, clean[: exports.XLSX_CELL_MAX - 1])
    assert len(bodies[-1]) == exports.XLSX_CELL_MAX - 1 and bodies[0] == texts[0]
    assert bodies[6] == "Control  and  characters and a vertical tab "


async def test_xlsx_holds_the_same_rows_as_the_export_with_a_bold_header(world, tmp_path):
    for kind in exports.TABLES:
        for personal in (False, True):
            path = tmp_path / f"{kind}-{personal}.xlsx"
            written = await write_xlsx(kind, world.a.id, path, personal=personal, secret=SECRET)
            expected = await all_rows(kind, world.a.id, personal=personal)
            assert written == len(expected) > 0
            book = load_workbook(path)
            assert book.sheetnames == [kind]
            sheet = book.active
            header = next(sheet.iter_rows(max_row=1))
            assert [cell.value for cell in header] == columns(kind, personal=personal)
            assert all(cell.font.b for cell in header)
            got = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
            # Excel has no empty text: an empty cell reads back as None.
            assert got == [[(exports.xlsx_text(v) or None) if isinstance(v, str) else v for v in row] for row in expected]
            assert not list(tmp_path.glob(".*.tmp"))


# --- the open data package -------------------------------------------------------------------------------------

PACKAGE_SCHEMA = {
    "type": "object",
    "required": ["name", "title", "description", "licenses", "created", "homepage", "resources", "profile"],
    "properties": {
        "profile": {"const": "tabular-data-package"},
        "name": {"type": "string", "pattern": "^[a-z0-9._-]+$"},
        "created": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
        "homepage": {"type": "string", "format": "uri"},
        "licenses": {"type": "array", "minItems": 1, "items": {"type": "object", "anyOf": [{"required": ["name"]}, {"required": ["path"]}]}},
        "resources": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "path", "profile", "format", "mediatype", "encoding", "bytes", "hash", "schema"],
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-z0-9._-]+$"},
                    "profile": {"const": "tabular-data-resource"},
                    "format": {"const": "csv"},
                    "mediatype": {"const": "text/csv"},
                    "encoding": {"const": "utf-8"},
                    "bytes": {"type": "integer", "minimum": 1},
                    "hash": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
                    "schema": {
                        "type": "object",
                        "required": ["fields"],
                        "properties": {
                            "fields": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["name", "type", "description", "description_vi"],
                                    "properties": {
                                        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                                        "type": {"enum": ["string", "integer", "number", "boolean", "datetime", "date"]},
                                        "description": {"type": "string", "minLength": 10},
                                        "description_vi": {"type": "string", "minLength": 10},
                                    },
                                },
                            }
                        },
                    },
                },
            },
        },
    },
}


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
    return lines[0], lines[1:]


def check_cells(resource: dict[str, Any], header: list[str], lines: list[list[str]]) -> None:
    """What a Table Schema validator checks on each cell: the type, the allowed values, the keys."""
    fields = resource["schema"]["fields"]
    assert header == [field["name"] for field in fields], resource["name"]
    for line in lines:
        assert len(line) == len(fields)
        for field, cell in zip(fields, line):
            if cell == "":
                continue
            kind = field["type"]
            if kind == "integer":
                assert re.fullmatch(r"-?\d+", cell), (field["name"], cell)
            elif kind == "boolean":
                assert cell in ("true", "false"), (field["name"], cell)
            elif kind == "datetime":
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", cell), (field["name"], cell)  # to the minute
            if "constraints" in field:
                assert cell in field["constraints"]["enum"], (field["name"], cell)
    for key in resource["schema"].get("primaryKey", []):
        values = [line[header.index(key)] for line in lines]
        assert len(set(values)) == len(values) and "" not in values


async def test_open_data_package_lists_every_file_with_its_true_size_hash_and_rows(world, tmp_path):
    folder = tmp_path / "open-data" / "luat-dat-dai"
    report = {"participants": 3, "comments": {"published": 4}}
    files = await opendata.write_package(world.a.id, folder, licence="cc-by-4.0", secret=SECRET, base_url="https://gopy.example.vn/", report=report)
    names = [entry["name"] for entry in files]
    assert names == ["comments.csv", "comments.json", "votes.csv", "responses.csv", "tallies.csv", "tallies.json",
                     "answers.csv", "answers.json", "report.json", "datapackage.json"]  # fmt: skip
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)  # and no temporary file left
    for entry in files:
        data = (folder / entry["name"]).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["name"]
        if entry["name"].endswith(".csv"):
            assert entry["rows"] == len(read_csv(folder / entry["name"])[1])
        elif entry["name"] in ("report.json", "datapackage.json"):
            assert entry["rows"] is None
        else:
            assert entry["rows"] == len(json.loads(data))
        assert_nothing_personal(data.replace(b"\\u", b"u"), world)
    assert json.loads((folder / "report.json").read_text(encoding="utf-8")) == report

    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(PACKAGE_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(package)
    assert package["name"] == "luat-dat-dai" and package["title"] == world.a.title
    assert package["homepage"] == "https://gopy.example.vn/consultations/luat-dat-dai"
    assert package["created"] == "2026-05-02T03:04:05Z"  # when the outcome was published, not when written
    assert package["licenses"] == [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
                                    "title": "Creative Commons Attribution 4.0 International"}]  # fmt: skip
    assert package["contributors"] == [{"title": "Bộ Tài nguyên và Môi trường", "role": "publisher"}]
    by_name = {entry["name"]: entry for entry in files}
    assert [r["path"] for r in package["resources"]] == [n for n in names if n.endswith(".csv")]
    for resource in package["resources"]:
        entry = by_name[resource["path"]]
        assert resource["bytes"] == entry["bytes"] and resource["hash"] == "sha256:" + entry["sha256"]
        header, lines = read_csv(folder / resource["path"])
        check_cells(resource, header, lines)
    # Votes name only comments that are in the package.
    comment_ids = {line[0] for line in read_csv(folder / "comments.csv")[1]}
    assert {line[1] for line in read_csv(folder / "votes.csv")[1]} <= comment_ids

    # The JSON copies hold the same rows, the text as written (no spreadsheet quote).
    comments_json = json.loads((folder / "comments.json").read_text(encoding="utf-8"))
    header, lines = read_csv(folder / "comments.csv")
    assert [list(obj) for obj in comments_json] == [header] * len(lines)
    assert [obj["comment_id"] for obj in comments_json] == [int(line[0]) for line in lines]
    assert comments_json[1]["body"] == FORMULAS[0] and lines[1][header.index("body")] == "'" + FORMULAS[0]
    assert comments_json[3]["redacted"] is True and comments_json[0]["parent_id"] is None
    answers = json.loads((folder / "answers.json").read_text(encoding="utf-8"))
    assert answers == [
        {"position": 1, "kind": "article", "article_position": 1, "article_label": "Điều 1", "title": "Thẩm quyền cấp xã", "comment_count": 2,
         "summary": "Nhiều ý kiến đề nghị làm rõ.", "decision": "accepted", "reason": "Đã bổ sung khoản 3."},
        {"position": 2, "kind": "general", "article_position": None, "article_label": None, "title": "=Ý kiến chung", "comment_count": 0,
         "summary": "", "decision": None, "reason": ""},
    ]  # fmt: skip
    assert read_csv(folder / "answers.csv")[1][1][4] == "'=Ý kiến chung"


async def test_tallies_are_the_counts_of_the_database(world, tmp_path):
    folder = tmp_path / "package"
    await opendata.write_package(world.a.id, folder, licence="CC0-1.0", secret=SECRET, base_url="http://testserver", report=None)
    tallies = json.loads((folder / "tallies.json").read_text(encoding="utf-8"))
    header, lines = read_csv(folder / "tallies.csv")
    assert [list(row) for row in tallies] == [header] * len(lines)
    assert [["" if value is None else str(value) for value in row.values()] for row in tallies] == lines

    async def direct(**where: Any) -> dict[str, int]:
        published = Comment.filter(consultation_id=world.a.id, status=CommentStatus.PUBLISHED, **where)
        votes = Vote.filter(comment__consultation_id=world.a.id, comment__status=CommentStatus.PUBLISHED, **{f"comment__{k}": v for k, v in where.items()})
        return {
            "comments": await published.count(),
            **{f"comments_{s.value}": await published.filter(stance=s).count() for s in Stance},
            **{f"votes_{v.value}": await votes.filter(value=v).count() for v in VoteValue},
        }

    def counts(row: dict[str, Any]) -> dict[str, int]:
        return {key: row[key] for key in ("comments", "comments_support", "comments_oppose", "comments_change", "votes_agree", "votes_disagree", "votes_pass")}

    by_scope: dict[str, list[dict[str, Any]]] = {}
    for row in tallies:
        by_scope.setdefault(row["scope"], []).append(row)
    assert counts(by_scope["consultation"][0]) == await direct() == {
        "comments": 4, "comments_support": 1, "comments_oppose": 1, "comments_change": 1, "votes_agree": 2, "votes_disagree": 1, "votes_pass": 1}
    assert counts(by_scope["draft"][0]) == await direct(article_id=None)
    assert [(r["article_label"], counts(r)) for r in by_scope["article"]] == [
        ("Điều 1", await direct(article_id=world.article1.id)), ("Điều 2", await direct(article_id=world.article2.id))]
    questions = {r["question_position"]: (r["respondents"], r["answers"]) for r in by_scope["question"]}
    assert questions == {1: (2, 2), 2: (1, 2), 3: (1, 1), 4: (2, 2)}
    options = [(r["question_position"], r["option"], r["option_label"], r["answers"]) for r in by_scope["option"]]
    assert options == [
        (1, 1, "Có", 1), (1, 2, "Không", 1),
        (2, 1, "Nhà ở", 1), (2, 2, "Đất nông nghiệp", 0), (2, 3, "Bồi thường", 1),
        (3, 1, "1", 0), (3, 2, "2", 0), (3, 3, "3", 0), (3, 4, "4", 1), (3, 5, "5", 0),
    ]  # fmt: skip
    for position, option, _label, answered in options:
        question = {1: world.single, 2: world.multiple, 3: world.scale}[position]
        stored = option if question.kind is QuestionKind.SCALE else option - 1
        assert answered == await Answer.filter(question_id=question.id, option=stored).count()
    # The tallies agree with the files beside them.
    _header, vote_lines = read_csv(folder / "votes.csv")
    assert len(vote_lines) == sum(counts(by_scope["consultation"][0])[k] for k in ("votes_agree", "votes_disagree", "votes_pass"))
    assert not (folder / "report.json").exists()


async def test_writing_the_package_again_changes_nothing_and_a_failed_write_leaves_the_old_one(world, tmp_path, monkeypatch):
    folder = tmp_path / "again"
    first = await opendata.write_package(world.a.id, folder, licence="ODC-BY-1.0", secret=SECRET, base_url="http://testserver", report={"n": 1})
    contents = {p.name: p.read_bytes() for p in folder.iterdir()}
    second = await opendata.write_package(world.a.id, folder, licence="ODC-BY-1.0", secret=SECRET, base_url="http://testserver", report={"n": 1})
    assert second == first
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == contents

    async def broken(consultation_id: int) -> list:
        raise RuntimeError("the database went away")

    await Comment.filter(id=world.published.id).update(body="Đã sửa sau khi công bố.")
    monkeypatch.setattr(opendata, "tallies", broken)
    with pytest.raises(RuntimeError):
        await opendata.write_package(world.a.id, folder, licence="ODC-BY-1.0", secret=SECRET, base_url="http://testserver", report={"n": 1})
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == contents  # nothing half-written, nothing left behind

    # Without a report, the old report.json goes: the package must be what datapackage.json describes.
    monkeypatch.undo()
    third = await opendata.write_package(world.a.id, folder, licence="ODC-BY-1.0", secret=SECRET, base_url="http://testserver", report=None)
    assert "report.json" not in {entry["name"] for entry in third} and not (folder / "report.json").exists()
    assert b"\xc4\x90\xc3\xa3 s\xe1\xbb\xada" in (folder / "comments.csv").read_bytes()  # "Đã sửa": the new text


def test_licences_are_described_and_unknown_ones_pass_through():
    assert opendata.licence_entry("CC0-1.0")["path"] == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert opendata.licence_entry("odc-by-1.0") == {"name": "ODC-BY-1.0", "path": "https://opendatacommons.org/licenses/by/1-0/",
                                                    "title": "Open Data Commons Attribution License 1.0"}  # fmt: skip
    assert opendata.licence_entry("CC-BY-SA-4.0")["path"] == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert opendata.licence_entry("OGL-UK-3.0") == {"name": "OGL-UK-3.0"}
    assert opendata.package_name("Luật_Đất-đai 2026") == "luat_dat-dai-2026"


def test_every_column_is_in_the_data_dictionary():
    for kind in exports.KINDS:
        for personal in (False, True):
            fields = exports.schema_fields(kind, personal=personal)
            assert [f["name"] for f in fields] == columns(kind, personal=personal)
            assert all(f["description"] and f["description_vi"] for f in fields)
        public = set(columns(kind, personal=False))
        assert not public & set(PERSONAL_FIELDS) and "participant_key" in public


def test_every_batch_query_uses_its_placeholders_once_and_in_order():
    """SQLite numbers nothing: db.fetch turns $1, $2... into positional ?, so the text order must be the values'."""
    for dialect in ("sqlite", "postgres"):
        for kind in exports.TABLES:
            for personal in (False, True):
                after = (5, 0) if kind in ("votes", "answers") else 5
                sql, params = exports._batch_sql(kind, 1, personal, after, 3, dialect, 10)
                assert [int(n) for n in re.findall(r"\$(\d+)", sql)] == list(range(1, len(params) + 1)), (dialect, kind, personal)
