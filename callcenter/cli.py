"""The `contactdesk` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from callcenter.access_log import RedactingAccessLogger
from callcenter.app import create_app
from callcenter.rasa_server import create_actions_app
from callcenter.settings import Settings
from handlers.accounts import issue_token
from handlers.demo import load_demo
from handlers.errors import DomainError
from storage.db import create_engine, create_sessionmaker, is_sqlite, normalise_url
from storage.migrate import upgrade_sync

log = logging.getLogger("contactdesk")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contactdesk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web app (and the workers)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--no-worker", action="store_true", help="leave the workers to `contactdesk worker`")
    serve.add_argument(
        "--telegram-polling",
        action="store_true",
        help="poll Telegram instead of a webhook (development)",
    )

    commands.add_parser("worker", help="campaign dispatch and deadline timers only")

    rasa = commands.add_parser(
        "rasa-actions", help="serve the Rasa custom actions alone (CONTACTDESK_RASA_TOKEN required)"
    )
    rasa.add_argument("--host", default="127.0.0.1")
    rasa.add_argument("--port", type=int, default=5055)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations")

    commands.add_parser("demo", help="load the demo data set (idempotent) and print the passwords")

    imports = commands.add_parser("import", help="bulk import")
    import_kinds = imports.add_subparsers(dest="import_kind", required=True)
    customers = import_kinds.add_parser("customers", help="customers from a CSV file")
    customers.add_argument("file", help="CSV with a header row (see README)")
    customers.add_argument("--batch-size", type=int, default=2000)
    customers.add_argument(
        "--force-tiers",
        action="store_true",
        help="load even if the file pushes a tier over its quota (recorded in the audit trail)",
    )

    token = commands.add_parser("token", help="print a new API token for a user")
    token.add_argument("user")
    return parser


async def _demo(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            passwords = await load_demo(session)
    finally:
        await engine.dispose()
    print("Demo data loaded. Sign in at /agent with:")
    for login, password in passwords.items():
        print(f"  {login:<12} {password}")


async def _token(settings: Settings, login: str) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            print(await issue_token(session, login))
    finally:
        await engine.dispose()


async def _worker(settings: Settings) -> None:
    runner = web.AppRunner(create_app(settings, run_workers=True))
    await runner.setup()  # opens the database and starts the workers, serves no HTTP
    log.info("worker running; Ctrl-C stops it")
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    settings = Settings()
    url = normalise_url(settings.database_url)
    try:
        if args.command == "serve":
            if is_sqlite(url):
                upgrade_sync(url)
            if args.telegram_polling:
                settings = settings.model_copy(update={"telegram_polling": True})
            app = create_app(settings, run_workers=not args.no_worker)
            web.run_app(
                app,
                host=args.host,
                port=args.port,
                print=log.info,
                access_log_class=RedactingAccessLogger,
            )
        elif args.command == "worker":
            asyncio.run(_worker(settings))
        elif args.command == "rasa-actions":
            if is_sqlite(url):
                upgrade_sync(url)
            web.run_app(
                create_actions_app(settings),
                host=args.host,
                port=args.port,
                print=log.info,
                access_log_class=RedactingAccessLogger,
            )
        elif args.command == "db":
            upgrade_sync(url)
            print("database is at the newest revision")
        elif args.command == "demo":
            if is_sqlite(url):
                upgrade_sync(url)
            asyncio.run(_demo(settings))
        elif args.command == "import":
            from callcenter.cli_import import import_customers_command

            return import_customers_command(
                settings, args.file, batch_size=args.batch_size, force_tiers=args.force_tiers
            )
        elif args.command == "token":
            asyncio.run(_token(settings, args.user))
    except DomainError as error:
        print(f"contactdesk: {error.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
