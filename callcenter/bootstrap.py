"""The composition root: what a process builds from its settings, built once, in one place.

Every command starts from `Bootstrap(settings)` and takes only the parts it uses, so a
one-off command (`token`, `demo`) pays for a database session and nothing else:

- `policies`: the operator's rules as plain values (complaint calendar and categories,
  satisfaction targets, campaign limits, routing rules), the one copy every use case gets;
- `database()`: the engine, session factory and event bus of a serving process, and the
  reports' session factory (on a replica's engine when one is configured);
- `telegram`: the bot, its rate limiter and campaign channel (aiogram is imported only here,
  and only with a bot token);
- `workers(db)`: the background loops, an explicit list: complaint deadlines, campaign
  dispatch, the outbox drain, forgetting old Telegram update ids.

`contactdesk serve` wraps these in the web application (callcenter/app.py); `contactdesk
worker` runs the workers alone and builds no web application. The web app, aiogram, Twilio
and rasa-sdk are imported inside the methods and commands that use them: the import graph
of this module and of callcenter/cli.py stays small so that short commands start fast."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.background import (
    Stop,
    let_closing_sqlite_connections_finish,
    run_until_stopped,
    stop_workers,
)
from callcenter.settings import Settings, tier_limits
from storage.db import create_engine, create_sessionmaker, is_sqlite, normalise_url
from storage.events import EventBus, InProcessBus

Sleep = Callable[[float], Awaitable[None]]

if TYPE_CHECKING:
    from bot.setup import Telegram
    from callcenter.complaints_setup import ComplaintMetrics
    from callcenter.metrics import Metrics
    from handlers.campaigns import Policy as CampaignPolicy
    from handlers.complaints import ComplaintPolicy
    from handlers.inbox.routing import InboxPolicy
    from handlers.reports import Targets
    from handlers.routing.rules import Rules
    from handlers.tiers.policy import TierPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policies:
    """The operator's rules, read from the settings once; no use case has a default of its own."""

    complaints: ComplaintPolicy
    targets: Targets
    campaigns: CampaignPolicy
    routing: Rules
    inbox: InboxPolicy  # chats: the routing rules and the holidays
    tiers: TierPolicy  # the half-yearly review and its quotas


def policies_from(settings: Settings) -> Policies:
    # Imported here: `token` and `db upgrade` need no rules, and these modules are not small.
    from handlers.calendar import WorkCalendar
    from handlers.campaigns import Policy as CampaignPolicy
    from handlers.campaigns.care import load_calendar
    from handlers.complaints import ComplaintPolicy
    from handlers.inbox.routing import InboxPolicy
    from handlers.reports import Targets
    from handlers.routing.rules import load_rules
    from handlers.tiers.policy import TierPolicy
    from storage.tier_review import Weights

    routing = load_rules(settings.routing_rules, settings.timezone)
    calendar = WorkCalendar.from_settings(settings.timezone, settings.holidays, settings.extra_workdays)
    return Policies(
        complaints=ComplaintPolicy(
            categories=tuple(settings.complaint_categories),
            calendar=calendar,
            compensation_approval_above=settings.compensation_approval_above,
        ),
        targets=Targets(
            csat_min=settings.csat_target,
            nps_min=settings.nps_target,
            window=timedelta(days=settings.target_window_days),
        ),
        campaigns=CampaignPolicy(
            frequency_cap=timedelta(days=settings.campaign_frequency_cap_days),
            frequency_cap_by_tier=tuple(
                (tier, timedelta(days=days))
                for tier, days in settings.campaign_frequency_cap_days_by_tier.items()
            ),
            default_timezone=settings.timezone,
            expansion_batch=settings.campaign_expansion_batch,
            dispatch_batch=settings.campaign_dispatch_batch,
            concurrency=settings.campaign_concurrency,
            lease=timedelta(seconds=settings.campaign_lease_seconds),
            care=load_calendar(settings.care_calendar),
        ),
        routing=routing,
        inbox=InboxPolicy(rules=routing, calendar=calendar),
        tiers=TierPolicy(
            limits=tier_limits(settings),
            weights=Weights(),
            every_months=settings.tier_review_every_months,
            downgrade_days=settings.tier_downgrade_days,
            # The notice goes out before the change, at the latest the day before it.
            notice_days=min(settings.tier_notice_days, settings.tier_downgrade_days),
            notice_hour=settings.tier_notice_hour,
            timezone=settings.timezone,
            timeout_seconds=settings.tier_review_timeout_seconds,
            interval_seconds=settings.tier_worker_seconds,
        ),
    )


@dataclass(frozen=True)
class Database:
    """A serving process's database: opened inside its event loop, closed when it stops."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    events: EventBus
    # The reads that aggregate history and write nothing: a replica's sessions, or `sessions`.
    reports: async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Worker:
    """One background loop. It rests between passes with the sleep it is given, which ends it
    once shutdown begins (callcenter/background.py)."""

    name: str
    run: Callable[[Sleep], Coroutine[Any, Any, None]]


def _event_bus(url: str, timeout: float) -> EventBus:
    """In-process on SQLite (one process); LISTEN/NOTIFY when instances share PostgreSQL."""
    if is_sqlite(url):
        return InProcessBus()
    from storage.events_postgres import PostgresBus  # asyncpg: only where PostgreSQL is used

    return PostgresBus(
        make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False),
        timeout=timeout,
    )


class Bootstrap:
    """One per process. Each part is built the first time a command asks for it, then kept."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def policies(self) -> Policies:
        return policies_from(self.settings)

    @cached_property
    def metrics(self) -> Metrics:
        from callcenter.metrics import Metrics

        return Metrics()

    @cached_property
    def complaint_metrics(self) -> ComplaintMetrics:
        from callcenter.complaints_setup import ComplaintMetrics

        return ComplaintMetrics(self.metrics.registry)

    @cached_property
    def telegram(self) -> Telegram | None:
        """The bot, when a token is configured; the caller closes it (`close_telegram`)."""
        settings = self.settings
        if not settings.bot_token:
            return None
        from bot.setup import connect

        return connect(
            settings.bot_token,
            api_base=settings.telegram_api_base,
            messages_per_second=settings.telegram_messages_per_second,
            chat_interval_seconds=settings.telegram_chat_interval_seconds,
        )

    async def close_telegram(self) -> None:
        # Only a bot that was built has a session to close; do not build one to close it.
        if "telegram" in self.__dict__ and self.telegram is not None:
            await self.telegram.bot.session.close()

    @asynccontextmanager
    async def database(self) -> AsyncIterator[Database]:
        """For serving processes: a statement or a connection wait that takes too long is an
        error to report, not a hang, and screen pops travel on the event bus."""
        settings = self.settings
        engine = self._serving_engine(settings.database_url, settings.database_pool_size)
        events_url = settings.database_url
        if settings.events_database_url and not is_sqlite(settings.database_url):
            events_url = settings.events_database_url  # past PgBouncer (docs/scale.md)
        events = _event_bus(events_url, settings.database_connect_timeout_seconds)
        sessions = create_sessionmaker(engine)
        replica = self._reports_engine()
        try:
            yield Database(
                engine=engine,
                sessions=sessions,
                events=events,
                reports=create_sessionmaker(replica) if replica is not None else sessions,
            )
        finally:
            await events.close()
            if replica is not None:
                await replica.dispose()
            await engine.dispose()

    def _reports_engine(self) -> AsyncEngine | None:
        """The replica's engine, when the reports have one (docs/scale.md). Its connections
        start read-only: a write on a report's path fails on any server, not only on a hot
        standby, so it is found before it meets one."""
        settings = self.settings
        if not settings.reports_database_url:
            return None
        if is_sqlite(settings.database_url):
            log.warning("CONTACTDESK_REPORTS_DATABASE_URL ignored: SQLite has no replica to read")
            return None
        return self._serving_engine(
            settings.reports_database_url,
            settings.reports_pool_size,
            connect_args={"server_settings": {"default_transaction_read_only": "on"}},
        )

    def _serving_engine(self, url: str, pool_size: int, **kwargs: Any) -> AsyncEngine:
        settings = self.settings
        return create_engine(
            url,
            statement_timeout=settings.database_statement_timeout_seconds,
            connect_timeout=settings.database_connect_timeout_seconds,
            prepared_statements=settings.database_prepared_statements,
            pool_size=pool_size,
            **kwargs,
        )

    @asynccontextmanager
    async def command_session(self) -> AsyncIterator[AsyncSession]:
        """For one-off commands: no timeouts (a migration or a demo load may take its time)."""
        engine = create_engine(
            self.settings.database_url, prepared_statements=self.settings.database_prepared_statements
        )
        try:
            async with create_sessionmaker(engine)() as session:
                yield session
        finally:
            await engine.dispose()

    def workers(self, db: Database) -> list[Worker]:
        """Every background loop, in one list: `serve` runs it unless --no-worker, `worker`
        runs it alone. Without a bot token nothing goes out on Telegram, so there is no
        outbox drain and campaigns only expand and serve the dialer."""
        from callcenter.complaints_setup import deadline_worker
        from handlers.campaigns import run_worker as campaign_worker
        from handlers.inbox.routing import run_sweeper
        from handlers.tiers.worker import run_worker as tier_worker

        settings, policies = self.settings, self.policies
        telegram = self.telegram
        metrics = self.complaint_metrics
        workers = [
            Worker(
                "deadline_worker",
                lambda sleep: deadline_worker(
                    db.sessions, policies.targets, metrics, settings.timer_interval_seconds, sleep
                ),
            ),
            Worker(
                "campaign_worker",
                lambda sleep: campaign_worker(
                    db.sessions,
                    telegram.channel if telegram else None,
                    policies.campaigns,
                    settings.campaign_idle_seconds,
                    sleep,
                ),
            ),
            Worker(
                "inbox_sweep",
                lambda sleep: run_sweeper(
                    db.sessions, db.events, policies.inbox, settings.inbox_sweep_seconds, sleep
                ),
            ),
            Worker("tier_review", lambda sleep: tier_worker(db.sessions, policies.tiers, sleep)),
        ]
        if telegram is not None:
            from handlers import outbox, telegram_updates

            retention = timedelta(days=settings.telegram_update_retention_days)
            workers += [
                Worker(
                    "outbox_drain",
                    lambda sleep: outbox.run_sender(
                        db.sessions, telegram.channel, db.events, settings.telegram_sender_idle_seconds, sleep
                    ),
                ),
                Worker(
                    "update_retention",
                    lambda sleep: telegram_updates.forget_periodically(db.sessions, retention, sleep=sleep),
                ),
            ]
        return workers


@asynccontextmanager
async def running(workers: list[Worker]) -> AsyncIterator[None]:
    """The workers run inside this block and are stopped for good when it ends."""
    stop = Stop()
    tasks = [
        asyncio.create_task(run_until_stopped(partial(worker.run, stop.sleep)), name=worker.name)
        for worker in workers
    ]
    try:
        yield
    finally:
        await stop_workers(tasks, stop)
        await let_closing_sqlite_connections_finish()
