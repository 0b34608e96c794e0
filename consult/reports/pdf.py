"""The report as a PDF (fpdf2), from the same snapshot as the page: headings, figures and tables, the
quotes with the address of each comment. Charts are left out: every chart's numbers are in its table.

The DejaVu Sans font is shipped with the package (its licence beside it) because Vietnamese needs a
Unicode font with every stacked diacritic, and a server may have none installed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from consult import i18n, profile
from consult.i18n import gettext as _

FONTS = Path(__file__).parent / "fonts"


class _Report(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=8)
        self.cell(0, 8, f"{self.page_no()}", align="C")


def _fmt_share(part: int, whole: int) -> str:
    return i18n.percent(part / whole if whole else 0)


def render_report(consultation: dict[str, Any], data: dict[str, Any], language: str, time_zone: str) -> bytes:
    token = i18n.set_language(language)
    try:
        return _render(consultation, data, language, i18n.Formatter(time_zone))
    finally:
        i18n.reset_language(token)


def _render(consultation: dict[str, Any], data: dict[str, Any], language: str, fmt: i18n.Formatter) -> bytes:
    pdf = _Report(format="A4")
    pdf.set_title(_("Report: %(title)s", title=consultation["title"]))
    pdf.set_lang(language)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    n = fmt.number

    def heading(text: str, size: int = 14) -> None:
        pdf.set_font("DejaVu", "B", size)
        pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)

    def para(text: str) -> None:
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)

    def table(headers: list[str], rows: list[list[str]], widths: tuple[int, ...] | None = None) -> None:
        if not rows:
            return
        pdf.set_font("DejaVu", "", 9)
        with pdf.table(col_widths=widths, first_row_as_headings=True, line_height=5) as t:
            header = t.row()
            for cell in headers:
                header.cell(cell)
            for values in rows:
                row = t.row()
                for cell in values:
                    row.cell(cell)
        pdf.ln(3)

    part = data["participation"]
    heading(_("Report: %(title)s", title=consultation["title"]), 16)
    built = fmt.datetime(_parse(data.get("built_at")))
    para(_("Final report, built on %(when)s after the consultation closed.", when=built) if data.get("final")
         else _("Interim report, built on %(when)s; the consultation is still open and the figures will change.", when=built))

    heading(_("Participation"))
    table([_("Figure"), _("Number")], [
        [_("People who took part"), n(part["people"])],
        [_("People who commented"), n(part["commenters"])],
        *([[_("People whose identity is verified"), n(part["people_verified"])],
           [_("Published comments by people whose identity is verified"), n(part["published_by_verified"])]] if "people_verified" in part else []),
        [_("People who voted"), n(part["voters"])],
        [_("People who answered the questions"), n(part["respondents"])],
        [_("Comments received"), n(part["comments_total"])],
        [_("Votes"), n(part["votes_total"])],
    ], (3, 1))
    table([_("Status"), _("Comments"), _("Share")],
          [[_status(s), n(c), _fmt_share(c, part["comments_total"])] for s, c in part["comments"].items()], (2, 1, 1))
    table([_("Day"), _("Comments"), _("Votes"), _("Responses")],
          [[fmt.date_only(date.fromisoformat(d)), n(c), n(v), n(r)] for d, c, v, r in part["per_day"]], (2, 1, 1, 1))
    if part["by_province"]:
        table([_("Province"), _("People")], [[profile.province_name(code, language), n(c)] for code, c in part["by_province"]]
              + [[_("Did not say"), n(part["province_undeclared"])]], (3, 1))
    if part["by_kind"]:
        table([_("Kind"), _("People")], [[profile.respondent_kind_label(code), n(c)] for code, c in part["by_kind"]]
              + [[_("Did not say"), n(part["kind_undeclared"])]], (3, 1))

    heading(_("Comments per article"))
    table([_("Article"), _("Comments"), _("Support"), _("Oppose"), _("Suggest a change")], [
        [_article_title(a), n(a["comments"]), n(a["stance"]["support"]), n(a["stance"]["oppose"]), n(a["stance"]["change"])]
        for a in data["articles"]
    ], (4, 1, 1, 1, 1))
    for article in data["articles"]:
        for wording in article["wordings"]["groups"][:3]:
            proposed = _("Proposed in %(n)s comments; read the first", n=n(wording["count"]))
            para(f"{_article_title(article)}: “{wording['text']}” ({proposed}: /comments/{wording['comment_id']})")

    for question in data["questions"]:
        heading(question["prompt"], 11)
        if question["options"]:
            table([_("Answer"), _("People"), _("Share")], [[str(o["label"]), n(o["count"]), i18n.percent(o["share"])] for o in question["options"]], (3, 1, 1))
        if question.get("scale") and question["scale"]["mean"] is not None:
            para(_("Average: %(mean)s out of 5.", mean=n(round(question["scale"]["mean"], 2))))

    heading(_("Themes"))
    for theme in data["themes"]["items"]:
        heading(f"{theme['label']} ({n(theme['size'])})", 11)
        for quote in theme["quotes"]:
            para(f"“{quote['text']}” (/comments/{quote['comment_id']})")

    tone = data["sentiment"]
    if tone["total"]:
        heading(_("Tone of the comments"))
        table([_("Tone"), _("Comments"), _("Share")], [
            [_("Positive"), n(tone["positive"]), _fmt_share(tone["positive"], tone["total"])],
            [_("Neutral"), n(tone["neutral"]), _fmt_share(tone["neutral"], tone["total"])],
            [_("Negative"), n(tone["negative"]), _fmt_share(tone["negative"], tone["total"])],
        ], (2, 1, 1))

    camp = data["campaigns"]
    if camp["items"]:
        heading(_("Campaigns"))
        table([_("Text (first copy)"), _("Copies")], [[g["example"]["text"][:200], n(g["size"])] for g in camp["items"]], (5, 1))

    op = data["opinion"]
    heading(_("Opinion groups"))
    if op.get("status") == "ok":
        table([_("Group"), _("People")], [[_("Group %(n)s", n=g["id"]), n(g["size"])] for g in op["groups"]], (3, 1))
        for group in op["groups"]:
            for rep in group["representative"]:
                share = {"group": i18n.percent(rep["group_share"]), "others": i18n.percent(rep["others_share"])}
                line = (_("%(group)s of this group agree, against %(others)s of the others:", **share) if rep["direction"] == "agree"
                        else _("%(group)s of this group disagree, against %(others)s of the others:", **share))
                para(f"{_('Group %(n)s', n=group['id'])} · {line} /comments/{rep['comment_id']}")
    else:
        para(_("Opinion groups need votes from several people on several comments."))

    mod = data["moderation"]
    heading(_("Moderation"))
    table([_("Figure"), _("Number")], [
        [_("Published"), n(mod["published"])], [_("Not published (rejected)"), n(mod["rejected"])],
        [_("Taken down after publication (hidden)"), n(mod["hidden"])], [_("Appeals"), n(mod["appealed"])],
    ], (3, 1))
    return bytes(pdf.output())


def _parse(value: str | None):
    from datetime import datetime

    return datetime.fromisoformat(value) if value else None


def _status(status: str) -> str:
    from consult.web.templating import comment_status_label  # the one list of the labels

    return comment_status_label(status)


def _article_title(article: dict[str, Any]) -> str:
    if article["id"] is None:
        return _("The draft as a whole")
    return f"{article['label']} {article['title']}".strip()
