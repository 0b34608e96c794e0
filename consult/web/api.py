"""The read-only JSON API: public consultations, their published comments and tallies, and the OpenAPI
document that describes it. Writes stay in the web forms.

Every figure comes from the same query functions as the pages, so the API and the pages agree. Only
public data leaves here: drafts answer 404, and of the comments only the published ones, with the
author's display name and never an account id or an e-mail.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from consult import outcomes, queries, review_queries
from consult.permissions import can_read_report
from consult.models import DecisionReason
from consult.i18n import gettext as _
from consult.models import ConsultationKind, QuestionKind, Stance

JSON_TYPE = "application/json; charset=utf-8"
LIST_LIMIT = 20  # as the consultations page
COMMENT_LIMIT = queries.PAGE_SIZE
PUBLIC_STATUSES = [s.value for s in queries.PUBLIC_STATUSES]
KINDS = [k.value for k in ConsultationKind]
MAX_SEARCH = 100
MAX_TOPIC = 80  # as Topic.slug


class ApiJSONResponse(JSONResponse):
    # Starlette adds a charset to text/* types only; clients reading bytes need to be told UTF-8.
    media_type = JSON_TYPE


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def public_headers(request: Request, response: Response) -> Response:
    # Public data: any site may read it, and shared caches may keep it briefly. A signed-in browser's
    # response may carry a refreshed session cookie, so only its own cache keeps that one.
    anonymous = getattr(request.state, "account", None) is None
    response.headers["Cache-Control"] = "public, max-age=60" if anonymous else "private, max-age=60"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "message": message}}


def error_response(status: int, message: str) -> Response:
    response = ApiJSONResponse(error_body(status, message), status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def endpoint(handler: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
    """A handler returns the body; refusals raise ApiError and become the JSON error in the request's language."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            body = await handler(request)
        except ApiError as error:
            return error_response(error.status, error.message)
        return public_headers(request, ApiJSONResponse(body))

    return run


# --- reading the request ------------------------------------------------------------------------


def int_param(request: Request, name: str, low: int, high: int, default: int | None = None) -> int | None:
    raw = request.query_params.get(name, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and low <= int(raw) <= high):
        raise ApiError(400, _("%(name)s must be a whole number from %(low)s to %(high)s.", name=name, low=low, high=high))
    return int(raw)


def choice_param(request: Request, name: str, choices: list[str], default: str = "") -> str:
    value = request.query_params.get(name, "")
    if value == "":
        return default
    if value not in choices:
        raise ApiError(400, _("%(name)s must be one of: %(choices)s.", name=name, choices=", ".join(choices)))
    return value


def text_param(request: Request, name: str, max_length: int) -> str:
    value = request.query_params.get(name, "").strip()
    if len(value) > max_length:
        raise ApiError(400, _("%(name)s must be %(max)s characters or fewer.", name=name, max=max_length))
    return value


def cursor_param(request: Request, order: str = "newest") -> str | None:
    cursor = request.query_params.get("after", "")
    if cursor == "":
        return None
    if not queries.valid_cursor(cursor, order):
        raise ApiError(400, _("The value of after is not one this site gave: start again from the first page."))
    return cursor


async def public_consultation_of(request: Request) -> dict[str, Any]:
    consultation = await queries.api_consultation(request.path_params["consultation_id"])
    if consultation is None:
        raise ApiError(404, _("There is no public consultation with this number."))
    return consultation


def base_url(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def next_url(request: Request, path: str, params: dict[str, Any], cursor: str | None) -> str | None:
    if cursor is None:
        return None
    kept = {name: value for name, value in params.items() if value not in (None, "")}
    return f"{base_url(request)}{path}?{urlencode({**kept, 'after': cursor})}"


# --- shaping rows -------------------------------------------------------------------------------


def utc_iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """An enum from a query row as its stored string."""
    return getattr(value, "value", value)


def page_url(request: Request, slug: str) -> str:
    return f"{base_url(request)}/consultations/{quote(slug)}"


def consultation_item(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "slug": row["slug"],
        "title": row["title"],
        "summary": row["summary"],
        "kind": plain(row["kind"]),
        "language": row["language"],
        "status": plain(row["status"]),
        "agency": {"id": row["agency_id"], "name_vi": row["agency__name_vi"], "name_en": row["agency__name_en"]},
        "opens_at": utc_iso(row["opens_at"]),
        "closes_at": utc_iso(row["closes_at"]),
        "updated_at": utc_iso(row["updated_at"]),
        "url": page_url(request, row["slug"]),
        "topics": row["topics"],
    }


def comment_item(row: dict[str, Any]) -> dict[str, Any]:
    item = {
        "id": row["id"],
        "article_id": row["article_id"],
        "parent_id": row["parent_id"],
        "stance": plain(row["stance"]),
        "body": row["body"],
        "proposed_wording": row["proposed_wording"],
        "created_at": utc_iso(row["created_at"]),
        "published_at": utc_iso(row["published_at"]),
        "votes": {"agree": row["agree_count"], "disagree": row["disagree_count"], "pass": row["pass_count"]},
        # A deleted account leaves its comments without an author: they show as from a deleted account.
        "author_name": row["author__display_name"] if row["author_id"] is not None else None,
    }
    if "replies" in row:
        item["replies"] = [comment_item(reply) for reply in row["replies"]]
    return item


# --- the endpoints ------------------------------------------------------------------------------


@endpoint
async def consultations(request: Request) -> dict[str, Any]:
    params = {
        "agency": int_param(request, "agency", 1, queries.MAX_ID - 1),
        "kind": choice_param(request, "kind", KINDS),
        "status": choice_param(request, "status", PUBLIC_STATUSES),
        "q": text_param(request, "q", MAX_SEARCH),
        "topic": text_param(request, "topic", MAX_TOPIC),
        "limit": int_param(request, "limit", 1, queries.API_MAX_LIMIT),
    }
    filters = queries.ConsultationFilters(
        agency=params["agency"], kind=params["kind"], status=params["status"], q=params["q"], topic=params["topic"]
    )
    page = await queries.api_consultations(filters, cursor_param(request), params["limit"] or LIST_LIMIT)
    return {
        "items": [consultation_item(request, row) for row in page.rows],
        "next": next_url(request, "/api/consultations", params, page.next_cursor),
    }


@endpoint
async def consultation(request: Request) -> dict[str, Any]:
    row = await public_consultation_of(request)
    detail = await queries.api_consultation_detail(row)
    return {
        **consultation_item(request, {**row, "topics": detail["topics"]}),
        "articles": detail["articles"],
        "questions": detail["questions"],
        "attachments": [
            {**attachment, "url": f"{page_url(request, row['slug'])}/attachments/{attachment['id']}"} for attachment in detail["attachments"]
        ],
    }


@endpoint
async def comments(request: Request) -> dict[str, Any]:
    row = await public_consultation_of(request)
    order = choice_param(request, "order", list(queries.COMMENT_ORDERS), default="newest")
    article = int_param(request, "article", 1, queries.MAX_ID - 1)
    if article is not None and not await queries.article_in_consultation(article, row["id"]):
        raise ApiError(400, _("This article is not part of this consultation"))
    limit = int_param(request, "limit", 1, queries.API_MAX_LIMIT)
    page = await queries.published_comments(
        row["id"], article_id=article, order=order, cursor=cursor_param(request, order), limit=limit or COMMENT_LIMIT
    )
    params = {"order": order, "article": article, "limit": limit}
    return {
        "items": [comment_item(comment) for comment in page.rows],
        "next": next_url(request, f"/api/consultations/{row['id']}/comments", params, page.next_cursor),
    }


@endpoint
async def tallies(request: Request) -> dict[str, Any]:
    row = await public_consultation_of(request)
    return {"consultation_id": row["id"], "status": plain(row["status"]), **await queries.api_tallies(row)}


@endpoint
async def transparency(request: Request) -> dict[str, Any]:
    """The public moderation figures, site-wide or for one consultation (by its slug)."""
    slug = text_param(request, "consultation", 120)
    consultation = None
    if slug:
        consultation = await review_queries.transparency_consultation(slug)
        if consultation is None:
            raise ApiError(404, _("There is no public consultation with this address."))
    figures = await review_queries.transparency(consultation["id"] if consultation else None)
    return {"consultation": consultation["slug"] if consultation else None, **figures}


@endpoint
async def report(request: Request) -> dict[str, Any]:
    """The latest report snapshot: public once the outcome is published, before that only for the
    agency's officials and moderators (signed in), like the report page."""
    row = await public_consultation_of(request)
    published = row["status"] in ("outcome_published", "archived")
    if not can_read_report(getattr(request.state, "account", None), row["agency_id"], published):
        raise ApiError(404, _("The report of this consultation is published with the agency's answer."))
    snapshot = await outcomes.report_of(row["id"])
    if snapshot is None or snapshot["data"] is None:
        raise ApiError(404, _("No report has been built for this consultation yet."))
    return {
        "consultation_id": row["id"],
        "built_at": utc_iso(snapshot["built_at"]),
        "final": snapshot["final"],
        "build_seconds": snapshot["build_seconds"],
        "report": snapshot["data"],
    }


@endpoint
async def open_data(request: Request) -> dict[str, Any]:
    """Every released open data package, newest first, with the address of each file."""
    releases = await queries.open_data_releases()
    return {"items": [
        {
            "consultation": release["consultation__slug"],
            "title": release["consultation__title"],
            "licence": release["licence"],
            "released_at": utc_iso(release["released_at"]),
            "files": [
                {**file, "url": f"{base_url(request)}/open-data/{release['consultation__slug']}/{file['name']}"} for file in release["files"]
            ],
        }
        for release in releases
    ]}


@endpoint
async def openapi(request: Request) -> dict[str, Any]:
    return openapi_document(base_url(request))


routes = [
    Route("/api/consultations", consultations, name="api_consultations"),
    Route("/api/consultations/{consultation_id:int}", consultation, name="api_consultation"),
    Route("/api/consultations/{consultation_id:int}/comments", comments, name="api_comments"),
    Route("/api/consultations/{consultation_id:int}/tallies", tallies, name="api_tallies"),
    Route("/api/transparency", transparency, name="api_transparency"),
    Route("/api/consultations/{consultation_id:int}/report", report, name="api_report"),
    Route("/api/open-data", open_data, name="api_open_data"),
    Route("/api/openapi.json", openapi, name="api_openapi"),
]


# --- the OpenAPI document -----------------------------------------------------------------------


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


def _object(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    # Closed objects: a field added to a response without its description here fails the tests.
    schema = {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}
    return {"description": description, **schema} if description else schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


TIME = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601 with a Z"}
ID = {"type": "integer", "minimum": 1}
COUNT = {"type": "integer", "minimum": 0}
TEXT = {"type": "string"}

SUMMARY_PROPERTIES = {
    "id": ID,
    "slug": TEXT,
    "title": TEXT,
    "summary": TEXT,
    "kind": {"type": "string", "enum": KINDS},
    "language": {"type": "string", "description": "The language the consultation is written in"},
    "status": {"type": "string", "enum": PUBLIC_STATUSES},
    "agency": _ref("Agency"),
    "opens_at": _nullable(TIME),
    "closes_at": _nullable(TIME),
    "updated_at": TIME,
    "url": {"type": "string", "format": "uri", "description": "The consultation's page"},
    "topics": {"type": "array", "items": _ref("Topic")},
}
REPLY_PROPERTIES = {
    "id": ID,
    "article_id": _nullable({**ID, "description": "null: on the whole draft"}),
    "parent_id": _nullable({**ID, "description": "The comment replied to; null for a comment"}),
    "stance": {"type": ["string", "null"], "enum": [s.value for s in Stance] + [None], "description": "null for a reply"},
    "body": TEXT,
    "proposed_wording": _nullable(TEXT),
    "created_at": TIME,
    "published_at": _nullable(TIME),
    "votes": _ref("Votes"),
    "author_name": _nullable({**TEXT, "description": "The author's public display name; null once the account is deleted"}),
}
STANCE_COUNTS = {"total": COUNT, **{s.value: COUNT for s in Stance}}

SCHEMAS = {
    "Error": _object({"error": _object({"status": {"type": "integer"}, "message": TEXT})}, "In the request's language"),
    "Agency": _object({"id": ID, "name_vi": TEXT, "name_en": TEXT}),
    "Topic": _object({"id": ID, "slug": TEXT, "name_vi": TEXT, "name_en": TEXT}),
    "ConsultationSummary": _object(SUMMARY_PROPERTIES),
    "ConsultationList": _object({
        "items": {"type": "array", "items": _ref("ConsultationSummary")},
        "next": {"type": ["string", "null"], "format": "uri", "description": "The next page; null on the last"},
    }),
    "Article": _object({"id": ID, "position": {"type": "integer"}, "label": TEXT, "title": TEXT, "body_html": {**TEXT, "description": "Sanitized HTML"}}),
    "Question": _object({
        "id": ID,
        "position": {"type": "integer"},
        "kind": {"type": "string", "enum": [k.value for k in QuestionKind], "description": "scale: 1 to 5"},
        "prompt": TEXT,
        "options": {"type": "array", "items": TEXT, "description": "The choices of single and multiple choice questions, in order"},
        "required": {"type": "boolean"},
    }),
    "Attachment": _object({"id": ID, "title": TEXT, "filename": TEXT, "size": {**COUNT, "description": "Bytes"}, "url": {"type": "string", "format": "uri"}}),
    "Consultation": _object({
        **SUMMARY_PROPERTIES,
        "articles": {"type": "array", "items": _ref("Article")},
        "questions": {"type": "array", "items": _ref("Question")},
        "attachments": {"type": "array", "items": _ref("Attachment")},
    }),
    "Votes": _object({"agree": COUNT, "disagree": COUNT, "pass": COUNT}),
    "Reply": _object(REPLY_PROPERTIES),
    "Comment": _object({**REPLY_PROPERTIES, "replies": {"type": "array", "items": _ref("Reply"), "description": "Published replies, oldest first"}}),
    "CommentList": _object({
        "items": {"type": "array", "items": _ref("Comment")},
        "next": {"type": ["string", "null"], "format": "uri", "description": "The next page; null on the last"},
    }),
    "ArticleTally": _object({
        "article_id": _nullable({**ID, "description": "null: comments on the whole draft"}),
        "label": {"type": ["string", "null"]},
        **STANCE_COUNTS,
    }, "Published comments (not replies) by stance"),
    "OptionResult": _object({"value": {"type": "integer"}, "label": TEXT, "count": COUNT}),
    "QuestionResult": _object({
        "id": ID,
        "kind": {"type": "string", "enum": [k.value for k in QuestionKind]},
        "prompt": TEXT,
        "options": {"type": "array", "items": TEXT},
        "required": {"type": "boolean"},
        "answered": {**COUNT, "description": "Responses that answered this question"},
        "results": {"type": "array", "items": _ref("OptionResult"), "description": "Per option (scale: 1 to 5); empty for free text, which is not published here"},
    }),
    "Tallies": _object({
        "consultation_id": ID,
        "status": {"type": "string", "enum": PUBLIC_STATUSES},
        "articles": {"type": "array", "items": _ref("ArticleTally"), "description": "The whole draft first, then every article in order"},
        "comments_total": COUNT,
        "questions_available": {"type": "boolean", "description": "false until the consultation closes: question results are shown after closing"},
        "responses": {"type": ["integer", "null"], "minimum": 0, "description": "People who answered the questions; null until closing"},
        "questions": {"type": ["array", "null"], "items": _ref("QuestionResult"), "description": "null until closing"},
    }),
    "Transparency": _object({
        "consultation": {"type": ["string", "null"], "description": "The consultation's slug; null for the whole site"},
        "total": {**COUNT, "description": "Comments and replies received"},
        "published": COUNT,
        "pending": {**COUNT, "description": "Not yet published: being screened or waiting for a moderator"},
        "waiting": {**COUNT, "description": "Waiting for a moderator's decision (held, reported, appealed or pre-moderated)"},
        "rejected": {**COUNT, "description": "Never published"},
        "hidden": {**COUNT, "description": "Taken down after publication"},
        "withdrawn": {**COUNT, "description": "Withdrawn by their authors"},
        "rejected_by_reason": _object({r.value: COUNT for r in DecisionReason}),
        "hidden_by_reason": _object({r.value: COUNT for r in DecisionReason}),
        "appealed": COUNT,
        "appeals_waiting": COUNT,
        "overturned": {**COUNT, "description": "Appeals that published the comment"},
        "upheld": {**COUNT, "description": "Appeals after which the decision stood"},
        "decided_by_moderator": COUNT,
        "median_decision_seconds": {"type": ["integer", "null"], "minimum": 0, "description": "From entering the queue to a moderator's decision; null before any"},
    }),
    "Report": _object({
        "consultation_id": ID,
        "built_at": {"type": "string", "format": "date-time"},
        "final": {"type": "boolean", "description": "Built after the consultation closed: the figures no longer change"},
        "build_seconds": {"type": ["number", "null"]},
        "report": {
            "type": "object",
            "description": "The snapshot, as the report page shows it; every figure is counted from the stored data",
            "required": ["version", "covers", "participation", "articles", "questions", "themes", "sentiment", "campaigns", "opinion", "moderation"],
            "properties": {
                "version": {"type": "integer"},
                "covers": {"type": "object", "description": "Ids of the newest comment, vote and response included"},
                "participation": {"type": "object", "description": "People, comments by status, votes, responses, per day, by province and kind of respondent"},
                "articles": {"type": "array", "description": "Per article (id null: the draft as a whole): comments, stance split, proposed wordings grouped, top themes"},
                "questions": {"type": "array", "description": "Per question: counts and shares per option, 1-5 mean and distribution, free-text themes"},
                "themes": {"type": "object", "description": "Clusters of similar comments with labels, sizes and representative quotes (comment ids)"},
                "sentiment": {"type": "object", "description": "Comments by tone, per language, with the method's measured accuracy"},
                "campaigns": {"type": "object", "description": "Groups of near-identical comments with their counts and first and last times"},
                "opinion": {"type": "object", "description": "Opinion groups from agree/disagree votes: groups, representative and consensus comments, participant coordinates"},
                "moderation": {"type": "object", "description": "The moderation figures, as /api/transparency gives them"},
            },
        },
    }),
    "OpenDataList": _object({
        "items": {"type": "array", "items": _object({
            "consultation": {"type": "string", "description": "The consultation's slug"},
            "title": TEXT,
            "licence": {"type": "string", "description": "SPDX identifier of the licence"},
            "released_at": {"type": "string", "format": "date-time"},
            "files": {"type": "array", "items": _object({
                "name": TEXT, "bytes": COUNT, "sha256": TEXT, "rows": {"type": ["integer", "null"], "minimum": 0}, "url": {"type": "string", "format": "uri"},
            })},
        })},
    }),
}


def _param(name: str, where: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "description": description, "schema": schema}


CONSULTATION_ID = _param("consultation_id", "path", ID, "A public consultation's id")
AFTER = _param("after", "query", TEXT, "The cursor from the previous page's next link")
ERRORS = {
    "400": _json(_ref("Error"), "A parameter is not valid"),
    "404": _json(_ref("Error"), "No public consultation has this id"),
}


def openapi_document(server: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Consult API",
            "version": "1",
            "description": "Read-only: public consultations, their published comments and tallies. "
            "Comments and answers are written through the site's forms.",
        },
        "servers": [{"url": server}],
        "paths": {
            "/api/consultations": {"get": {
                "operationId": "listConsultations",
                "summary": "Public consultations, newest first",
                "parameters": [
                    _param("agency", "query", ID, "Only this agency's"),
                    _param("kind", "query", {"type": "string", "enum": KINDS}, "Only this kind"),
                    _param("status", "query", {"type": "string", "enum": PUBLIC_STATUSES}, "Only this status"),
                    _param("q", "query", {"type": "string", "maxLength": MAX_SEARCH}, "Words in the title or the summary"),
                    _param("topic", "query", {"type": "string", "maxLength": MAX_TOPIC}, "Only those tagged with the topic of this slug"),
                    AFTER,
                    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": queries.API_MAX_LIMIT, "default": LIST_LIMIT}, "Page size"),
                ],
                "responses": {"200": _json(_ref("ConsultationList"), "A page of consultations"), "400": ERRORS["400"]},
            }},
            "/api/consultations/{consultation_id}": {"get": {
                "operationId": "getConsultation",
                "summary": "A consultation with its articles, questions and attachments",
                "parameters": [CONSULTATION_ID],
                "responses": {"200": _json(_ref("Consultation"), "The consultation"), "404": ERRORS["404"]},
            }},
            "/api/consultations/{consultation_id}/comments": {"get": {
                "operationId": "listComments",
                "summary": "Published comments with their published replies",
                "parameters": [
                    CONSULTATION_ID,
                    _param("order", "query", {"type": "string", "enum": list(queries.COMMENT_ORDERS), "default": "newest"}, "newest, or most agreed first"),
                    _param("article", "query", ID, "Only the comments on this article"),
                    AFTER,
                    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": queries.API_MAX_LIMIT, "default": COMMENT_LIMIT}, "Page size"),
                ],
                "responses": {"200": _json(_ref("CommentList"), "A page of comments"), **ERRORS},
            }},
            "/api/consultations/{consultation_id}/tallies": {"get": {
                "operationId": "getTallies",
                "summary": "Stance per article and, once closed, the question results",
                "parameters": [CONSULTATION_ID],
                "responses": {"200": _json(_ref("Tallies"), "The figures"), "404": ERRORS["404"]},
            }},
            "/api/transparency": {"get": {
                "operationId": "getTransparency",
                "summary": "Moderation figures: published, waiting, rejected and hidden by reason, appeals, median time to decision",
                "parameters": [_param("consultation", "query", {"type": "string", "maxLength": 120}, "Only this public consultation (its slug)")],
                "responses": {"200": _json(_ref("Transparency"), "The figures"), **ERRORS},
            }},
            "/api/consultations/{consultation_id}/report": {"get": {
                "operationId": "getReport",
                "summary": "The report snapshot: participation, stance per article, questions, themes, tone, campaigns, opinion groups, moderation",
                "description": "Public once the agency has published its answer; before that only for the agency's officials and moderators.",
                "parameters": [CONSULTATION_ID],
                "responses": {"200": _json(_ref("Report"), "The latest snapshot"), "404": ERRORS["404"]},
            }},
            "/api/open-data": {"get": {
                "operationId": "listOpenData",
                "summary": "The anonymised open data packages of consultations with a published outcome",
                "responses": {"200": _json(_ref("OpenDataList"), "The packages, newest first")},
            }},
            "/api/openapi.json": {"get": {
                "operationId": "getOpenAPI",
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "The OpenAPI document")},
            }},
            "/consultations/feed.atom": {"get": {
                "operationId": "consultationsFeed",
                "summary": "Atom feed of the latest public consultations, in the request's language",
                "responses": {"200": {"description": "An Atom feed", "content": {"application/atom+xml": {"schema": {"type": "string"}}}}},
            }},
        },
        "components": {"schemas": SCHEMAS},
    }
