"""The `contactdesk` command line.

Every command starts from the composition root (callcenter/bootstrap.py) and imports what
it uses inside its own branch: only `serve`, `worker` and `rasa-actions` import the web
application, aiogram, Twilio or rasa-sdk, so the short commands (`db upgrade`, `token`,
`demo`, `import`, `user`) start fast (tests/test_cli.py checks the import graph)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from callcenter.bootstrap import Bootstrap, running
from callcenter.cli_tiers import add_parser as add_tiers_parser
from callcenter.cli_users import add_parser as add_user_parser
from callcenter.cli_users import run as run_user_command
from callcenter.settings import Settings
from handlers.errors import DomainError
from storage.db import is_sqlite, normalise_url

if TYPE_CHECKING:
    from aiohttp import web

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

    commands.add_parser("worker", help="the background workers only: deadlines, campaigns, the outbox")

    rasa = commands.add_parser(
        "rasa-actions", help="serve the Rasa custom actions alone (CONTACTDESK_RASA_TOKEN required)"
    )
    rasa.add_argument("--host", default="127.0.0.1")
    rasa.add_argument("--port", type=int, default=5055)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations")

    demo = commands.add_parser("demo", help="load the demo data set (idempotent) and print the passwords")
    demo.add_argument(
        "--url",
        default="http://127.0.0.1:8080",
        help="where the console will be served: the printed test call goes there",
    )

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

    spend = import_kinds.add_parser(
        "spend", help="customers' monthly bills from a CSV file (the tier review's input)"
    )
    spend.add_argument("file", help="CSV: phone or customer_id, month (2026-06), amount, paid_late")

    token = commands.add_parser("token", help="print a new API token for a user")
    token.add_argument("user")
    add_user_parser(commands)
    add_tiers_parser(commands)
    return parser


def _migrate(url: str) -> None:
    from storage.migrate import upgrade_sync  # Alembic: only for the commands that migrate

    upgrade_sync(url)


async def _demo(boot: Bootstrap, url: str) -> None:
    from callcenter.demo_call import instructions
    from handlers.demo import load_demo

    # Each customer linked and complaint lodged logs a line: they would bury the passwords.
    logging.getLogger("handlers").setLevel(logging.WARNING)
    async with boot.command_session() as session:
        passwords = await load_demo(session, boot.policies.complaints)
    print("Demo data loaded. Sign in at /agent with:")
    for login, password in passwords.items():
        print(f"  {login:<12} {password}")
    token = boot.settings.cti_token
    if token:
        print(instructions(url, token))
    else:
        print("Set CONTACTDESK_CTI_TOKEN (as `make run` does) to be shown a test call that rings an agent.")


async def _token(boot: Bootstrap, login: str) -> None:
    from handlers.accounts import issue_token

    async with boot.command_session() as session:
        print(await issue_token(session, login))


async def _worker(boot: Bootstrap) -> None:
    """The bootstrap's workers, without a web application."""
    try:
        async with boot.database() as db, running(boot.workers(db)):
            log.info("worker running; Ctrl-C stops it")
            await asyncio.Event().wait()
    finally:
        await boot.close_telegram()


def _serve(app: web.Application, host: str, port: int) -> None:
    from aiohttp import web

    from callcenter.access_log import RedactingAccessLogger

    web.run_app(app, host=host, port=port, print=log.info, access_log_class=RedactingAccessLogger)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    boot = Bootstrap(Settings())
    url = normalise_url(boot.settings.database_url)
    try:
        if args.command == "serve":
            from callcenter.app import create_app

            if is_sqlite(url):
                _migrate(url)
            if args.telegram_polling:
                boot = Bootstrap(boot.settings.model_copy(update={"telegram_polling": True}))
            _serve(create_app(boot=boot, run_workers=not args.no_worker), args.host, args.port)
        elif args.command == "worker":
            asyncio.run(_worker(boot))
        elif args.command == "rasa-actions":
            from callcenter.rasa_server import create_actions_app

            if is_sqlite(url):
                _migrate(url)
            _serve(create_actions_app(boot), args.host, args.port)
        elif args.command == "db":
            _migrate(url)
            print("database is at the newest revision")
        elif args.command == "demo":
            if is_sqlite(url):
                _migrate(url)
            asyncio.run(_demo(boot, args.url))
        elif args.command == "import" and args.import_kind == "spend":
            from callcenter.cli_tiers import import_spend_command

            if is_sqlite(url):
                _migrate(url)
            return import_spend_command(boot, args.file)
        elif args.command == "import":
            from callcenter.cli_import import import_customers_command

            return import_customers_command(
                boot.settings, args.file, batch_size=args.batch_size, force_tiers=args.force_tiers
            )
        elif args.command == "token":
            asyncio.run(_token(boot, args.user))
        elif args.command == "user":
            asyncio.run(run_user_command(boot, args))
        elif args.command == "tiers":
            from callcenter.cli_tiers import run as run_tiers_command

            if is_sqlite(url):
                _migrate(url)
            return asyncio.run(run_tiers_command(boot, args))
    except DomainError as error:
        print(f"contactdesk: {error.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
