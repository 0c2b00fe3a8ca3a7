"""`contactdesk user add|set|password|disable`: administering people from the command line.

Each change is audited under the operating-system user who ran the command (`cli:<user>`,
via `cli`). A new or reset password is printed once; only its hash is stored."""

from __future__ import annotations

import argparse

from callcenter.bootstrap import Bootstrap
from callcenter.cli_actor import operator
from handlers.roles import ROLES
from storage.users import Actor


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = commands.add_parser("user", help="add, change, re-password or disable a user")
    actions = user.add_subparsers(dest="user_command", required=True)

    add = actions.add_parser("add", help="add a user and print the generated password")
    add.add_argument("login")
    add.add_argument("--role", required=True, help=" | ".join(ROLES))
    _profile_options(add)

    change = actions.add_parser("set", help="change a user's role, name, skills, languages or queues")
    change.add_argument("login")
    change.add_argument("--role", help=" | ".join(ROLES))
    _profile_options(change)

    password = actions.add_parser("password", help="give a user a new generated password and print it")
    password.add_argument("login")

    disable = actions.add_parser("disable", help="disable a user: their sessions and API tokens end now")
    disable.add_argument("login")


def _profile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name")
    parser.add_argument("--skills", type=_listed, help="comma-separated, e.g. general,billing")
    parser.add_argument("--languages", type=_listed, help="comma-separated, e.g. zh,en")
    parser.add_argument("--queues", type=_listed, help="comma-separated queue names, e.g. vip,complaints")
    parser.add_argument(
        "--phone",
        help="the agent's phone, as a PBX reports it when they answer (any spelling; '' removes it)",
    )
    parser.add_argument(
        "--twilio-client", help="the Twilio Client identity their calls are dialled to ('' removes it)"
    )


def _listed(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _actor() -> Actor:
    return operator("cli")


async def run(boot: Bootstrap, args: argparse.Namespace) -> None:
    """One `user` command; a DomainError (unknown login, bad role, taken login) goes to main."""
    from handlers import accounts, users
    from handlers.routing.rules import load_rules

    async with boot.command_session() as session:
        if args.user_command == "disable":
            await accounts.disable_user(session, args.login, _actor())
            print(f"{args.login} is disabled; their sessions and API tokens have ended")
            return
        if args.user_command == "password":
            print(await users.reset_password(session, _actor(), args.login))
            return
        profile = users.Profile(
            role=args.role,
            name=args.name,
            skills=args.skills,
            languages=args.languages,
            queues=args.queues,
            phone=args.phone,
            twilio_client=args.twilio_client,
        )
        region = boot.settings.default_region
        known = users.routing_skills(load_rules(boot.settings.routing_rules, boot.settings.timezone))
        if args.user_command == "add":
            created = await users.add_user(
                session, _actor(), args.login, profile, known_skills=known, region=region
            )
            print(created.password)
        else:
            changed = await users.update_user(
                session, _actor(), args.login, profile, known_skills=known, region=region
            )
            print(
                f"{changed.login}: {changed.role}, skills {','.join(changed.skills) or '-'}, "
                f"languages {','.join(changed.languages) or '-'}, queues {','.join(changed.queues) or '-'}, "
                f"phone {changed.phone or '-'}, twilio client {changed.twilio_client or '-'}"
            )
