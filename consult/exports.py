"""Streamed exports of one consultation's data: its comments, the votes on them and the answers to its questions
(``KINDS``), and the agency's answer table (``answers``, the same for every audience: it names no participant).

Two audiences, chosen by ``personal``:

- personal (officials of the agency, moderators, administrators): every comment whatever its status, with its
  author's account id, display name, e-mail, self-declared province and respondent kind, the moderation status
  and reason, flag counts; votes and answers with account id, display name and e-mail. The caller checks the
  permission and writes the audit entry (staff access to personal fields is logged, DESIGN.md).
- public (anonymised): published comments only, votes on published comments only, every answer to a choice or
  scale question. No name, e-mail, account id, province or kind at person level: a ``participant_key`` (an HMAC
  of the consultation and the account, see ``participant_key``) links one person's comments, votes and answers
  within one consultation without saying who they are, and differs from one consultation to the next. Times are
  cut to the minute, so that a row cannot be matched to someone seen posting at a precise second.

  Free-text answers are NOT published by default: unlike comments they pass neither the screening nor a
  moderator, so nothing has looked for the phone numbers, addresses and names people write into them (Decree
  13/2023 counts opinions as sensitive personal data). Their rows are kept with an empty ``text``. A caller that
  has a personal-data redactor (the moderation package's rules, which ``consult`` may not import) passes it as
  ``publish_text``: each text then goes out as the redactor returns it (None withholds that one).

Every table is read in keyset-paged batches (``WHERE id > last ORDER BY id LIMIT batch``; votes by comment and
voter, the order of their index) of hand-written SQL, one query per batch with the article label, question and
account joined, so memory stays flat whatever the size of the consultation and there is no per-row ORM work.
The queries go through ``consult.db.fetch_rows`` (lists rather than dicts).
While Python writes one batch, the database already reads the next. Values come out typed (integers, booleans,
times as ISO 8601 UTC text formatted by the database, so SQLite and PostgreSQL give the same text).

CSV and XLSX add what spreadsheets need: a UTF-8 byte order mark (Excel then reads Vietnamese correctly), and
every text cell that begins with = + - @ a tab or a carriage return prefixed with a single quote, so that
opening the file never runs a formula someone wrote into a comment (OWASP's advice for CSV injection). XLSX
cells also lose the control characters XML cannot hold and are cut at Excel's 32,767 characters; a table longer
than a sheet's 1,048,576 rows continues on further sheets. The column names are stable: they are the open data
dictionary (``schema_fields``), documented in English and Vietnamese.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import functools
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable, Sequence

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient

from consult import db
from consult.queries import _Params
from consult.models import CommentStatus, DecisionReason, OutcomeDecision, Question, QuestionKind, Stance, VoteValue
from consult.profile import PROVINCES, RESPONDENT_KINDS

KINDS = ("comments", "votes", "responses")  # the participants' data
TABLES = (*KINDS, "answers")  # and the agency's answer table, which every function here takes too
BATCH = 5000
BOM = codecs.BOM_UTF8

# A cell beginning with one of these is read as a formula by Excel, LibreOffice and Google Sheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 cannot hold (openpyxl raises IllegalCharacterError on the first range; Excel refuses the rest).
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
XLSX_CELL_MAX = 32_767  # characters in one Excel cell
XLSX_SHEET_ROWS = 1_048_576  # rows in one Excel sheet, the header included
MAX_ID = 2**31 - 1  # the largest id a 32-bit integer column holds
_NUMBERED = re.compile(r"\$\d+")  # PostgreSQL's placeholders, as consult.db.fetch rewrites them for SQLite

PublishText = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Column:
    """One column of an export: its stable name, its Table Schema type, the SQL giving its value, and its
    entry in the data dictionary. ``audience`` is "both", "personal" or "public"."""

    name: str
    type: str  # Table Schema: string, integer, boolean, datetime
    sql: str
    description: str
    description_vi: str
    audience: str = "both"
    enum: tuple[str, ...] = ()

    def field(self) -> dict[str, Any]:
        """The Table Schema field descriptor: the data dictionary's entry for this column."""
        field: dict[str, Any] = {"name": self.name, "type": self.type, "description": self.description, "description_vi": self.description_vi}
        if self.enum:
            field["constraints"] = {"enum": list(self.enum)}
        return field


def _values(enum: Iterable[Any]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


_KEY_EN = (
    "Pseudonymous key of the participant: the same for every comment, vote and answer of one person in this "
    "consultation, different in every other consultation, and not a way to find out who they are. Empty when the "
    "account has been deleted."
)
_KEY_VI = (
    "Mã bí danh của người tham gia: giống nhau cho mọi góp ý, lượt bày tỏ và câu trả lời của cùng một người trong "
    "đợt lấy ý kiến này, khác nhau giữa các đợt, và không cho biết người đó là ai. Để trống nếu tài khoản đã bị xóa."
)
_TIME_EN = "UTC, ISO 8601; cut to the minute in the anonymised data."
_TIME_VI = "giờ UTC, theo ISO 8601; trong dữ liệu ẩn danh chỉ chính xác đến phút."
_TEXT_EN = (
    "A text beginning with =, +, -, @, a tab or a carriage return is prefixed with ' in CSV and XLSX files, so "
    "that spreadsheets show it rather than run it as a formula; JSON holds it unchanged."
)
_TEXT_VI = (
    "Văn bản bắt đầu bằng =, +, -, @, dấu tab hoặc ký tự xuống dòng được thêm dấu ' ở đầu trong tệp CSV và XLSX để "
    "bảng tính hiển thị chứ không chạy như công thức; tệp JSON giữ nguyên."
)


def _person_columns(account: str) -> list[Column]:
    """Who wrote or voted, for the personal exports only; the public ones get the participant key instead."""
    return [
        Column("participant_key", "string", account, _KEY_EN, _KEY_VI, "public"),
        Column("account_id", "integer", account, "Account of the participant; empty when the account has been deleted.",
               "Mã tài khoản của người tham gia; để trống nếu tài khoản đã bị xóa.", "personal"),
        Column("display_name", "string", "a.display_name", "The participant's public display name (a pseudonym by default).",
               "Tên hiển thị công khai của người tham gia (mặc định là bí danh).", "personal"),
        Column("email", "string", "a.email", "The participant's e-mail address: personal data, never published.",
               "Địa chỉ thư điện tử của người tham gia: dữ liệu cá nhân, không bao giờ công bố.", "personal"),
    ]  # fmt: skip


COMMENT_COLUMNS: list[Column] = [
    Column("comment_id", "integer", "c.id", "Identifier of the comment, unique on the site.", "Mã số của góp ý, duy nhất trên toàn trang."),
    Column("parent_id", "integer", "c.parent_id",
           "The comment this one replies to; empty for a comment on the draft or one of its articles. In the anonymised "
           "data it may name a comment that is not published, and so not in the file.",
           "Góp ý mà góp ý này trả lời; để trống nếu là góp ý cho dự thảo hoặc một điều. Trong dữ liệu ẩn danh, đó có "
           "thể là một góp ý không được công bố nên không có trong tệp."),
    *_person_columns("c.author_id"),
    Column("province", "string", "a.province",
           "Province or city the author declared (a code of consult/profile.py, e.g. ha-noi; abroad: outside Viet Nam); "
           "empty when not given.",
           "Tỉnh, thành phố người góp ý tự khai (mã, ví dụ ha-noi; abroad: ngoài Việt Nam); để trống nếu không khai.",
           "personal", tuple(code for code, _vi, _en in PROVINCES)),
    Column("respondent_kind", "string", "a.respondent_kind",
           "Kind of respondent the author declared: a private person, a business, an association or non-profit, "
           "a public body, a researcher or expert; empty when not given.",
           "Loại người góp ý tự khai: cá nhân, doanh nghiệp, hội hoặc tổ chức phi lợi nhuận, cơ quan nhà nước, nhà "
           "nghiên cứu hoặc chuyên gia; để trống nếu không khai.", "personal", RESPONDENT_KINDS),
    Column("status", "string", "c.status",
           "Moderation status: pending, published, rejected (never shown), hidden (taken down) or withdrawn by its author.",
           "Trạng thái kiểm duyệt: pending (chờ), published (đã công bố), rejected (bị từ chối), hidden (bị ẩn), "
           "withdrawn (tác giả đã rút).", "personal", _values(CommentStatus)),
    Column("reason_code", "string", "c.reason_code",
           "Why the comment was rejected or hidden: " + ", ".join(_values(DecisionReason)) + ", or flagged (hidden by "
           "participants' reports, waiting for a moderator).",
           "Lý do góp ý bị từ chối hoặc bị ẩn: " + ", ".join(_values(DecisionReason)) + ", hoặc flagged (bị ẩn do nhiều "
           "người báo cáo, chờ người kiểm duyệt).", "personal"),
    Column("created_at", "datetime", "c.created_at", "When the comment was written; " + _TIME_EN, "Thời điểm viết góp ý; " + _TIME_VI),
    Column("published_at", "datetime", "c.published_at", "When the comment was published; empty if it never was; " + _TIME_EN,
           "Thời điểm góp ý được công bố; để trống nếu chưa từng công bố; " + _TIME_VI),
    Column("article_position", "integer", "ar.position",
           "Position in the draft of the article commented on; empty for a comment on the whole draft.",
           "Số thứ tự trong dự thảo của điều được góp ý; để trống nếu góp ý cho toàn bộ dự thảo."),
    Column("article_label", "string", "ar.label", "Label of that article, as the draft names it (e.g. Điều 1).",
           "Tên của điều đó như trong dự thảo (ví dụ Điều 1)."),
    Column("stance", "string", "c.stance", "The author's stance: support, oppose or change (suggests a change); empty for replies.",
           "Quan điểm: support (ủng hộ), oppose (phản đối), change (đề nghị sửa đổi); để trống với câu trả lời.", enum=_values(Stance)),
    Column("body", "string", "c.body", "Text of the comment. " + _TEXT_EN, "Nội dung góp ý. " + _TEXT_VI),
    Column("proposed_wording", "string", "c.proposed_wording", "Wording the author proposes instead of the article's, if any. " + _TEXT_EN,
           "Nội dung người góp ý đề xuất thay cho điều đó, nếu có. " + _TEXT_VI),
    Column("agree_count", "integer", "c.agree_count", "Participants who agree with the comment.", "Số người đồng ý với góp ý."),
    Column("disagree_count", "integer", "c.disagree_count", "Participants who disagree with the comment.", "Số người không đồng ý với góp ý."),
    Column("pass_count", "integer", "c.pass_count", "Participants who passed (neither agree nor disagree).", "Số người bỏ qua (không đồng ý cũng không phản đối)."),
    Column("flag_count", "integer", "c.flag_count", "Reports of the comment by participants (abuse, spam...).",
           "Số lần người tham gia báo cáo góp ý (xúc phạm, rác...).", "personal"),
    Column("campaign_id", "integer", "c.campaign_id",
           "Group of near-identical comments (a form letter copied by many) the comment belongs to, if any.",
           "Nhóm góp ý gần như giống hệt nhau (một mẫu thư được nhiều người gửi) mà góp ý thuộc về, nếu có."),
    Column("redacted", "boolean", "CASE WHEN c.redacted_at IS NULL THEN 0 ELSE 1 END",
           "True when a moderator removed personal data from the text (shown as […]).",
           "True nếu người kiểm duyệt đã xóa dữ liệu cá nhân khỏi nội dung (hiển thị là […])."),
]  # fmt: skip

VOTE_COLUMNS: list[Column] = [
    Column("vote_id", "integer", "v.id", "Identifier of the vote.", "Mã số của lượt bày tỏ."),
    Column("comment_id", "integer", "v.comment_id", "The comment voted on (comment_id in comments).", "Góp ý được bày tỏ (comment_id trong bảng góp ý)."),
    *_person_columns("v.account_id"),
    Column("value", "string", "v.value", "agree, disagree or pass.", "agree (đồng ý), disagree (không đồng ý) hoặc pass (bỏ qua).", enum=_values(VoteValue)),
    Column("created_at", "datetime", "v.created_at", "When the vote was first cast; " + _TIME_EN, "Thời điểm bày tỏ lần đầu; " + _TIME_VI),
    Column("updated_at", "datetime", "v.updated_at", "When the vote was last changed; " + _TIME_EN, "Thời điểm thay đổi gần nhất; " + _TIME_VI),
]  # fmt: skip

RESPONSE_COLUMNS: list[Column] = [
    Column("answer_id", "integer", "x.id", "Identifier of the answer: one row per chosen option, scale value or text.",
           "Mã số câu trả lời: mỗi dòng là một lựa chọn, một giá trị thang điểm hoặc một câu trả lời tự do."),
    Column("response_id", "integer", "x.response_id", "The participant's set of answers this answer belongs to.",
           "Bộ câu trả lời của người tham gia chứa câu trả lời này.", "personal"),
    *_person_columns("x.account_id"),
    Column("question_id", "integer", "x.question_id", "Identifier of the question.", "Mã số câu hỏi."),
    Column("question_position", "integer", "q.position", "Position of the question in the consultation.", "Số thứ tự câu hỏi trong đợt lấy ý kiến."),
    Column("question_kind", "string", "q.kind",
           "single (one option), multiple (any number of options), scale (1 to 5) or text (free text).",
           "single (một lựa chọn), multiple (nhiều lựa chọn), scale (thang 1 đến 5) hoặc text (trả lời tự do).", enum=_values(QuestionKind)),
    Column("question_prompt", "string", "q.prompt", "The question as asked.", "Nội dung câu hỏi."),
    Column("option", "integer", "x.option",
           "For a choice question, the number of the option chosen, counting from 1 in the question's list; for a "
           "scale, the value from 1 to 5; empty for free text.",
           "Với câu hỏi lựa chọn: số thứ tự của phương án được chọn, đếm từ 1; với thang điểm: giá trị từ 1 đến 5; để "
           "trống với câu trả lời tự do."),
    Column("option_label", "string", "NULL", "The text of the option chosen (for a scale, the value).", "Nội dung phương án được chọn (với thang điểm: giá trị)."),
    Column("text", "string", "x.text",
           "A free-text answer. In the anonymised data it is empty unless it went through the removal of personal "
           "data, since free-text answers are not moderated. " + _TEXT_EN,
           "Câu trả lời tự do. Trong dữ liệu ẩn danh, để trống trừ khi đã được loại bỏ dữ liệu cá nhân, vì câu trả lời "
           "tự do không qua kiểm duyệt. " + _TEXT_VI),
    Column("created_at", "datetime", "x.created_at", "When the participant first answered; " + _TIME_EN, "Thời điểm người tham gia trả lời lần đầu; " + _TIME_VI),
    Column("updated_at", "datetime", "x.updated_at", "When the participant last changed the answers; " + _TIME_EN,
           "Thời điểm người tham gia sửa câu trả lời gần nhất; " + _TIME_VI),
]  # fmt: skip

# The agency's answer table (giải trình, tiếp thu): written by officials, it names no participant, so both
# audiences get the same columns. Ordered by its position, not its id.
OUTCOME_COLUMNS: list[Column] = [
    Column("position", "integer", "o.position", "Order of the row in the agency's answer table.", "Thứ tự của dòng trong bảng giải trình, tiếp thu."),
    Column("kind", "string", "o.kind", "article (about one article), theme (a theme across the draft) or general.",
           "article (về một điều), theme (một chủ đề chung) hoặc general (chung).", enum=("article", "theme", "general")),
    Column("article_position", "integer", "ar.position", "Position in the draft of the article the row is about (kind article).",
           "Số thứ tự trong dự thảo của điều mà dòng đề cập (loại article)."),
    Column("article_label", "string", "ar.label", "Label of that article.", "Tên của điều đó."),
    Column("title", "string", "o.title", "What the row is about.", "Nội dung dòng đề cập."),
    Column("comment_count", "integer", "o.comment_count", "Comments the agency counted on it.", "Số góp ý cơ quan đã tổng hợp về nội dung này."),
    Column("summary", "string", "o.summary", "The agency's summary of what was said.", "Tóm tắt của cơ quan về các ý kiến đã nhận."),
    Column("decision", "string", "o.decision", "accepted, partly (accepted in part) or not_accepted; empty while undecided.",
           "accepted (tiếp thu), partly (tiếp thu một phần) hoặc not_accepted (không tiếp thu); để trống nếu chưa quyết định.",
           enum=_values(OutcomeDecision)),
    Column("reason", "string", "o.reason", "The agency's explanation of its decision.", "Giải trình của cơ quan về quyết định."),
]  # fmt: skip

_COLUMNS = {"comments": COMMENT_COLUMNS, "votes": VOTE_COLUMNS, "responses": RESPONSE_COLUMNS, "answers": OUTCOME_COLUMNS}


def _check_kind(kind: str) -> None:
    if kind not in _COLUMNS:
        raise ValueError(f"unknown export {kind!r}: one of {', '.join(TABLES)}")


def export_columns(kind: str, *, personal: bool) -> list[Column]:
    _check_kind(kind)
    skip = "public" if personal else "personal"
    return [column for column in _COLUMNS[kind] if column.audience != skip]


def columns(kind: str, *, personal: bool) -> list[str]:
    """The column names of an export, in order: the CSV header."""
    return [column.name for column in export_columns(kind, personal=personal)]


def schema_fields(kind: str, *, personal: bool = False) -> list[dict[str, Any]]:
    """The Table Schema fields of an export: name, type, description (English and Vietnamese), allowed values."""
    return [column.field() for column in export_columns(kind, personal=personal)]


def participant_key(secret: str, consultation_id: int, account_id: int | None) -> str:
    """The pseudonym of an account within one consultation: the first 12 hex digits of
    HMAC-SHA256(secret, "consultation_id:account_id"); "" for a deleted account.

    Keyed, so nobody without the secret can compute the key of a known account id (ids are small numbers, a
    plain hash would be reversed by trying them all); per consultation, so one person's keys cannot be linked
    across consultations. 48 bits: no collision to expect among millions of participants."""
    if account_id is None:
        return ""
    return hmac.new(secret.encode(), f"{consultation_id}:{account_id}".encode(), hashlib.sha256).hexdigest()[:12]


def _keyer(secret: str, consultation_id: int) -> Callable[[int | None], str]:
    """participant_key for one consultation: the one-shot HMAC in C (no Python HMAC object per key), and recent
    accounts remembered in a bounded cache (memory stays flat however many people took part)."""
    if not secret:
        raise ValueError("a secret is required to make participant keys")
    key, prefix, digest = secret.encode(), f"{consultation_id}:", hmac.digest

    @functools.lru_cache(maxsize=16_384)
    def participant(account_id: int | None) -> str:
        if account_id is None:
            return ""
        return digest(key, (prefix + str(account_id)).encode(), "sha256")[:6].hex()

    return participant


# --- the queries ---------------------------------------------------------------------------------------


def _time_sql(expression: str, dialect: str, *, minute: bool) -> str:
    """A timestamp as ISO 8601 UTC text, formatted by the database (the same text from SQLite and PostgreSQL,
    and cheaper there than a strftime per value in Python). Cut to the minute, the seconds read :00, which
    keeps it a valid Table Schema datetime."""
    if dialect == "postgres":
        pattern = 'YYYY-MM-DD"T"HH24:MI":00Z"' if minute else 'YYYY-MM-DD"T"HH24:MI:SS"Z"'
        return f"to_char({expression} AT TIME ZONE 'UTC', '{pattern}')"
    # SQLite holds Tortoise's times as text with their offset; strftime turns them into UTC.
    return f"strftime('{'%Y-%m-%dT%H:%M:00Z' if minute else '%Y-%m-%dT%H:%M:%SZ'}', {expression})"


def _select(kind: str, personal: bool, dialect: str) -> str:
    parts = []
    for column in export_columns(kind, personal=personal):
        expression = _time_sql(column.sql, dialect, minute=not personal) if column.type == "datetime" else column.sql
        parts.append(f'{expression} AS "{column.name}"')
    return "SELECT " + ", ".join(parts)


def _batch_sql(
    kind: str, consultation_id: int, personal: bool, after: Any, batch: int, dialect: str, upto: int = MAX_ID,
) -> tuple[str, list[Any]]:
    """One keyset page of an export, at most ``batch`` rows after the cursor ``after``: comments and answers by
    id, votes by (comment id, account id), the answer table by (position, id). Comments and votes stay within
    the consultation's comments, up to ``upto`` (the last one's id): without it the last batch, reading the
    primary key for rows of this consultation, would read on through every later comment of the site."""
    p = _Params()
    select = _select(kind, personal, dialect)
    # Each batch is chosen from one table in a subquery, and only its rows are joined: a plain join with LIMIT
    # let PostgreSQL hash the whole rest of the consultation against every account and sort it, batch after
    # batch (650 ms a batch at 100,000 comments, where this takes 20).
    if kind == "comments":
        inner = f"SELECT * FROM comment c WHERE c.consultation_id = {p(consultation_id)}"
        if not personal:
            inner += f" AND c.status = {p(CommentStatus.PUBLISHED.value)}"
        inner += f" AND c.id > {p(after)} AND c.id <= {p(upto)} ORDER BY c.id LIMIT {p(batch)}"
        account = " LEFT JOIN account a ON a.id = c.author_id" if personal else ""
        sql = f"{select} FROM ({inner}) c LEFT JOIN article ar ON ar.id = c.article_id{account} ORDER BY c.id"
    elif kind == "votes":
        # A consultation's votes are scattered through the vote table: they are read comment by comment (its
        # index), each comment's votes through the (comment, account) index, in that order, which is the cursor.
        # Votes by id would have to be sorted from all of the consultation's votes at every batch.
        after_comment, after_account = after
        # Placeholders in the order they appear (SQLite's ? are positional): the consultation, then the status.
        of_consultation = f"c.consultation_id = {p(consultation_id)}" + (f" AND c.status = {p(CommentStatus.PUBLISHED.value)}" if not personal else "")
        cursor = 'v.comment_id AS "_comment", v.account_id AS "_account"'
        if dialect == "postgres":
            # LATERAL: a nested loop in comment order whatever the estimates, stopped by the LIMIT.
            comments = f"SELECT c.id FROM comment c WHERE {of_consultation} AND c.id >= {p(after_comment)} AND c.id <= {p(upto)}"
            votes = f"SELECT v.* FROM vote v WHERE v.comment_id = cs.id AND (cs.id > {p(after_comment)} OR v.account_id > {p(after_account)}) ORDER BY v.account_id LIMIT {p(batch)}"
            account = " JOIN account a ON a.id = v.account_id" if personal else ""
            sql = f"{select}, {cursor} FROM ({comments}) cs CROSS JOIN LATERAL ({votes}) v{account} ORDER BY cs.id, v.account_id LIMIT {p(batch)}"
        else:  # SQLite has no LATERAL, and its planner walks the same indexes in this order anyway
            account = " JOIN account a ON a.id = v.account_id" if personal else ""
            sql = (
                f"{select}, {cursor} FROM comment c JOIN vote v ON v.comment_id = c.id{account} WHERE {of_consultation}"
                f" AND c.id >= {p(after_comment)} AND c.id <= {p(upto)} AND (c.id > {p(after_comment)} OR v.account_id > {p(after_account)})"
                f" ORDER BY c.id, v.account_id LIMIT {p(batch)}"
            )
    elif kind == "answers":
        position, item = after if isinstance(after, tuple) else (-(2**31), 0)
        sql = (
            f'{select}, o.id AS "_cursor" FROM outcome_item o LEFT JOIN article ar ON ar.id = o.article_id WHERE o.consultation_id = {p(consultation_id)}'
            f" AND (o.position > {p(position)} OR (o.position = {p(position)} AND o.id > {p(item)})) ORDER BY o.position, o.id LIMIT {p(batch)}"
        )
    else:
        inner = (
            "SELECT x.id, x.response_id, x.question_id, x.option, x.text, r.account_id, r.created_at, r.updated_at FROM answer x "
            f"JOIN question_response r ON r.id = x.response_id WHERE r.consultation_id = {p(consultation_id)} AND x.id > {p(after)} "
            f"ORDER BY x.id LIMIT {p(batch)}"
        )
        account = " JOIN account a ON a.id = x.account_id" if personal else ""
        sql = f"{select} FROM ({inner}) x JOIN question q ON q.id = x.question_id{account} ORDER BY x.id"
    return sql, p.values


async def _fetch_rows(sql: str, params: list[Any]) -> list[list[Any]]:
    return [list(record) for record in await db.fetch_rows(sql, *params)]


async def _questions(consultation_id: int) -> dict[int, tuple[str, list[str]]]:
    """Each question's kind and options, read once: the answers carry the option's number, the export its text."""
    rows = await Question.filter(consultation_id=consultation_id).values("id", "kind", "options")
    return {row["id"]: (getattr(row["kind"], "value", row["kind"]), list(row["options"] or [])) for row in rows}


def _option_fixer(names: list[str], questions: dict[int, tuple[str, list[str]]], personal: bool, publish_text: PublishText | None) -> Callable[[list[list[Any]]], None]:
    """The responses' own finishing: option numbers from 1 and their text, free text withheld or redacted."""
    question_at, option_at, label_at, text_at = (names.index(name) for name in ("question_id", "option", "option_label", "text"))

    def fix(batch: list[list[Any]]) -> None:
        for row in batch:
            option = row[option_at]
            if option is not None:
                kind, options = questions.get(row[question_at], ("", []))
                if kind == QuestionKind.SCALE.value:
                    row[label_at] = str(option)
                else:
                    row[label_at] = options[option] if 0 <= option < len(options) else ""
                    row[option_at] = option + 1  # stored from 0; people count options from 1
            if not personal and row[text_at] is not None:
                row[text_at] = publish_text(row[text_at]) if publish_text else None

    return fix


async def rows(
    kind: str, consultation_id: int, *, personal: bool, secret: str, batch: int = BATCH, publish_text: PublishText | None = None,
) -> AsyncIterator[list[list[Any]]]:
    """The export's rows in batches of at most ``batch``, values in the order of ``columns``: comments and
    answers in id order, votes by comment then voter (the vote's index), the answer table by position.

    One query per batch, keyset-paged, so memory holds one batch whatever the size of the consultation.
    Integers and booleans are Python values, times ISO 8601 text, missing values None; text is as stored
    (the CSV and XLSX writers make it safe for spreadsheets)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    names = columns(kind, personal=personal)
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    key_at = names.index("participant_key") if "participant_key" in names else None
    keyer = _keyer(secret, consultation_id) if key_at is not None else None
    bools = [i for i, column in enumerate(export_columns(kind, personal=personal)) if column.type == "boolean"]
    fix = _option_fixer(names, await _questions(consultation_id), personal, publish_text) if kind == "responses" else None
    # The next batch is asked for before this one is handed on: the database finds and sends it while Python
    # writes this one, each on its own core. Not inside a transaction, whose one connection takes one query at a time.
    prefetch = not isinstance(connection, TransactionalDBClient)

    # Comments and votes stay between the consultation's first and last comment: the primary key is read from
    # there, not from the site's first comment, and not on past its last.
    upto, start = MAX_ID, 0
    if kind in ("comments", "votes"):
        bounds = (await db.fetch("SELECT MIN(id) AS first, MAX(id) AS last FROM comment WHERE consultation_id = $1", consultation_id))[0]
        if bounds["first"] is None:
            return
        upto, start = bounds["last"], bounds["first"] - 1
    following: Any = {"comments": start, "votes": (start + 1, 0), "answers": None}.get(kind, 0)

    async def fetch(after: Any) -> list[list[Any]]:
        sql, params = _batch_sql(kind, consultation_id, personal, after, batch, dialect, upto)
        return await _fetch_rows(sql, params)

    pending: asyncio.Future[list[list[Any]]] | None = None
    try:
        while True:
            if pending is not None:
                fetched, pending = await pending, None
            else:
                fetched = await fetch(following)
            if not fetched:
                return
            out = fetched
            if kind == "answers":
                following = (out[-1][0], out[-1][-1])  # position, then the id read after the columns
                for row in out:
                    del row[-1]
            elif kind == "votes":
                following = (out[-1][-2], out[-1][-1])  # comment and account, read after the columns
                for row in out:
                    del row[-2:]
            else:
                following = out[-1][0]  # the id is the first column of the participants' tables
            more = len(fetched) == batch
            if more and prefetch:
                pending = asyncio.ensure_future(fetch(following))
            if keyer is not None:
                for row in out:
                    row[key_at] = keyer(row[key_at])
            for i in bools:
                for row in out:
                    if row[i] is not None:
                        row[i] = bool(row[i])  # SQLite gives 0 and 1
            if fix is not None:
                fix(out)
            yield out
            if not more:
                return
    finally:
        if pending is not None:  # the reader stopped early (a download cancelled): no query left running
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending


# --- CSV ----------------------------------------------------------------------------------------------


def safe_text(value: str) -> str:
    """A text a spreadsheet shows rather than runs: a leading formula character gets a single quote before it."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _csv_text(value: Any) -> str:
    """A text cell: safe for spreadsheets, quoted as RFC 4180 wants when it holds a quote, comma or line break."""
    if value is None:
        return ""
    if type(value) is not str:
        value = str(value)
    if value.startswith(FORMULA_START):
        value = "'" + value
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return '"' + value + '"'
    return value


def _csv_boolean(value: Any) -> str:
    return "" if value is None else ("true" if value else "false")


def _csv_line(types: Sequence[str], plain: frozenset[int] = frozenset()) -> Callable[[Sequence[Any]], str]:
    """A function making one CSV line of a row, written out for these column types. About three times faster
    than csv.writer, which copies a field one character at a time (25-45 us for a row with a 400-character
    comment on this machine); here str methods scan the text. The generated code holds column positions only,
    never data."""
    cells = []
    for i, kind in enumerate(types):
        if kind == "string" and i not in plain:
            cells.append(f"{{_text(r[{i}])}}")
        elif kind == "boolean":
            cells.append(f"{{_boolean(r[{i}])}}")
        else:  # integers, times formatted by the database, codes (``plain``): never a quote, comma or formula character
            cells.append(f'{{"" if r[{i}] is None else r[{i}]}}')
    return eval("lambda r: f'" + ",".join(cells) + "'", {"_text": _csv_text, "_boolean": _csv_boolean})  # noqa: S307


class CsvEncoder:
    """Batches of export rows as CSV bytes (RFC 4180: minimal quoting, CRLF; UTF-8), text made safe for
    spreadsheets, booleans as true/false. ``header()`` starts the file with the byte order mark."""

    def __init__(self, fields: Sequence[Column] | Sequence[dict[str, Any]]):
        described = [field.field() if isinstance(field, Column) else field for field in fields]
        self.names = [field["name"] for field in described]
        # Codes from a fixed list and the hex participant keys need neither quotes nor a formula guard.
        plain = frozenset(i for i, field in enumerate(described) if "constraints" in field or field["name"] == "participant_key")
        self.line = _csv_line([field["type"] for field in described], plain)

    def header(self) -> bytes:
        return BOM + (",".join(_csv_text(name) for name in self.names) + "\r\n").encode("utf-8")

    def encode(self, batch: Sequence[Sequence[Any]]) -> bytes:
        if not batch:
            return b""
        return ("\r\n".join(map(self.line, batch)) + "\r\n").encode("utf-8")


async def csv_chunks(
    kind: str, consultation_id: int, *, personal: bool, secret: str, batch: int = BATCH, publish_text: PublishText | None = None,
) -> AsyncIterator[bytes]:
    """The export as CSV: the byte order mark and the header row first, then one chunk per batch of rows;
    for a starlette StreamingResponse (media type text/csv; charset=utf-8)."""
    encoder = CsvEncoder(export_columns(kind, personal=personal))
    yield encoder.header()
    async for chunk in rows(kind, consultation_id, personal=personal, secret=secret, batch=batch, publish_text=publish_text):
        yield encoder.encode(chunk)


# --- XLSX ---------------------------------------------------------------------------------------------


def xlsx_text(value: str) -> str:
    """A text as an Excel cell can hold it: no character XML forbids, at most 32,767 characters, safe, and
    line breaks as Excel writes them (LF: XML would turn a bare CR into LF anyway, and CRLF into LF)."""
    value = XML_ILLEGAL.sub("", value)
    if len(value) >= XLSX_CELL_MAX:
        value = value[: XLSX_CELL_MAX - 1]  # the quote safe_text may add still fits
    value = safe_text(value)
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


class _Sheets:
    """A write-only workbook (rows go to a temporary file as they come: bounded memory), one sheet after
    another when a table is longer than a sheet, each with the bold header row."""

    def __init__(self, title: str, names: list[str], strings: list[int], wide: set[int]):
        from openpyxl import Workbook

        self.workbook = Workbook(write_only=True)
        self.title, self.names, self.strings, self.wide = title, names, strings, wide
        self.sheets = 0
        self.room = 0

    def _new_sheet(self) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self.sheets += 1
        sheet = self.workbook.create_sheet(self.title if self.sheets == 1 else f"{self.title} ({self.sheets})")
        for i in range(len(self.names)):
            sheet.column_dimensions[get_column_letter(i + 1)].width = 60 if i in self.wide else 16
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for name in self.names:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        self.sheet = sheet
        self.room = XLSX_SHEET_ROWS - 1

    def append(self, batch: list[list[Any]]) -> None:
        if not self.sheets:
            self._new_sheet()
        for row in batch:
            if not self.room:
                self._new_sheet()
            cells = list(row)
            for i in self.strings:
                if cells[i] is not None:
                    cells[i] = xlsx_text(cells[i])
            self.sheet.append(cells)
            self.room -= 1

    def save(self, path: Path) -> None:
        if not self.sheets:
            self._new_sheet()
        self.workbook.save(path)


async def write_xlsx(
    kind: str, consultation_id: int, path: Path, *, personal: bool, secret: str, batch: int = BATCH, publish_text: PublishText | None = None,
) -> int:
    """The export as an XLSX workbook at ``path`` (written under a temporary name, then renamed): a sheet named
    after the table with a bold, frozen header row. Returns the number of rows written (the header not counted).

    openpyxl's work (each batch, then the zipping) runs in a thread, so a web process running jobs keeps
    answering requests meanwhile."""
    path = Path(path)
    described = export_columns(kind, personal=personal)
    strings = [i for i, column in enumerate(described) if column.type == "string"]
    wide = {i for i, column in enumerate(described) if column.name in ("body", "proposed_wording", "text", "question_prompt")}
    sheets = _Sheets(kind, [column.name for column in described], strings, wide)
    written = 0
    async for chunk in rows(kind, consultation_id, personal=personal, secret=secret, batch=batch, publish_text=publish_text):
        await asyncio.to_thread(sheets.append, chunk)
        written += len(chunk)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        await asyncio.to_thread(sheets.save, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return written
