"""The agency dashboard (officials of the agency, administrators), its CSV, and the public participation page
with the same headline figures for every agency."""

from __future__ import annotations

import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consult import dashboard, exports, profile, queries, satisfaction
from consult.i18n import current_language
from consult.i18n import gettext as _
from consult.models import SatisfactionQuestion
from consult.reports import charts
from consult.web.files import content_disposition
from consult.web.templating import render, render_fragment
from consult.web.views import account_of, client_key, rate_limited, require_account, settings_of

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_MONTHS = 60


def _period(request: Request) -> tuple[dashboard.Period, dict[str, str], dict[str, str]]:
    """The months asked for (from, to: YYYY-MM), or the last twelve; errors say what was wrong with them."""
    time_zone = settings_of(request).timezone
    default = dashboard.last_months(dashboard.SNAPSHOT_MONTHS, time_zone)  # the stored period
    values = {"from": request.query_params.get("from", "").strip(), "to": request.query_params.get("to", "").strip()}
    errors: dict[str, str] = {}
    chosen = {}
    for name, fallback in (("from", default.first), ("to", default.last)):
        match = MONTH.match(values[name]) if values[name] else None
        if values[name] and not match:
            errors[name] = _("Enter a month as year and month, like 2026-03")
        chosen[name] = fallback.replace(year=int(match.group(1)), month=int(match.group(2))) if match else fallback
    if not errors and chosen["from"] > chosen["to"]:
        errors["to"] = _("The last month must not be before the first")
    elif not errors and len(dashboard.Period(chosen["from"], chosen["to"], time_zone).months()) > MAX_MONTHS:
        errors["to"] = _("Choose at most %(max)s months", max=MAX_MONTHS)
    if errors:
        return default, errors, values
    period = dashboard.Period(chosen["from"], chosen["to"], time_zone)
    return period, errors, {"from": dashboard.month_key(period.first), "to": dashboard.month_key(period.last)}  # the fields show the months shown


async def _agency(request: Request) -> tuple[int | None, list[dict[str, Any]]]:
    """The agency whose figures are shown, and the ones this person may choose from. Officials see their
    agencies; administrators every agency, or all of them at once (None)."""
    account = require_account(request)
    if not (account.is_admin or account.agency_ids):
        raise HTTPException(403)
    agencies = [a for a in await queries.agencies() if account.is_admin or a["id"] in account.agency_ids]
    asked = request.query_params.get("agency", "")
    if asked.isdigit() and len(asked) < 10:
        if not any(a["id"] == int(asked) for a in agencies):
            raise HTTPException(403)
        return int(asked), agencies
    if account.is_admin:
        return None, agencies
    return min(account.agency_ids), agencies


def _satisfaction_value(question: str, value: int) -> str:
    return dict(satisfaction.choices(SatisfactionQuestion(question))).get(value, str(value))


def _province_name(code: str) -> str:
    return profile.province_name(code, current_language())


_KEPT: dict[tuple, Any] = {}  # (what, scope, counted at, language) -> charts or HTML drawn from kept figures


def _once(what: str, scope: str, counted_at: Any, draw: Any) -> Any:
    """``draw()`` once per kept count and language: the figures of a count look the same to everyone who sees
    them (drawing the charts was a quarter of the page's time, the figures' HTML most of the rest)."""
    if counted_at is None:
        return draw()
    key = (what, scope, counted_at, current_language())
    if key not in _KEPT:
        if len(_KEPT) >= 256:
            _KEPT.clear()
        _KEPT[key] = draw()
    return _KEPT[key]


def _charts_of(months: list[dict[str, Any]], scope: str, counted_at: Any) -> dict[str, Any]:
    return _once("charts", scope, counted_at, lambda: _month_charts(months))


def _month_charts(months: list[dict[str, Any]]) -> dict[str, Any]:
    def bars(key: str, chart_id: str, title: str, description: str) -> Any:
        return charts.bar_chart([(m["month"], m[key] or 0) for m in months], chart_id=chart_id, title=title, description=description)

    return {
        "participants": bars("participants", "chart-participants", _("Participants per month"), _("One bar per month: people who took part.")),
        "comments": bars("comments", "chart-comments", _("Comments per month"), _("One bar per month: comments received.")),
        "ease": bars("ease_mean", "chart-ease", _("Ease of taking part per month"),
                     _("One bar per month: the mean answer from 1 (very difficult) to 5 (very easy).")),
    }


def _query_string(agency_id: int | None, period: dashboard.Period) -> str:
    months = f"from={dashboard.month_key(period.first)}&to={dashboard.month_key(period.last)}"
    return f"agency={agency_id}&{months}" if agency_id is not None else months


async def _figures(request: Request, agency_id: int | None, period: dashboard.Period, *,
                   public: bool = False) -> tuple[dict[str, Any], Any, str]:
    """The figures as kept (the job's default period, or another period counted in the last half hour), else
    counted now. Returns them, when they were counted (None: now), and an error when the visitor asked for
    more periods than the public may have counted (then the default period's figures are shown)."""
    found = await dashboard.kept(agency_id, period, public=public)
    if found is not None:
        return found[0], found[1], ""
    settings = settings_of(request)
    if public and await rate_limited(request, settings.rate_limit_figures, "figures", client_key(request)):
        default = dashboard.last_months(dashboard.SNAPSHOT_MONTHS, settings.timezone)
        data, counted_at, _error = await _figures(request, agency_id, default)
        return data, counted_at, _("You have asked for many periods in a short time. Wait a few minutes and try again.")
    return await dashboard.count(agency_id, period, settings.outcome_deadline_days, public=public), None, ""


def _counted_context(data: dict[str, Any], counted_at: Any, time_zone: str) -> dict[str, Any]:
    default = dashboard.last_months(dashboard.SNAPSHOT_MONTHS, time_zone)
    return {"counted_at": counted_at, "counted_again": "every_ten_minutes" if (data["first"], data["last"]) == (
        dashboard.month_key(default.first), dashboard.month_key(default.last)) else "when_asked"}


async def dashboard_page(request: Request) -> Response:
    agency_id, agencies = await _agency(request)
    period, errors, values = _period(request)
    data, counted_at, _error = await _figures(request, agency_id, period)
    name = next((a["name_en"] if current_language() == "en" else a["name_vi"] for a in agencies if a["id"] == agency_id), None)
    scope = f"{dashboard.scope_of(agency_id)}@{data['first']}..{data['last']}"
    figures = _once("dashboard", scope, counted_at, lambda: render_fragment(request, "dashboard/_body.html", {
        "data": data, "charts": _charts_of(data["months"], scope, counted_at), "province_name": _province_name,
        "satisfaction_value": _satisfaction_value,
    }))
    return render(request, "dashboard/dashboard.html", {
        "data": data, "figures": figures, "agencies": agencies, "agency_id": agency_id, "agency_name": name, "values": values,
        "errors": errors, "csv_url": f"/manage/dashboard.csv?{_query_string(agency_id, period)}", "is_admin": account_of(request).is_admin,
        **_counted_context(data, counted_at, settings_of(request).timezone),
    }, status_code=400 if errors else 200)


async def dashboard_csv(request: Request) -> Response:
    agency_id, _agencies = await _agency(request)
    period, errors, _values = _period(request)
    if errors:
        raise HTTPException(400)
    data, _counted_at, _error = await _figures(request, agency_id, period)
    encoder = exports.CsvEncoder([{"name": name, "type": "string"} for name in dashboard.CSV_COLUMNS])
    body = encoder.header() + encoder.encode(dashboard.rows(data))
    filename = f"consult-dashboard-{agency_id if agency_id is not None else 'all'}-{data['first']}-{data['last']}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": content_disposition(filename, "csv"), "Cache-Control": "no-store"})


async def participation_page(request: Request) -> Response:
    """Public: the headline figures of every agency together, then agency by agency. No personal data."""
    period, errors, values = _period(request)
    data, counted_at, limited = await _figures(request, None, period, public=True)
    if limited:
        errors = {"": limited}
    return render(request, "pages/participation.html", {
        "data": data, "per_agency": data["per_agency"], "values": values, "errors": errors,
        "charts": _charts_of(data["months"], f"public@{data['first']}..{data['last']}", counted_at), **_counted_context(data, counted_at, settings_of(request).timezone),
    }, status_code=429 if limited else 400 if errors else 200)


routes = [
    Route("/manage/dashboard", dashboard_page, name="dashboard"),
    Route("/manage/dashboard.csv", dashboard_csv, name="dashboard_csv"),
    Route("/participation", participation_page, name="participation_figures"),
]
