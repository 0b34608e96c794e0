"""Jinja2 for pages: autoescaped, translated through the request's language, one render helper."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from consult import i18n, identity, profile, satisfaction
from consult.models import ConsultationStatus, FlagReason, ReviewReason, Role, Stance
from consult.reviewing import reason_label
from consult.settings import Settings
from consult.web.forms import ensure_csrf_token

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "templates"


ROLE_LABELS = {
    Role.OFFICIAL: i18n.lazy("Official"),
    Role.MODERATOR: i18n.lazy("Moderator"),
    Role.ADMIN: i18n.lazy("Administrator"),
}


STATUS_LABELS = {
    ConsultationStatus.DRAFT: i18n.lazy("Draft"),
    ConsultationStatus.SCHEDULED: i18n.lazy("Scheduled"),
    ConsultationStatus.OPEN: i18n.lazy("Open"),
    ConsultationStatus.CLOSED: i18n.lazy("Closed"),
    ConsultationStatus.OUTCOME_PUBLISHED: i18n.lazy("Outcome published"),
    ConsultationStatus.ARCHIVED: i18n.lazy("Archived"),
}


STANCE_LABELS = {
    Stance.SUPPORT: i18n.lazy("Supports"),
    Stance.OPPOSE: i18n.lazy("Opposes"),
    Stance.CHANGE: i18n.lazy("Suggests a change"),
}


REVIEW_LABELS = {
    ReviewReason.SCREENING: i18n.lazy("Held by the screening"),
    ReviewReason.FLAGS: i18n.lazy("Reported by citizens"),
    ReviewReason.APPEAL: i18n.lazy("Appealed by its author"),
    ReviewReason.PREMODERATION: i18n.lazy("Waiting for approval (pre-moderation)"),
}

SIGNAL_LABELS = {
    "abuse": i18n.lazy("Abusive language"),
    "spam": i18n.lazy("Spam"),
    "personal_data": i18n.lazy("Personal data"),
    "campaign": i18n.lazy("Campaign (near-identical comments)"),
}


FLAG_LABELS = {
    FlagReason.SPAM: i18n.lazy("Spam or advertising"),
    FlagReason.OFFENSIVE: i18n.lazy("Insulting, threatening or hateful"),
    FlagReason.OFF_TOPIC: i18n.lazy("Not about this consultation"),
    FlagReason.PERSONAL_DATA: i18n.lazy("Reveals someone's personal information"),
    FlagReason.MISINFORMATION: i18n.lazy("Deliberately false information"),
    FlagReason.OTHER: i18n.lazy("Something else (say what in the note)"),
}


COMMENT_STATUS_LABELS = {
    "pending": i18n.lazy("Waiting for checks"),
    "published": i18n.lazy("Published"),
    "rejected": i18n.lazy("Not published"),
    "hidden": i18n.lazy("Hidden"),
    "withdrawn": i18n.lazy("Withdrawn by its author"),
}

DECISION_LABELS = {
    "approve": i18n.lazy("Approve"),
    "reject": i18n.lazy("Reject"),
    "redact": i18n.lazy("Redact"),
    "hide": i18n.lazy("Hide"),
}


def comment_status_label(status: Any) -> str:
    return i18n.gettext(COMMENT_STATUS_LABELS[getattr(status, "value", status)])


def decision_label(action: str) -> str:
    label = DECISION_LABELS.get(action)
    return i18n.gettext(label) if label else action


def outcome_label(value: str | None) -> str:
    """The agency's decision on one row of its answer table."""
    _ = i18n.gettext
    return {
        "accepted": _("Accepted"),
        "partly": _("Partly accepted"),
        "not_accepted": _("Not accepted"),
    }.get(value or "", _("Not decided yet"))


def flag_reason_label(reason: Any) -> str:
    return i18n.gettext(FLAG_LABELS[FlagReason(getattr(reason, "value", reason))])


def review_label(reason: Any) -> str:
    return i18n.gettext(REVIEW_LABELS[ReviewReason(getattr(reason, "value", reason))])


def signal_label(kind: str) -> str:
    label = SIGNAL_LABELS.get(kind)
    return i18n.gettext(label) if label else kind


def stance_label(stance: str) -> str:
    return i18n.gettext(STANCE_LABELS[Stance(stance)])


def status_label(status: str) -> str:
    # A function rather than an included template: an include inside a list loop costs a third of the home page.
    return i18n.gettext(STATUS_LABELS[ConsultationStatus(status)])


def role_label(role: str) -> str:
    return i18n.gettext(ROLE_LABELS[Role(role)])


def agency_options(agencies: list[dict[str, Any]], language: str) -> list[tuple[int, str]]:
    return [(a["id"], a["name_en"] if language == "en" else a["name_vi"]) for a in agencies]


def topic_filter_options(topics: list[dict[str, Any]], language: str) -> list[tuple[str, str]]:
    options = [(t["slug"], t["name_en"] if language == "en" else t["name_vi"]) for t in topics]
    return sorted(options, key=lambda option: option[1].casefold())


def iso_datetime(value: Any) -> str:
    """A stored time as a machine-readable attribute wants it: UTC, to the second."""
    return value.astimezone(timezone.utc).isoformat(timespec="seconds") if value else ""


def build_environment(settings: Settings) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    fmt = i18n.Formatter(settings.timezone)
    env.filters["datetime"] = fmt.datetime
    env.filters["date"] = fmt.date
    env.filters["number"] = fmt.number
    env.filters["until"] = fmt.until
    env.filters["iso"] = iso_datetime
    env.filters["filesize"] = i18n.file_size
    env.filters["percent"] = i18n.percent
    env.filters["day"] = fmt.date_only
    env.filters["isotime"] = lambda text: fmt.datetime(datetime.fromisoformat(text)) if text else ""
    env.globals["duration"] = i18n.duration
    env.globals["LANGUAGE_NAMES"] = i18n.LANGUAGE_NAMES
    env.globals["role_label"] = role_label
    env.globals["identity_providers"] = identity.parse_providers(settings.oidc_providers)
    env.globals["provider_label"] = lambda provider: provider.label(i18n.current_language())  # for macros without the page's context
    env.globals["status_label"] = status_label
    env.globals["stance_label"] = stance_label
    env.globals["decision_reason"] = reason_label
    env.globals["review_label"] = review_label
    env.globals["flag_reason_label"] = flag_reason_label
    env.globals["comment_status_label"] = comment_status_label
    env.globals["decision_label"] = decision_label
    env.globals["outcome_label"] = outcome_label
    env.globals["survey_choices"] = satisfaction.ease_choices
    env.globals["province_choices"] = profile.province_choices
    env.globals["province_name"] = profile.province_name
    env.globals["respondent_kind_choices"] = profile.respondent_kind_choices
    env.globals["signal_label"] = signal_label
    env.filters["signal_label"] = signal_label
    env.globals["agency_options"] = agency_options
    env.globals["topic_filter_options"] = topic_filter_options
    env.globals["password_min_length"] = settings.password_min_length
    env.globals["comment_max_length"] = settings.comment_max_length
    return env


def render(request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    env: jinja2.Environment = request.app.state.templates
    state = request.state
    values = {
        "request": request,
        "account": getattr(state, "account", None),
        "lang": i18n.current_language(),
        "csrf_token": ensure_csrf_token(request),
        "site_name": request.app.state.settings.site_name,
        "flash": pop_flash(request),
        "errors": {},
        "values": {},
    }
    if context:
        values.update(context)
    html = env.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store" if values["account"] else "no-cache"
    return response


def render_fragment(request: Request, template: str, context: dict[str, Any]) -> Markup:
    """A part of a page that depends on nothing of the person asking (no account, no CSRF token): to be kept
    and put into pages as it is."""
    env: jinja2.Environment = request.app.state.templates
    return Markup(env.get_template(template).render({"lang": i18n.current_language(), **context}))


def flash(request: Request, message: str) -> None:
    request.session.setdefault("flash", []).append(message)
    request.session["flash"] = request.session["flash"]


def pop_flash(request: Request) -> list[str]:
    if "session" not in request.scope or "flash" not in request.session:
        return []
    return request.session.pop("flash")
