"""Small named predicates, one per action. ``account`` is a ``Principal`` or None for a visitor."""

from __future__ import annotations

from dataclasses import dataclass, field

from consult.models import Role


@dataclass(frozen=True)
class Principal:
    """The signed-in account as a request sees it: id, name, language and roles, loaded once."""

    id: int
    email: str
    display_name: str
    language: str | None
    verified: bool  # the e-mail address is confirmed
    session_version: int
    identity_verified: bool = False  # an identity provider vouched for the person (verified-only consultations)
    is_admin: bool = False
    is_moderator: bool = False
    agency_ids: frozenset[int] = field(default_factory=frozenset)
    # Moderators are site-wide (a grant without an agency) or limited to the agencies of their grants.
    moderates_everywhere: bool = False
    moderated_agency_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_official(self) -> bool:
        return bool(self.agency_ids)

    @property
    def roles(self) -> list[Role]:
        roles = []
        if self.agency_ids:
            roles.append(Role.OFFICIAL)
        if self.is_moderator:
            roles.append(Role.MODERATOR)
        if self.is_admin:
            roles.append(Role.ADMIN)
        return roles


def can_administer(account: Principal | None) -> bool:
    return account is not None and account.is_admin


def can_view_audit_log(account: Principal | None) -> bool:
    return account is not None and (account.is_admin or account.is_moderator)


def can_act_for_agency(account: Principal | None, agency_id: int) -> bool:
    return account is not None and (account.is_admin or agency_id in account.agency_ids)


def can_participate(account: Principal | None) -> bool:
    """Commenting, voting and answering need a signed-in account with a confirmed e-mail, or one whose identity
    a provider vouched for (which proves more than an e-mail address)."""
    return account is not None and (account.verified or account.identity_verified)


def can_moderate(account: Principal | None, agency_id: int | None = None) -> bool:
    """Moderating needs a moderator role: officials cannot moderate unless they are also moderators.
    Without an agency: may the account see the queue at all."""
    if account is None or not account.is_moderator:
        return False
    return agency_id is None or account.moderates_everywhere or agency_id in account.moderated_agency_ids


def can_decide_on(account: Principal | None, agency_id: int, author_id: int | None) -> bool:
    """A moderator never decides on their own comment."""
    return can_moderate(account, agency_id) and author_id != account.id


def can_read_report(account: Principal | None, agency_id: int, outcome_published: bool) -> bool:
    """While the outcome is unpublished the report is for the agency's officials and its moderators."""
    return outcome_published or can_act_for_agency(account, agency_id) or can_moderate(account, agency_id)


def can_export_personal(account: Principal | None, agency_id: int) -> bool:
    """Names, e-mails and per-person details leave the site only with the agency's staff or its moderators."""
    return can_act_for_agency(account, agency_id) or can_moderate(account, agency_id)
