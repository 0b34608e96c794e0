"""Tortoise models of the consult package.

Times are stored in UTC. Moderation state that belongs to content lives on the content (a single
``status`` field); the audit log lives here because officials' actions are audited as well as
moderators', and ``consult`` must not import ``moderation``.
"""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class Role(str, Enum):
    OFFICIAL = "official"
    MODERATOR = "moderator"
    ADMIN = "admin"


class TokenPurpose(str, Enum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"


class ConsultationStatus(str, Enum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    OUTCOME_PUBLISHED = "outcome_published"
    ARCHIVED = "archived"


class ModerationMode(str, Enum):
    PRE = "pre"  # nothing is public until a moderator approves it
    POST = "post"  # public once automatic screening passes


class ParticipationRule(str, Enum):
    ACCOUNTS = "accounts"  # anyone with an account may comment, vote and answer
    VERIFIED = "verified"  # only accounts whose identity a provider verified (one person, one voice)


class ConsultationKind(str, Enum):
    POLICY = "policy"
    LEGAL_TEXT = "legal_text"
    SERVICE_DESIGN = "service_design"


class Agency(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=80, unique=True)
    name_vi = fields.CharField(max_length=200)
    name_en = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "agency"

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_vi


class Account(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)  # stored lower-cased
    display_name = fields.CharField(max_length=60)
    password_hash = fields.CharField(max_length=200)
    email_verified_at = fields.DatetimeField(null=True)
    language = fields.CharField(max_length=5, null=True)
    # Bumped on password change: every session signed with the old value stops working.
    session_version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_sign_in_at = fields.DatetimeField(null=True)
    # Optional, self-declared, for the reports' breakdowns (codes in consult.profile); never shown publicly.
    province = fields.CharField(max_length=30, null=True)
    respondent_kind = fields.CharField(max_length=20, null=True)
    # Set when an identity provider that identifies residents (consult.identity) vouched for this person:
    # verified-only consultations need it. The verified name is never shown publicly (comments show the
    # display name); of the date of birth only the year is kept.
    identity_verified_at = fields.DatetimeField(null=True)
    verified_by = fields.CharField(max_length=30, null=True)  # the provider's name
    verified_name = fields.CharField(max_length=200, null=True)
    birth_year = fields.IntField(null=True)
    verified_fields = fields.CharField(max_length=60, default="", db_default="")  # "name,province,birth_year": filled by the provider

    class Meta:
        table = "account"

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None


class IdentityLink(Model):
    # An account's identity at an OpenID Connect provider: the provider's name and its subject (sub) for the person.

    id = fields.IntField(primary_key=True)
    account = fields.ForeignKeyField("models.Account", related_name="identity_links", on_delete=fields.CASCADE)
    provider = fields.CharField(max_length=30)
    subject = fields.CharField(max_length=255)
    linked_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "identity_link"
        unique_together = (("provider", "subject"), ("account", "provider"))


class RoleGrant(Model):
    # A role held by an account; officials hold it per agency (agency is null for the others).

    id = fields.IntField(primary_key=True)
    account = fields.ForeignKeyField("models.Account", related_name="role_grants", on_delete=fields.CASCADE)
    role = fields.CharEnumField(Role, max_length=20)
    agency = fields.ForeignKeyField("models.Agency", related_name="role_grants", null=True, on_delete=fields.CASCADE)
    granted_by = fields.ForeignKeyField("models.Account", related_name=False, null=True, on_delete=fields.SET_NULL)
    granted_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "role_grant"
        unique_together = (("account", "role", "agency"),)


class Consent(Model):
    # Explicit consent: what was agreed, when, and which version of the notice.

    id = fields.IntField(primary_key=True)
    account = fields.ForeignKeyField("models.Account", related_name="consents", on_delete=fields.CASCADE)
    purpose = fields.CharField(max_length=40)
    notice_version = fields.CharField(max_length=20)
    given_at = fields.DatetimeField(auto_now_add=True)
    withdrawn_at = fields.DatetimeField(null=True)

    class Meta:
        table = "consent"


class AccountToken(Model):
    # Single-use links sent by e-mail. Only a hash of the token is stored.

    id = fields.IntField(primary_key=True)
    account = fields.ForeignKeyField("models.Account", related_name="tokens", on_delete=fields.CASCADE)
    purpose = fields.CharEnumField(TokenPurpose, max_length=20)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "account_token"


class OutboxMail(Model):
    # Every e-mail is written here first; the send job only delivers what is stored.

    id = fields.BigIntField(primary_key=True)
    to_address = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=300)
    body_text = fields.TextField()
    language = fields.CharField(max_length=5)
    created_at = fields.DatetimeField(auto_now_add=True)
    claimed_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "outbox_mail"
        indexes = (("sent_at", "created_at"),)


class AuditEntry(Model):
    # Who did what to what, for every official, moderator and administrator action.

    id = fields.BigIntField(primary_key=True)
    actor = fields.ForeignKeyField("models.Account", related_name=False, null=True, on_delete=fields.SET_NULL)
    action = fields.CharField(max_length=60)
    target_type = fields.CharField(max_length=40)
    target_id = fields.CharField(max_length=40)
    detail = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_entry"
        indexes = (("target_type", "target_id"),)


class Consultation(Model):
    # A consultation as the foundation needs it (listing, demo data); the consultations issue extends it.

    id = fields.IntField(primary_key=True)
    agency = fields.ForeignKeyField("models.Agency", related_name="consultations", on_delete=fields.RESTRICT)
    slug = fields.CharField(max_length=120, unique=True)
    title = fields.CharField(max_length=300)
    summary = fields.TextField()
    kind = fields.CharEnumField(ConsultationKind, max_length=20)
    language = fields.CharField(max_length=5)
    status = fields.CharEnumField(ConsultationStatus, max_length=20, default=ConsultationStatus.DRAFT)
    # db_default, so that adding the column fills the rows already there.
    moderation_mode = fields.CharEnumField(ModerationMode, max_length=10, default=ModerationMode.POST, db_default=ModerationMode.POST.value)
    participation = fields.CharEnumField(ParticipationRule, max_length=10, default=ParticipationRule.ACCOUNTS,
                                         db_default=ParticipationRule.ACCOUNTS.value)
    opens_at = fields.DatetimeField(null=True)
    closes_at = fields.DatetimeField(null=True)
    opened_at = fields.DatetimeField(null=True)  # when it actually opened and closed, which the log also says
    closed_at = fields.DatetimeField(null=True)
    created_by = fields.ForeignKeyField("models.Account", related_name=False, null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # The agency's answer: an opening paragraph above the answer table, and when it was published.
    outcome_summary = fields.TextField(default="", db_default="")
    outcome_published_at = fields.DatetimeField(null=True)

    class Meta:
        table = "consultation"
        indexes = (("status", "closes_at"), ("status", "opens_at"))


class Article(Model):
    # One part of a draft, in order: an article (điều) or a section, its text as Markdown and as the
    # sanitized HTML made from it when saved.

    id = fields.IntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="articles", on_delete=fields.CASCADE)
    position = fields.IntField()
    label = fields.CharField(max_length=40)  # "Điều 1", "Article 1", "Chương I"
    title = fields.CharField(max_length=300, default="")
    body_markdown = fields.TextField(default="")
    body_html = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "article"
        indexes = (("consultation_id", "position"),)


class QuestionKind(str, Enum):
    SINGLE = "single"  # one option
    MULTIPLE = "multiple"  # any number of options
    SCALE = "scale"  # 1 to 5
    TEXT = "text"  # free text


class CommentStatus(str, Enum):
    PENDING = "pending"  # written, not yet screened or awaiting a moderator
    PUBLISHED = "published"
    REJECTED = "rejected"  # never shown; reason_code says why
    HIDDEN = "hidden"  # was public, taken down (flags or a moderator); reason_code says why
    WITHDRAWN = "withdrawn"  # by its author


class ReviewReason(str, Enum):
    # Why a comment waits in the moderators' queue; null on the comment when nothing is to be decided.
    SCREENING = "screening"  # held by the automatic screening, with its signals
    FLAGS = "flags"  # reported by citizens
    APPEAL = "appeal"  # its author appealed a rejection
    PREMODERATION = "premoderation"  # the consultation publishes nothing before a moderator approves


class DecisionReason(str, Enum):
    # The fixed list of reasons a moderator gives for rejecting or hiding, shown to the author.
    ABUSE = "abuse"
    SPAM = "spam"
    PERSONAL_DATA = "personal_data"
    OFF_TOPIC = "off_topic"
    DUPLICATE = "duplicate"
    ILLEGAL = "illegal"
    OTHER = "other"  # with a note


class AppealState(str, Enum):
    PENDING = "pending"
    UPHELD = "upheld"  # the rejection stands
    OVERTURNED = "overturned"  # published after all


class Stance(str, Enum):
    SUPPORT = "support"
    OPPOSE = "oppose"
    CHANGE = "change"  # suggest a change, usually with proposed wording


class VoteValue(str, Enum):
    AGREE = "agree"
    DISAGREE = "disagree"
    PASS = "pass"


class FlagReason(str, Enum):
    SPAM = "spam"
    OFFENSIVE = "offensive"
    OFF_TOPIC = "off_topic"
    PERSONAL_DATA = "personal_data"
    MISINFORMATION = "misinformation"
    OTHER = "other"


class Topic(Model):
    # A topic tag, named once in each language; consultations are filtered by it.

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=80, unique=True)
    name_vi = fields.CharField(max_length=80)
    name_en = fields.CharField(max_length=80)

    class Meta:
        table = "topic"


class ConsultationTopic(Model):
    id = fields.IntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="topic_links", on_delete=fields.CASCADE)
    topic = fields.ForeignKeyField("models.Topic", related_name="consultation_links", on_delete=fields.CASCADE)

    class Meta:
        table = "consultation_topic"
        unique_together = (("consultation", "topic"),)
        indexes = (("topic_id", "consultation_id"),)


class Question(Model):
    # A question put to participants; options are listed for the choice kinds, in order.

    id = fields.IntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="questions", on_delete=fields.CASCADE)
    position = fields.IntField()
    kind = fields.CharEnumField(QuestionKind, max_length=10)
    prompt = fields.CharField(max_length=500)
    options = fields.JSONField(default=list)
    required = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "question"
        indexes = (("consultation_id", "position"),)


class QuestionResponse(Model):
    # One account's answers to a consultation's questions: one per account, editable until it closes.

    id = fields.IntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="responses", on_delete=fields.CASCADE)
    account = fields.ForeignKeyField("models.Account", related_name="responses", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "question_response"
        unique_together = (("consultation", "account"),)


class Answer(Model):
    # One row per chosen option (single, multiple, scale: option is the index or the 1-5 value) or the
    # text, so results are counted by the database.

    id = fields.IntField(primary_key=True)
    response = fields.ForeignKeyField("models.QuestionResponse", related_name="answers", on_delete=fields.CASCADE)
    question = fields.ForeignKeyField("models.Question", related_name="answers", on_delete=fields.CASCADE)
    option = fields.IntField(null=True)
    text = fields.TextField(null=True)

    class Meta:
        table = "answer"
        indexes = (("question_id", "option"), ("response_id",))


class Attachment(Model):
    # A PDF of the consultation, stored under the upload directory by a random name.

    id = fields.IntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="attachments", on_delete=fields.CASCADE)
    title = fields.CharField(max_length=200)
    filename = fields.CharField(max_length=200)  # as uploaded, cleaned, for the download
    stored_name = fields.CharField(max_length=80, unique=True)
    size = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    uploaded_by = fields.ForeignKeyField("models.Account", related_name=False, null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attachment"


class Comment(Model):
    # A comment on the whole draft (article empty) or on one article, or a reply to a comment.
    # Its one status field says whether it shows; reason_code says why when rejected or hidden.
    # The vote and flag counters are kept with the votes in one transaction, so lists sort on them.

    id = fields.IntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="comments", on_delete=fields.CASCADE)
    article = fields.ForeignKeyField("models.Article", related_name="comments", null=True, on_delete=fields.SET_NULL)
    parent = fields.ForeignKeyField("models.Comment", related_name="replies", null=True, on_delete=fields.CASCADE)
    # Null once the author deleted their account: the comment shows as from a deleted account.
    author = fields.ForeignKeyField("models.Account", related_name="comments", null=True, on_delete=fields.SET_NULL)
    stance = fields.CharEnumField(Stance, max_length=10, null=True)  # replies have none
    body = fields.TextField()
    proposed_wording = fields.TextField(null=True)
    status = fields.CharEnumField(CommentStatus, max_length=12, default=CommentStatus.PENDING)
    reason_code = fields.CharField(max_length=40, null=True)
    screened_at = fields.DatetimeField(null=True)  # when the screening job ran; the sweep re-enqueues the rest
    published_at = fields.DatetimeField(null=True)
    agree_count = fields.IntField(default=0)
    disagree_count = fields.IntField(default=0)
    pass_count = fields.IntField(default=0)
    flag_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # Moderation. review says why it waits for a moderator (null: nothing to decide), since when;
    # signals are what the screening found, with the matched character spans of body or wording.
    review = fields.CharEnumField(ReviewReason, max_length=16, null=True)
    review_since = fields.DatetimeField(null=True)
    signals = fields.JSONField(null=True)
    top_signal = fields.CharField(max_length=16, null=True)  # the kind of the strongest signal, for the queue's filter
    campaign = fields.ForeignKeyField("models.Campaign", related_name="comments", null=True, on_delete=fields.SET_NULL)
    # Bumped by every decision: a decision names the version it was made on, so of two moderators
    # deciding at once one wins and the other is told.
    moderation_version = fields.IntField(default=0, db_default=0)
    decided_by = fields.ForeignKeyField("models.Account", related_name=False, null=True, on_delete=fields.SET_NULL)
    decided_at = fields.DatetimeField(null=True)
    decision_seconds = fields.IntField(null=True)  # from entering the queue to the decision, for transparency
    decision_note = fields.TextField(null=True)  # shown to the author with the reason code
    redacted_at = fields.DatetimeField(null=True)
    appeal_state = fields.CharEnumField(AppealState, max_length=12, null=True)
    appeal_note = fields.TextField(null=True)
    appealed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "comment"
        indexes = (
            ("consultation_id", "status", "id"),
            ("consultation_id", "status", "agree_count"),
            ("article_id", "status"),
            ("parent_id", "status"),
            ("author_id", "id"),
            ("status", "screened_at"),
            # The moderators' queue: oldest first overall and per consultation, most flagged, by campaign.
            ("review_since", "id"),
            ("consultation_id", "review_since", "id"),
            ("review", "review_since", "id"),
            ("review", "top_signal", "consultation_id"),
            ("flag_count", "id"),
            ("campaign_id", "review"),
            ("decided_at", "id"),
        )


class Campaign(Model):
    # A group of near-identical comments in one consultation (a form letter), found by the screening.

    id = fields.IntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="campaigns", on_delete=fields.CASCADE)
    size = fields.IntField(default=1)
    first_seen = fields.DatetimeField()
    last_seen = fields.DatetimeField()

    class Meta:
        table = "campaign"


class CommentFingerprint(Model):
    # A comment's MinHash signature; its LSH band keys are in fingerprint_band, looked up by index
    # so that grouping one comment never reads the whole consultation.

    id = fields.IntField(primary_key=True)
    comment = fields.OneToOneField("models.Comment", related_name="fingerprint", on_delete=fields.CASCADE)
    signature = fields.BinaryField()

    class Meta:
        table = "comment_fingerprint"


class FingerprintBand(Model):
    id = fields.BigIntField(primary_key=True)
    consultation_id = fields.IntField()
    key = fields.BigIntField()
    comment = fields.ForeignKeyField("models.Comment", related_name=False, on_delete=fields.CASCADE)

    class Meta:
        table = "fingerprint_band"
        indexes = (("consultation_id", "key", "comment_id"),)


class RedactedOriginal(Model):
    # The text of a comment as it was before a redaction, for the audit log, erased after the
    # retention period (CONSULT_REDACTION_RETENTION_DAYS) by a daily job.

    id = fields.IntField(primary_key=True)
    audit_entry = fields.OneToOneField("models.AuditEntry", related_name="redacted_original", on_delete=fields.CASCADE)
    body = fields.TextField()
    proposed_wording = fields.TextField(null=True)
    erase_after = fields.DatetimeField(db_index=True)

    class Meta:
        table = "redacted_original"


class BulkDecision(Model):
    # One decision applied to many comments (a selection or a whole campaign) by a job, in batches,
    # with its progress shown to the moderator.

    id = fields.IntField(primary_key=True)
    actor = fields.ForeignKeyField("models.Account", related_name=False, null=True, on_delete=fields.SET_NULL)
    action = fields.CharField(max_length=20)
    reason_code = fields.CharField(max_length=20, null=True)
    note = fields.TextField(default="")
    campaign = fields.ForeignKeyField("models.Campaign", related_name=False, null=True, on_delete=fields.SET_NULL)
    comment_ids = fields.JSONField(default=list)
    total = fields.IntField(default=0)
    done = fields.IntField(default=0)
    skipped = fields.IntField(default=0)
    state = fields.CharField(max_length=10, default="queued")  # queued, running, done
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "bulk_decision"


class Vote(Model):
    id = fields.IntField(primary_key=True)
    comment = fields.ForeignKeyField("models.Comment", related_name="votes", on_delete=fields.CASCADE)
    account = fields.ForeignKeyField("models.Account", related_name="votes", on_delete=fields.CASCADE)
    value = fields.CharEnumField(VoteValue, max_length=10)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "vote"
        unique_together = (("comment", "account"),)
        indexes = (("account_id", "id"),)


class Flag(Model):
    id = fields.IntField(primary_key=True)
    comment = fields.ForeignKeyField("models.Comment", related_name="flags", on_delete=fields.CASCADE)
    account = fields.ForeignKeyField("models.Account", related_name="flags", on_delete=fields.CASCADE)
    reason = fields.CharEnumField(FlagReason, max_length=20)
    note = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True)  # set by moderation when it decides on the comment

    class Meta:
        table = "flag"
        unique_together = (("comment", "account"),)


class Follow(Model):
    id = fields.IntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="follows", on_delete=fields.CASCADE)
    account = fields.ForeignKeyField("models.Account", related_name="follows", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "follow"
        unique_together = (("consultation", "account"),)


class Report(Model):
    # The latest report snapshot of a consultation, rebuilt by the build_report job. requested_at and
    # started_at say a rebuild is waiting or running; the snapshot says what data it covers.

    id = fields.IntField(primary_key=True)
    consultation = fields.OneToOneField("models.Consultation", related_name="report", on_delete=fields.CASCADE)
    data = fields.JSONField(null=True)
    built_at = fields.DatetimeField(null=True)
    build_seconds = fields.FloatField(null=True)
    final = fields.BooleanField(default=False)  # built after closing: the figures no longer change
    # The data covered: everything up to these ids (later activity means a rebuild is due).
    last_comment_id = fields.IntField(default=0)
    last_vote_id = fields.IntField(default=0)
    last_response_id = fields.IntField(default=0)
    requested_at = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "report"


class OutcomeDecision(str, Enum):
    ACCEPTED = "accepted"
    PARTLY = "partly"
    NOT_ACCEPTED = "not_accepted"


class OutcomeItem(Model):
    # One row of the agency's answer table (giải trình, tiếp thu): per article or per theme, what was
    # said, whether it was taken up, and why.

    id = fields.IntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name="outcome_items", on_delete=fields.CASCADE)
    position = fields.IntField()
    kind = fields.CharField(max_length=10)  # "article", "theme" or "general"
    article = fields.ForeignKeyField("models.Article", related_name=False, null=True, on_delete=fields.SET_NULL)
    title = fields.CharField(max_length=300)
    comment_count = fields.IntField(default=0)
    summary = fields.TextField(default="")
    decision = fields.CharEnumField(OutcomeDecision, max_length=14, null=True)
    reason = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "outcome_item"
        indexes = (("consultation_id", "position"),)


class OpenDataRelease(Model):
    # The anonymised data package of a consultation, written when its outcome is published.

    id = fields.IntField(primary_key=True)
    consultation = fields.OneToOneField("models.Consultation", related_name="open_data", on_delete=fields.CASCADE)
    licence = fields.CharField(max_length=40)
    folder = fields.CharField(max_length=80)  # under the open data directory
    files = fields.JSONField(default=list)  # [{"name", "bytes", "sha256", "rows"}]
    released_at = fields.DatetimeField(null=True)  # null while the job writes it

    class Meta:
        table = "open_data_release"


class SatisfactionQuestion(str, Enum):
    EASE = "ease"  # after a comment or answers: how easy was it to take part? 1 (very difficult) to 5 (very easy)
    OUTCOME = "outcome"  # under the published outcome: did the answer explain what happened to your input? 0 no, 1 partly, 2 yes


class SatisfactionAnswer(Model):
    # Anonymous: no account, and only the day. That a person has answered (so that they are not asked again)
    # is kept apart, in SatisfactionGiven, which holds no answer.

    id = fields.IntField(primary_key=True)
    consultation = fields.ForeignKeyField("models.Consultation", related_name=False, on_delete=fields.CASCADE)
    question = fields.CharEnumField(SatisfactionQuestion, max_length=10)
    value = fields.SmallIntField()
    note = fields.TextField(default="")
    asked_after = fields.CharField(max_length=10)  # "comment", "response" or "outcome": where it was asked
    answered_on = fields.DateField()

    class Meta:
        table = "satisfaction_answer"
        indexes = (("consultation_id", "question"),)


class SatisfactionGiven(Model):
    id = fields.IntField(primary_key=True)
    account = fields.ForeignKeyField("models.Account", related_name=False, on_delete=fields.CASCADE)
    consultation = fields.ForeignKeyField("models.Consultation", related_name=False, on_delete=fields.CASCADE)
    question = fields.CharEnumField(SatisfactionQuestion, max_length=10)

    class Meta:
        table = "satisfaction_given"
        unique_together = (("account", "consultation", "question"),)


class DashboardSnapshot(Model):
    # The dashboard figures of the last twelve months for one agency ("agency:ID") or all ("all"), built by the
    # refresh_dashboards job so that the pages read one row instead of counting a million comments.

    id = fields.IntField(primary_key=True)
    scope = fields.CharField(max_length=40, unique=True)
    first_month = fields.CharField(max_length=7)  # the period: first and last month, YYYY-MM
    last_month = fields.CharField(max_length=7)
    data = fields.JSONField()
    built_at = fields.DatetimeField()
    build_seconds = fields.FloatField()

    class Meta:
        table = "dashboard_snapshot"
