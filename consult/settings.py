"""The only module that reads the environment.

Every setting has a name, a type, a default and a line of help. The environment variable is
``CONSULT_<NAME>``; ``DATABASE_URL`` and ``REDIS_URL`` are accepted without the prefix too, because
that is how hosting platforms hand them over. README.md lists every setting (a test keeps them in step).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

PREFIX = "CONSULT_"
UNPREFIXED = ("DATABASE_URL", "REDIS_URL")


class SettingsError(ValueError):
    pass


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    data_dir: str = _setting("var", "Directory for the SQLite file, the generated secret key, uploads and mail files.")
    database_url: str = _setting(
        "", "Database URL: postgres://user:pw@host:5432/db or sqlite://path. Empty means sqlite://<data_dir>/consult.sqlite3."
    )
    redis_url: str = _setting("", "Redis URL for the arq job queue and rate limits. Empty means jobs run inside the web process.")
    secret_key: str = _setting("", "Key that signs sessions and links. Empty means one is generated into <data_dir>/secret_key on first run.")
    base_url: str = _setting("http://127.0.0.1:8000", "Public address of the site, used in links sent by e-mail.")
    https_only: bool = _setting(False, "Send cookies only over HTTPS (set it in production behind HTTPS).")
    site_name: str = _setting("Consult", "Name of the site shown in the header and e-mails.")
    default_language: str = _setting("vi", "Language used when neither the account, a cookie nor the browser chooses one (vi or en).")
    timezone: str = _setting("Asia/Ho_Chi_Minh", "Time zone in which dates and times are shown (they are stored in UTC).")
    mail_from: str = _setting("Consult <no-reply@consult.invalid>", "Sender address of e-mails.")
    mail_dir: str = _setting("", "Where e-mails are written as .eml files when no SMTP host is set. Empty means <data_dir>/mail.")
    smtp_host: str = _setting("", "SMTP server; when set, e-mail is sent through it instead of written to files.")
    smtp_port: int = _setting(587, "SMTP port.")
    smtp_username: str = _setting("", "SMTP user name (empty: no authentication).")
    smtp_password: str = _setting("", "SMTP password.")
    smtp_starttls: bool = _setting(True, "Use STARTTLS with the SMTP server.")
    max_body_bytes: int = _setting(1_048_576, "Largest request body accepted, in bytes (the PDF upload form takes an attachment more); larger requests get a 413 page.")
    session_days: int = _setting(14, "How long a sign-in lasts, in days.")
    verify_link_hours: int = _setting(48, "How long an e-mail verification link stays valid, in hours.")
    reset_link_hours: int = _setting(2, "How long a password reset link stays valid, in hours.")
    password_min_length: int = _setting(10, "Shortest password accepted.")
    rate_limit_signup: str = _setting("5/hour", "Sign-ups allowed per address (IP) in a window, as limits syntax N/period.")
    rate_limit_signin: str = _setting("10/5minutes", "Failed-sign-in budget per address (IP) and per e-mail.")
    rate_limit_reset: str = _setting("5/hour", "Password reset requests per address (IP) and per e-mail.")
    rate_limit_comment: str = _setting("10/minute", "Comments and replies allowed per account in a window.")
    rate_limit_vote: str = _setting("120/minute", "Votes allowed per account in a window.")
    rate_limit_flag: str = _setting("20/hour", "Flags allowed per account in a window.")
    rate_limit_figures: str = _setting("20/hour", "Periods the public participation page counts for one address (IP) in a window; "
                                       "periods already counted in the last half hour are free.")
    oidc_providers: str = _setting("", "Identity providers (OpenID Connect) people may sign in with, as a JSON list; README, Signing in with an identity provider.")
    page_cache_seconds: int = _setting(5, "How long the home page and consultation pages are kept for visitors who are not signed in, in seconds (0: never): new comments reach them this much later at most.")
    comment_max_length: int = _setting(5000, "Longest comment, reply or proposed wording accepted, in characters.")
    flag_hide_threshold: int = _setting(3, "Flags from different accounts after which a published comment is hidden pending review.")
    screening_hold_score: float = _setting(0.5, "A screening signal (abuse, spam, personal data) scoring at least this (0-1) holds a comment for a moderator; weaker ones are kept with the comment for the record.")
    screening_velocity_limit: int = _setting(8, "Comments by one account within 10 minutes after which its next ones are held for a moderator.")
    campaign_hold_size: int = _setting(5, "A comment that makes a group of near-identical comments (a form letter) this large or larger is held, so the group is decided together.")
    queue_counts_seconds: int = _setting(10, "How long the moderators' queue counts (per reason, signal and consultation) are reused before they are counted again, in seconds.")
    redaction_retention_days: int = _setting(90, "How long the original text of a redacted comment is kept in the audit log, in days; then it is erased.")
    upload_dir: str = _setting("", "Where attached PDF files are stored. Empty means <data_dir>/uploads.")
    outcome_deadline_days: int = _setting(30, "Days after closing by which an agency should publish its answer; later ones show as overdue on the dashboards.")
    report_refresh_seconds: int = _setting(300, "While a consultation is open, its report is rebuilt at most this often, and only when there is new activity, in seconds.")
    open_data_dir: str = _setting("", "Where the open data packages of consultations with a published outcome are written. Empty means <data_dir>/open-data.")
    open_data_licence: str = _setting("CC-BY-4.0", "Licence of the open data packages, as an SPDX identifier (CC-BY-4.0, CC0-1.0, ODC-BY-1.0, CC-BY-SA-4.0).")
    attachment_max_bytes: int = _setting(20_971_520, "Largest PDF attachment accepted, in bytes.")
    delete_account_removes_comments: bool = _setting(False, "When a person deletes their account, also remove their published comments (kept as from a deleted account otherwise).")
    job_max_tries: int = _setting(5, "How many times a failing job is tried before it is given up.")
    log_level: str = _setting("INFO", "Log level (DEBUG, INFO, WARNING, ERROR).")
    test_database_url: str = _setting("", "Tests only: run the test suite on this PostgreSQL server instead of SQLite.")
    test_redis_url: str = _setting("", "Tests only: run job tests through a real arq worker on this Redis.")
    test_strict: bool = _setting(False, "Tests only: fail, rather than skip, tests whose browser, HTML checker or data folder is missing (CI sets it).")
    test_browser: str = _setting("/usr/bin/chromium", "Tests only: the Chromium executable for browser tests.")
    test_vnu_jar: str = _setting(".ci/npm/node_modules/vnu-jar/build/dist/vnu.jar", "Tests only: the Nu HTML checker (npm package vnu-jar), run with java.")
    test_data_dir: str = _setting("../shared/data", "Tests only: the shared folder of real data (XSS payloads, naughty strings).")
    bench_database_url: str = _setting("", "Benchmarks only: PostgreSQL server for the workloads (SQLite otherwise).")
    bench_redis_url: str = _setting("", "Benchmarks only: Redis for the workloads (in-process jobs otherwise).")

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def mail_path(self) -> Path:
        return Path(self.mail_dir) if self.mail_dir else self.data_path / "mail"

    @property
    def upload_path(self) -> Path:
        return Path(self.upload_dir) if self.upload_dir else self.data_path / "uploads"

    @property
    def open_data_path(self) -> Path:
        return Path(self.open_data_dir) if self.open_data_dir else self.data_path / "open-data"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite://{self.data_path / 'consult.sqlite3'}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    def with_changes(self, **changes: Any) -> "Settings":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def setting_docs() -> list[tuple[str, str, str]]:
    """(environment name, default as text, help) for every setting, for README and --help."""
    rows = []
    for f in fields(Settings):
        default = f.default
        if isinstance(default, bool):
            default = "true" if default else "false"
        rows.append((PREFIX + f.name.upper(), str(default), f.metadata["help"]))
    return rows


def _convert(name: str, raw: str, kind: type) -> Any:
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{PREFIX}{name.upper()} must be true or false, not {raw!r}")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{PREFIX}{name.upper()} must be a whole number, not {raw!r}") from None
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{PREFIX}{name.upper()} must be a number, not {raw!r}") from None
    return raw


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        kind = type(f.default)
        raw = env.get(PREFIX + f.name.upper())
        if raw is None and f.name.upper() in UNPREFIXED:
            raw = env.get(f.name.upper())
        if raw is not None:
            values[f.name] = _convert(f.name, raw, kind)
    values.update(overrides)
    settings = Settings(**values)
    if settings.default_language not in ("vi", "en"):
        raise SettingsError(f"{PREFIX}DEFAULT_LANGUAGE must be vi or en, not {settings.default_language!r}")
    if not settings.secret_key:
        settings = settings.with_changes(secret_key=_stored_secret_key(settings.data_path))
    return settings


def _stored_secret_key(data_path: Path) -> str:
    """Read the generated key, or generate it once; never a key written in the code."""
    path = data_path / "secret_key"
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    data_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key
