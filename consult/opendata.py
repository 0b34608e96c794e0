"""The anonymised open data package of a consultation, written when the agency publishes its outcome.

A folder holding, as CSV (UTF-8 with a byte order mark, for Excel) and, where a person is likely to want them
as JSON too, as JSON arrays of objects with the same rows:

- comments.csv, comments.json: the published comments (``consult.exports``, public audience);
- votes.csv: the agree / disagree / pass votes on them;
- responses.csv: the answers to the consultation's questions (free text withheld unless redacted, see exports);
- tallies.csv, tallies.json: the counts a reader would compute from those files, by SQL aggregates: per article,
  for comments on the whole draft and for the whole consultation, comments by stance and votes by value; per
  question and option, how many chose it;
- answers.csv, answers.json: the agency's answer table (giải trình, tiếp thu), one row per OutcomeItem;
- report.json, when a report is given: the published report's figures, as given;
- datapackage.json: a Frictionless Data Package (https://specs.frictionlessdata.io/data-package/): name, title,
  licence, homepage, and one tabular resource per CSV with its size, SHA-256 and Table Schema (the data
  dictionary, in English with Vietnamese in ``description_vi``).

Nothing personal goes in: no name, e-mail, account id, province or respondent kind; people appear only as
participant keys (an HMAC per consultation, see ``consult.exports.participant_key``) and times are cut to the
minute.

Every file is written under a hidden temporary name in the folder and renamed into place once complete,
datapackage.json last, so a half-written file is never served; a server should only serve the names returned.
Writing the package again over the same data gives the same bytes (no time of writing in it: ``created`` is
when the outcome was published), so a job that runs twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets as token_source
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from consult import db, exports
from consult.exports import Column, CsvEncoder, PublishText
from consult.models import CommentStatus, Consultation, Question, QuestionKind, Stance, VoteValue
from consult.text.normalize import remove_diacritics

# Open Definition / SPDX identifiers of the usual open data licences: the canonical name, its text, its title.
LICENCES: dict[str, tuple[str, str, str]] = {
    "cc-by-4.0": ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/", "Creative Commons Attribution 4.0 International"),
    "cc-by-sa-4.0": ("CC-BY-SA-4.0", "https://creativecommons.org/licenses/by-sa/4.0/", "Creative Commons Attribution-ShareAlike 4.0 International"),
    "cc0-1.0": ("CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/", "Creative Commons CC0 1.0 Universal (public domain dedication)"),
    "odc-by-1.0": ("ODC-BY-1.0", "https://opendatacommons.org/licenses/by/1-0/", "Open Data Commons Attribution License 1.0"),
    "odc-odbl-1.0": ("ODC-ODbL-1.0", "https://opendatacommons.org/licenses/odbl/1-0/", "Open Data Commons Open Database License 1.0"),
    "odbl-1.0": ("ODC-ODbL-1.0", "https://opendatacommons.org/licenses/odbl/1-0/", "Open Data Commons Open Database License 1.0"),
    "odc-pddl-1.0": ("ODC-PDDL-1.0", "https://opendatacommons.org/licenses/pddl/1-0/", "Open Data Commons Public Domain Dedication and License 1.0"),
    "pddl-1.0": ("ODC-PDDL-1.0", "https://opendatacommons.org/licenses/pddl/1-0/", "Open Data Commons Public Domain Dedication and License 1.0"),
}

# The files of a package, in the order they are listed; report.json only when a report is given.
FILES = (
    "comments.csv", "comments.json", "votes.csv", "responses.csv", "tallies.csv", "tallies.json",
    "answers.csv", "answers.json", "report.json", "datapackage.json",
)  # fmt: skip

SCOPES = ("consultation", "draft", "article", "question", "option")

TALLY_COLUMNS: list[Column] = [
    Column("scope", "string", "",
           "What the row counts: consultation (every published comment), draft (comments on the whole draft rather "
           "than an article), article (one article), question (one question), option (one option of a question).",
           "Phạm vi của dòng: consultation (mọi góp ý đã công bố), draft (góp ý cho toàn bộ dự thảo, không cho một "
           "điều cụ thể), article (một điều), question (một câu hỏi), option (một phương án của câu hỏi).", enum=SCOPES),
    Column("article_position", "integer", "", "Position of the article in the draft (scope article).", "Số thứ tự của điều trong dự thảo (phạm vi article)."),
    Column("article_label", "string", "", "Label of the article, e.g. Điều 1 (scope article).", "Tên của điều, ví dụ Điều 1 (phạm vi article)."),
    Column("question_id", "integer", "", "Identifier of the question (scopes question and option), as in responses.csv.",
           "Mã số câu hỏi (phạm vi question và option), như trong responses.csv."),
    Column("question_position", "integer", "", "Position of the question in the consultation.", "Số thứ tự câu hỏi trong đợt lấy ý kiến."),
    Column("question_kind", "string", "", "single, multiple, scale (1 to 5) or text.", "single, multiple, scale (thang 1 đến 5) hoặc text.",
           enum=tuple(kind.value for kind in QuestionKind)),
    Column("question_prompt", "string", "", "The question as asked.", "Nội dung câu hỏi."),
    Column("option", "integer", "", "Number of the option counting from 1, or the scale value (scope option).",
           "Số thứ tự phương án, đếm từ 1, hoặc giá trị thang điểm (phạm vi option)."),
    Column("option_label", "string", "", "Text of the option (for a scale, the value).", "Nội dung phương án (với thang điểm: giá trị)."),
    Column("comments", "integer", "", "Published comments, replies included.", "Số góp ý đã công bố, kể cả trả lời."),
    Column("comments_support", "integer", "", "Published comments that support.", "Số góp ý ủng hộ."),
    Column("comments_oppose", "integer", "", "Published comments that oppose.", "Số góp ý phản đối."),
    Column("comments_change", "integer", "", "Published comments that suggest a change.", "Số góp ý đề nghị sửa đổi."),
    Column("votes_agree", "integer", "", "Agree votes on those comments.", "Số lượt đồng ý với các góp ý đó."),
    Column("votes_disagree", "integer", "", "Disagree votes on those comments.", "Số lượt không đồng ý với các góp ý đó."),
    Column("votes_pass", "integer", "", "Pass votes on those comments.", "Số lượt bỏ qua với các góp ý đó."),
    Column("respondents", "integer", "", "Participants who answered the question (scope question).", "Số người đã trả lời câu hỏi (phạm vi question)."),
    Column("answers", "integer", "",
           "Answers: for a question every option chosen or text given, for an option how many chose it.",
           "Số câu trả lời: với câu hỏi là tổng số lựa chọn hoặc câu trả lời tự do, với phương án là số người đã chọn."),
]  # fmt: skip

RESOURCES: dict[str, tuple[str, str, str]] = {
    # name: (title, description, Vietnamese description)
    "comments": ("Published comments", "Every published comment and reply, without any detail of who wrote it.",
                 "Mọi góp ý và trả lời đã được công bố, không kèm thông tin về người viết."),
    "votes": ("Votes on the comments", "Agree, disagree and pass votes on the published comments.",
              "Các lượt đồng ý, không đồng ý và bỏ qua đối với các góp ý đã công bố."),
    "responses": ("Answers to the questions", "One row per option chosen, scale value or free-text answer.",
                  "Mỗi dòng là một phương án được chọn, một giá trị thang điểm hoặc một câu trả lời tự do."),
    "tallies": ("Tallies", "Comments by stance and votes by value per article, for the whole draft and the consultation; answers per question and option.",
                "Số góp ý theo quan điểm và số lượt bày tỏ theo từng điều, toàn bộ dự thảo và cả đợt; số câu trả lời theo câu hỏi và phương án."),
    "answers": ("The agency's answers", "The agency's answer table (giải trình, tiếp thu): what was said, what was accepted and why.",
                "Bảng giải trình, tiếp thu của cơ quan: ý kiến đã nhận, nội dung được tiếp thu và lý do."),
}  # fmt: skip


def licence_entry(licence: str) -> dict[str, str]:
    """The Data Package ``licenses`` entry for a licence identifier (case does not matter); an identifier this
    module does not know goes through by name."""
    known = LICENCES.get(licence.strip().lower())
    if known is None:
        return {"name": licence.strip()}
    name, path, title = known
    return {"name": name, "path": path, "title": title}


def package_name(slug: str) -> str:
    """A Data Package name (lower case letters, digits, '.', '-', '_') from a consultation's slug."""
    return re.sub(r"[^a-z0-9._-]+", "-", remove_diacritics(slug).lower()).strip("-") or "consultation"


def _utc(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _File:
    """A file of the package being written: under a hidden temporary name, hashed and counted as it goes."""

    def __init__(self, folder: Path, name: str):
        self.name = name
        self.path = folder / name
        self.temporary = folder / f".{name}.{os.getpid()}-{token_source.token_hex(4)}.tmp"
        self.handle = open(self.temporary, "wb")
        self.sha256 = hashlib.sha256()
        self.bytes = 0
        self.rows: int | None = None

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.sha256.update(data)
        self.bytes += len(data)

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.close()

    def entry(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes, "sha256": self.sha256.hexdigest(), "rows": self.rows}


class _JsonRows:
    """A JSON array of objects written one row at a time (the whole table is never in memory)."""

    def __init__(self, file: _File, names: Sequence[str]):
        self.file, self.names = file, list(names)
        self.count = 0
        file.write(b"[")

    def write(self, batch: Iterable[Sequence[Any]]) -> None:
        parts = []
        for row in batch:
            parts.append(("\n" if not self.count else ",\n") + json.dumps(dict(zip(self.names, row)), ensure_ascii=False))
            self.count += 1
        if parts:
            self.file.write("".join(parts).encode("utf-8"))

    def close(self) -> None:
        self.file.write(b"\n]\n" if self.count else b"]\n")
        self.file.rows = self.count


class _Package:
    """The files written so far; renamed into place together at the end, or all removed on failure."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.files: list[_File] = []

    def open(self, name: str) -> _File:
        file = _File(self.folder, name)
        self.files.append(file)
        return file

    def table(self, name: str, fields: Sequence[Column], batches: Iterable[list[list[Any]]], *, as_json: bool) -> None:
        """A small table already in memory, as CSV (and JSON)."""
        csv_file = self.open(f"{name}.csv")
        encoder = CsvEncoder(fields)
        csv_file.write(encoder.header())
        json_rows = _JsonRows(self.open(f"{name}.json"), encoder.names) if as_json else None
        count = 0
        for batch in batches:
            csv_file.write(encoder.encode(batch))
            if json_rows:
                json_rows.write(batch)
            count += len(batch)
        csv_file.rows = count
        if json_rows:
            json_rows.close()

    def commit(self) -> None:
        for file in self.files:
            file.close()
        # datapackage.json goes last: when it names a file, that file is complete.
        for file in sorted(self.files, key=lambda f: f.name == "datapackage.json"):
            os.replace(file.temporary, file.path)

    def discard(self) -> None:
        for file in self.files:
            file.close()
            file.temporary.unlink(missing_ok=True)


async def _export(package: _Package, kind: str, consultation_id: int, secret: str, publish_text: PublishText | None, *, as_json: bool) -> None:
    """One of the exports' tables, streamed batch by batch into its CSV (and JSON)."""
    fields = exports.export_columns(kind, personal=False)
    csv_file = package.open(f"{kind}.csv")
    encoder = CsvEncoder(fields)
    csv_file.write(encoder.header())
    json_rows = _JsonRows(package.open(f"{kind}.json"), encoder.names) if as_json else None
    count = 0
    async for batch in exports.rows(kind, consultation_id, personal=False, secret=secret, publish_text=publish_text):
        csv_file.write(encoder.encode(batch))
        if json_rows:
            json_rows.write(batch)
        count += len(batch)
    csv_file.rows = count
    if json_rows:
        json_rows.close()


# --- tallies ------------------------------------------------------------------------------------------

COMMENT_TALLY_SQL = """
SELECT c.article_id, c.stance, COUNT(*) AS n FROM comment c
WHERE c.consultation_id = $1 AND c.status = $2 GROUP BY c.article_id, c.stance"""
VOTE_TALLY_SQL = """
SELECT c.article_id, v.value, COUNT(*) AS n FROM vote v JOIN comment c ON c.id = v.comment_id
WHERE c.consultation_id = $1 AND c.status = $2 GROUP BY c.article_id, v.value"""
ANSWER_TALLY_SQL = """
SELECT x.question_id, x.option, COUNT(*) AS n FROM answer x JOIN question_response r ON r.id = x.response_id
WHERE r.consultation_id = $1 GROUP BY x.question_id, x.option"""
RESPONDENT_TALLY_SQL = """
SELECT x.question_id, COUNT(DISTINCT x.response_id) AS n FROM answer x JOIN question_response r ON r.id = x.response_id
WHERE r.consultation_id = $1 GROUP BY x.question_id"""
ARTICLES_SQL = "SELECT id, position, label FROM article WHERE consultation_id = $1 ORDER BY position, id"


async def tallies(consultation_id: int) -> list[list[Any]]:
    """The rows of tallies.csv, computed by SQL aggregates over the same rows the public files hold."""
    published = CommentStatus.PUBLISHED.value
    stances = [stance.value for stance in Stance]
    values = [value.value for value in VoteValue]
    comment_counts: dict[int | None, dict[str | None, int]] = {}
    for row in await db.fetch(COMMENT_TALLY_SQL, consultation_id, published):
        comment_counts.setdefault(row["article_id"], {})[row["stance"]] = row["n"]
    vote_counts: dict[int | None, dict[str, int]] = {}
    for row in await db.fetch(VOTE_TALLY_SQL, consultation_id, published):
        vote_counts.setdefault(row["article_id"], {})[row["value"]] = row["n"]
    articles = await db.fetch(ARTICLES_SQL, consultation_id)

    def comment_cells(article_ids: Iterable[int | None]) -> list[int]:
        ids = list(article_ids)
        by_stance = {key: sum(comment_counts.get(a, {}).get(key, 0) for a in ids) for key in [*stances, None]}
        by_value = {key: sum(vote_counts.get(a, {}).get(key, 0) for a in ids) for key in values}
        return [sum(by_stance.values()), *(by_stance[s] for s in stances), *(by_value[v] for v in values)]

    empty_question = [None] * 6
    out: list[list[Any]] = [
        ["consultation", None, None, *empty_question, *comment_cells(set(comment_counts) | set(vote_counts)), None, None],
        ["draft", None, None, *empty_question, *comment_cells([None]), None, None],
    ]
    for article in articles:
        out.append(["article", article["position"], article["label"], *empty_question, *comment_cells([article["id"]]), None, None])

    answer_counts: dict[int, dict[int | None, int]] = {}
    for row in await db.fetch(ANSWER_TALLY_SQL, consultation_id):
        answer_counts.setdefault(row["question_id"], {})[row["option"]] = row["n"]
    respondents = {row["question_id"]: row["n"] for row in await db.fetch(RESPONDENT_TALLY_SQL, consultation_id)}
    questions = await Question.filter(consultation_id=consultation_id).order_by("position", "id").values("id", "position", "kind", "prompt", "options")
    no_comments = [None] * 7
    for question in questions:
        kind = getattr(question["kind"], "value", question["kind"])
        counts = answer_counts.get(question["id"], {})
        base = [question["id"], question["position"], kind, question["prompt"]]
        out.append(["question", None, None, *base, None, None, *no_comments, respondents.get(question["id"], 0), sum(counts.values())])
        if kind == QuestionKind.TEXT.value:
            continue
        if kind == QuestionKind.SCALE.value:
            options = [(value, value, str(value)) for value in range(1, 6)]
        else:
            options = [(index, index + 1, label) for index, label in enumerate(question["options"] or [])]
        known = {stored for stored, _n, _l in options}
        # An option answered but no longer in the list (edited after answers came in) is still counted.
        options += [(stored, stored if kind == QuestionKind.SCALE.value else stored + 1, "") for stored in sorted(k for k in counts if k is not None and k not in known)]
        for stored, number, label in options:
            out.append(["option", None, None, *base, number, label, *no_comments, None, counts.get(stored, 0)])
    return out


# --- the package --------------------------------------------------------------------------------------


def _schema(name: str, fields: Sequence[Column]) -> dict[str, Any]:
    schema: dict[str, Any] = {"fields": [field.field() for field in fields], "missingValues": [""]}
    keys = {"comments": "comment_id", "votes": "vote_id", "responses": "answer_id"}
    if name in keys:
        schema["primaryKey"] = [keys[name]]
    if name == "votes":
        # Only votes on published comments are in the package: each one's comment is in comments.csv.
        schema["foreignKeys"] = [{"fields": ["comment_id"], "reference": {"resource": "comments", "fields": ["comment_id"]}}]
    return schema


def _description(consultation: Consultation) -> str:
    return "\n\n".join(
        part
        for part in (
            consultation.summary.strip(),
            "Anonymised open data of this public consultation: the published comments, the votes on them, the answers "
            "to its questions, tallies, and the agency's answers. No name, e-mail address, account or self-declared "
            "profile of a participant is included; participant_key links one person's contributions within this "
            "consultation only. Times are in UTC, to the minute. comments, tallies and answers are also given as JSON "
            "(arrays of objects with the same fields).",
            "Dữ liệu mở đã ẩn danh của đợt lấy ý kiến: các góp ý đã công bố, các lượt bày tỏ, câu trả lời cho các câu "
            "hỏi, số liệu tổng hợp và bảng giải trình, tiếp thu của cơ quan. Không có tên, địa chỉ thư điện tử, tài "
            "khoản hay thông tin tự khai của người tham gia; participant_key chỉ liên kết các ý kiến của cùng một người "
            "trong đợt này. Thời gian theo giờ UTC, chính xác đến phút.",
        )
        if part
    )


def _descriptor(consultation: Consultation, agency_name: str, licence: str, base_url: str, written: dict[str, _File]) -> dict[str, Any]:
    tables = {
        "comments": exports.export_columns("comments", personal=False),
        "votes": exports.export_columns("votes", personal=False),
        "responses": exports.export_columns("responses", personal=False),
        "tallies": TALLY_COLUMNS,
        "answers": exports.OUTCOME_COLUMNS,
    }
    resources = []
    for name, fields in tables.items():
        file = written[f"{name}.csv"]
        title, description, description_vi = RESOURCES[name]
        resources.append({
            "name": name, "path": file.name, "profile": "tabular-data-resource", "title": title,
            "description": description, "description_vi": description_vi,
            "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "bytes": file.bytes, "hash": "sha256:" + file.sha256.hexdigest(),
            "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "quoteChar": '"', "doubleQuote": True, "header": True},
            "schema": _schema(name, fields),
        })  # fmt: skip
    published = consultation.outcome_published_at or consultation.closed_at or consultation.created_at
    return {
        "profile": "tabular-data-package",
        "name": package_name(consultation.slug),
        "title": consultation.title,
        "description": _description(consultation),
        "homepage": f"{base_url.rstrip('/')}/consultations/{consultation.slug}",
        "created": _utc(published),
        "licenses": [licence_entry(licence)],
        "contributors": [{"title": agency_name, "role": "publisher"}],
        "keywords": ["public consultation", "e-participation", "lấy ý kiến"],
        "resources": resources,
    }


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False, default=str) + "\n").encode("utf-8")


async def write_package(
    consultation_id: int, folder: Path, *, licence: str, secret: str, base_url: str, report: dict | None,
    publish_text: PublishText | None = None,
) -> list[dict]:
    """Write (or rewrite) the open data package of a consultation into ``folder`` (created if missing).

    ``licence``: an identifier such as CC-BY-4.0 (``LICENCES``; others are passed through by name). ``secret``:
    the key of the participant keys (keep it the same between writes, or the keys change). ``report``: the
    published report's figures, written as report.json (it must hold aggregates only); None writes none.
    ``publish_text``: see ``consult.exports``; without it free-text answers are withheld.

    Returns the files, in a stable order: [{"name", "bytes", "sha256", "rows"}], rows being the data rows of a
    CSV or the objects of a JSON array (None for datapackage.json and report.json)."""
    consultation = await Consultation.get(id=consultation_id).prefetch_related("agency")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    package = _Package(folder)
    try:
        await _export(package, "comments", consultation_id, secret, publish_text, as_json=True)
        await _export(package, "votes", consultation_id, secret, publish_text, as_json=False)
        await _export(package, "responses", consultation_id, secret, publish_text, as_json=False)
        package.table("tallies", TALLY_COLUMNS, [await tallies(consultation_id)], as_json=True)
        await _export(package, "answers", consultation_id, secret, publish_text, as_json=True)
        if report is not None:
            package.open("report.json").write(_json_bytes(report))
        written = {file.name: file for file in package.files}
        descriptor = _descriptor(consultation, consultation.agency.name_vi, licence, base_url, written)
        package.open("datapackage.json").write(_json_bytes(descriptor))
        package.commit()
    except BaseException:
        package.discard()
        raise
    if report is None:
        # A report.json of an earlier write would no longer be what the package describes.
        (folder / "report.json").unlink(missing_ok=True)
    entries = {file.name: file.entry() for file in package.files}
    return [entries[name] for name in FILES if name in entries]
