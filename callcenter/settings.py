"""Configuration from `CONTACTDESK_*` environment variables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field, IPvAnyNetwork, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from handlers.defaults import COMPLAINT_CATEGORIES, TIMEZONE

if TYPE_CHECKING:
    from handlers.customers import TierLimits
    from handlers.routing.caller_id import OutboundCallerIds


class CallerIdRow(BaseModel):
    dest: str = Field(min_length=1, max_length=64)
    caller_id: str = Field(min_length=1, max_length=32)
    note: str = ""


class CtiOutbound(BaseModel):
    """Zammad's `cti_config.outbound`, the same shape: which caller id an outbound call shows."""

    routing_table: list[CallerIdRow] = Field(default_factory=list)
    default_caller_id: str | None = None

    def caller_ids(self) -> OutboundCallerIds:
        from handlers.routing.caller_id import CallerIdRule, OutboundCallerIds

        return OutboundCallerIds(
            tuple(CallerIdRule(row.dest, row.caller_id, row.note) for row in self.routing_table),
            self.default_caller_id or None,
        )


class SayVoice(BaseModel):
    """A Twilio <Say> voice and the language it is told to speak (they must agree)."""

    voice: str = Field(min_length=1)
    language: str = Field(min_length=2)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTACTDESK_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///contactdesk.db"
    default_region: str = "CN"
    bot_token: str | None = None
    telegram_api_base: str | None = None
    # setWebhook's secret_token: Telegram accepts only these characters, so another could never
    # match what Telegram sends (empty: the webhook refuses every update).
    telegram_webhook_secret: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{0,256}$")
    twilio_auth_token: str | None = None
    public_url: str | None = None
    cti_token: str | None = None
    # Twilio: the <Say> voice per caller language, JSON {"zh": "Polly.Zhiyu", "en": "Polly.Joanna"}
    # or {"en": {"voice": "Polly.Amy", "language": "en-GB"}}; languages not named keep the
    # defaults (callcenter/twilio_twiml.py). With a TaskRouter workflow sid, calls are queued
    # as tasks carrying their priority; an agent routing chose is dialled this long first.
    twilio_voices: dict[str, str | SayVoice] = Field(default_factory=dict)
    twilio_workflow_sid: str | None = None
    twilio_dial_timeout_seconds: int = Field(default=20, ge=5, le=600)
    # Zammad's outbound caller-id rules, as JSON: {"routing_table": [{"dest": "41*",
    # "caller_id": "41715880339000", "note": "…"}], "default_caller_id": "4930777000000"}.
    # An outbound newCall on /telephony/cti/{token} is answered {"action": "dial", …} when
    # a row matches or a default is set (docs/telephony.md).
    cti_outbound_caller_ids: CtiOutbound = Field(default_factory=CtiOutbound)
    rasa_url: str | None = None
    # Cookie encryption for the console; a random key per process when unset
    # means sessions do not survive a restart, which is acceptable for a demo.
    session_key: str | None = None
    vip_share_limit: float = Field(default=0.15, ge=0, le=1)
    preferred_share_limit: float = Field(default=0.30, ge=0, le=1)

    # The console's language for a user who has not chosen one (zh | en).
    console_language: Literal["zh", "en"] = "zh"

    # Complaints: the operator's calendar and categories.
    timezone: str = TIMEZONE
    holidays: list[date] = Field(default_factory=list)  # JSON list of ISO dates
    extra_workdays: list[date] = Field(default_factory=list)  # weekend days worked (调休)
    complaint_categories: list[str] = Field(default_factory=lambda: list(COMPLAINT_CATEGORIES))
    # An agent's resolution offering a compensation above this amount waits for a
    # supervisor's approval before the customer is told (the operator's rule).
    compensation_approval_above: Decimal = Field(default=Decimal("200"), ge=0)
    # The dashboard's service level: the share of calls answered within this many seconds.
    service_level_seconds: int = Field(default=20, gt=0)
    # Satisfaction targets over a trailing window; below them, an alert.
    csat_target: float = 4.0
    nps_target: float = 30.0
    target_window_days: int = 7
    # How often the deadline worker looks for breaches.
    timer_interval_seconds: float = 30.0

    # Routing: the rule file (default: the shipped one) and how long the telephony
    # platform may wait before it gets the default queue instead.
    routing_rules: str | None = None
    routing_budget_seconds: float = Field(default=2.0, gt=0)
    # On PostgreSQL, new calls are routed by one compiled statement over connections of
    # their own: this many, about the calls routed at once by one instance. False keeps
    # the Python engine (the reference the compiled rules are tested against).
    routing_compiled: bool = True
    routing_pool_size: int = Field(default=16, ge=1)
    # False: a routed call's commit does not wait for the disk (PostgreSQL's synchronous_commit
    # off on the routing connections only). A crash of the database server may lose the last
    # fraction of a second of routed calls' log rows and agent claims (docs/scale.md).
    routing_synchronous_commit: bool = True

    # Telegram: long polling instead of the webhook (development), and the sender's limits.
    telegram_polling: bool = False
    telegram_messages_per_second: float = 30.0
    telegram_chat_interval_seconds: float = 1.0
    telegram_sender_idle_seconds: float = 1.0
    # Handled update ids are kept this long to ignore Telegram's re-deliveries, then forgotten.
    telegram_update_retention_days: float = Field(default=2.0, gt=0)
    # How often waiting chats are offered again to agents who may take them (they are also
    # offered at once when a chat closes or moves and when an agent becomes available).
    inbox_sweep_seconds: float = Field(default=15.0, gt=0)

    # Campaigns: at most one campaign message per customer per this many days (all campaigns),
    # how many targets one INSERT … SELECT writes, and how workers share the sending.
    campaign_frequency_cap_days: float = Field(default=7.0, ge=0)
    # The cap per tier, JSON {"vip": 14, "regular": 7}: a tier not named keeps the one above.
    campaign_frequency_cap_days_by_tier: dict[
        Literal["vip", "preferred", "regular"], Annotated[float, Field(ge=0)]
    ] = Field(default_factory=dict)
    # Care campaigns' calendar: birthday, anniversary and holiday greetings per language
    # (a TOML file like handlers/care.toml, the default; docs/programme.md).
    care_calendar: str | None = None
    campaign_expansion_batch: int = Field(default=10_000, ge=1)
    campaign_dispatch_batch: int = Field(default=100, ge=1)
    campaign_concurrency: int = Field(default=8, ge=1)
    # A worker that holds a claim this long without a word is taken for dead.
    campaign_lease_seconds: float = Field(default=60.0, gt=0)
    campaign_idle_seconds: float = Field(default=1.0, gt=0)

    # Rasa (issue 11): the action endpoint's token, sent by Rasa as `?token=` (endpoints.yml
    # `action_endpoint: token:`) or as a bearer token; unset refuses every call. And the
    # input channels (voice gateways) whose `metadata.caller` number is trusted as the
    # caller's own: a number from any other channel or from a slot reveals nothing.
    rasa_token: str | None = None
    rasa_trusted_channels: list[str] = Field(default_factory=list)

    # Sign-in and sessions (issue 11, section 3). Failures within the window lock a login
    # (or every login from one client address) for the lockout time, on every instance.
    login_max_failures: int = Field(default=5, ge=1)
    address_max_failures: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=900, gt=0)
    login_lockout_seconds: int = Field(default=900, gt=0)
    # A console session ends this long after sign-in, whatever the activity.
    session_max_age_seconds: int = Field(default=12 * 3600, gt=0)
    # How often an open console socket checks that its session or token still stands
    # (it also checks before each screen pop).
    socket_recheck_seconds: float = Field(default=30.0, gt=0)
    # Threads that hash passwords; a sign-in flood waits for them, the rest of the app does not.
    password_hash_workers: int = Field(default=2, ge=1)
    # Load balancers whose X-Forwarded-For is believed (JSON list of addresses or networks);
    # without them every client behind the balancer would share one address limit.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)

    # The tier review (issue 18, docs/programme.md): once in each period of this many calendar
    # months (January and July for six; 0: only `contactdesk tiers review`); an approved
    # downgrade takes effect this many days later at the customer's midnight and they are told
    # this many days before, at this hour of their day; how long the review's statements may
    # run on PostgreSQL; how often the worker looks.
    tier_review_every_months: int = Field(default=6, ge=0, le=24)
    tier_downgrade_days: int = Field(default=5, ge=1, le=60)
    tier_notice_days: int = Field(default=2, ge=1, le=60)
    tier_notice_hour: int = Field(default=10, ge=0, le=23)
    tier_review_timeout_seconds: float = Field(default=1800.0, gt=0)
    tier_worker_seconds: float = Field(default=300.0, gt=0)

    # Webhooks and database faults (issue 11): a statement running longer than this is
    # cancelled (PostgreSQL's statement_timeout; on SQLite, the wait for a lock), and nobody
    # waits longer than the connect timeout for a connection, new or from the pool. A request
    # that meets either gets a 503 `database-unavailable` instead of hanging.
    database_statement_timeout_seconds: float = Field(default=5.0, gt=0)
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # The SQLAlchemy pool of one serving process (console, API, webhooks on the Python path,
    # in-process workers), with no overflow: about the requests it serves at once. Compiled
    # routing and the event bus hold connections of their own (docs/scale.md adds them up).
    # (The same default as storage/db.py's, for commands that build an engine themselves.)
    database_pool_size: int = Field(default=20, ge=1)
    # The event bus's own connections (LISTEN, and its NOTIFYs), straight to PostgreSQL when
    # CONTACTDESK_DATABASE_URL goes through PgBouncer in transaction pooling, where LISTEN
    # cannot work (docs/scale.md). Unset: the database URL.
    events_database_url: str | None = None
    # Off behind PgBouncer older than 1.21 in transaction pooling, which hands each transaction
    # to any server connection and so loses a statement prepared on another ("prepared
    # statement … does not exist"): every statement is then prepared unnamed, in its own
    # transaction, and the routing statement is planned at each call (docs/scale.md).
    database_prepared_statements: bool = True
    # The reports' own database, a PostgreSQL streaming replica (docs/scale.md): the reads that
    # aggregate history and write nothing go there, through a pool of this many connections
    # opened read-only. Unset: the reports read the database URL; ignored, like the events URL,
    # when that is SQLite (one file, no replica).
    reports_database_url: str | None = None
    reports_pool_size: int = Field(default=4, ge=1)

    @field_validator("reports_database_url")
    @classmethod
    def _reports_on_postgresql(cls, url: str | None) -> str | None:
        # A replica is PostgreSQL's: a SQLite file here would be a second, separate database.
        if not url:
            return None
        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            backend = None
        if backend not in ("postgres", "postgresql"):
            raise ValueError("the reports database is a PostgreSQL replica: a postgresql:// URL")
        return url


def tier_limits(settings: Settings) -> TierLimits:
    """The tier quotas (the operator's rule: 15% VIP, 30% preferred) as the use cases take them."""
    from handlers.customers import TierLimits  # not at the top: every command reads the settings

    return TierLimits({"vip": settings.vip_share_limit, "preferred": settings.preferred_share_limit})
