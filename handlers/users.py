"""Administration of people: add a user, change role, name, skills, languages and queues,
give a new password, list them. Disabling an account is `accounts.disable_user`.

Queue membership is held as skills: the routing rules send a queue's calls to agents with
the skill of that name (vip, complaints, general), so an agent "in" a queue holds its skill
and routing honours a change at the next call, with no second list to keep in step. Read
back, `queues` are the skills that name a queue and `skills` the rest."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.errors import Conflict, InvalidInput, NotFound
from handlers.identities import normalise_phone
from handlers.passwords import hash_password
from handlers.roles import ROLES
from handlers.routing.rules import Rules
from storage import users as repo
from storage.keep import KEEP, Keep
from storage.routing import queues as queues_repo
from storage.users import Actor, UserRecord
from templates import LANGUAGES

LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
NAME_LENGTH = 200
# Concurrent chats: 3 unless an administrator sets another number, at most MAX_CHATS.
DEFAULT_MAX_CHATS = 3
MAX_CHATS = 20


@dataclass(frozen=True)
class UserView:
    """A user as administrators see them: never a password hash."""

    login: str
    name: str
    role: str
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    queues: tuple[str, ...]
    active: bool
    max_chats: int  # chats the agent holds at once
    phone: str | None = None  # E.164: what a PBX reports when they answer (answeringNumber)
    twilio_client: str | None = None  # the Twilio Client identity their calls are dialled to


@dataclass(frozen=True)
class Profile:
    """What an administrator sets; None leaves a field as it is (a new user: empty)."""

    role: str | None = None
    name: str | None = None
    skills: tuple[str, ...] | None = None
    languages: tuple[str, ...] | None = None
    queues: tuple[str, ...] | None = None
    max_chats: int | None = None
    phone: str | None = None  # any spelling; "" removes it
    twilio_client: str | None = None  # "" removes it


@dataclass(frozen=True)
class NewAccount:
    user: UserView
    # Shown once, to whoever created the account; only its hash is stored.
    password: str


def routing_skills(rules: Rules) -> frozenset[str]:
    """The skills the routing rules ask agents for: the ones worth giving."""
    return frozenset(skill for rule in rules.rules for skill in rule.skills)


def new_password() -> str:
    return secrets.token_urlsafe(12)


def _view(user: UserRecord, queue_names: Collection[str]) -> UserView:
    return UserView(
        login=user.login,
        name=user.name,
        role=user.role,
        skills=tuple(s for s in user.skills if s not in queue_names),
        languages=user.languages,
        queues=tuple(s for s in user.skills if s in queue_names),
        active=user.active,
        max_chats=user.max_chats,
        phone=user.phone,
        twilio_client=user.twilio_client,
    )


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))


def _only_known(field: str, values: tuple[str, ...], known: Collection[str]) -> None:
    unknown = [v for v in values if v not in known]
    if unknown:
        raise InvalidInput(
            f"unknown {field}: {', '.join(unknown)}", field=field, unknown=unknown, allowed=sorted(known)
        )


@dataclass(frozen=True)
class _Checked:
    role: str | Keep
    name: str | Keep
    skills: tuple[str, ...] | None
    languages: tuple[str, ...] | Keep
    queues: tuple[str, ...] | None
    max_chats: int | Keep
    phone: str | Keep | None = KEEP
    twilio_client: str | Keep | None = KEEP


TWILIO_CLIENT = re.compile(r"[A-Za-z0-9_.@:+-]{1,128}")


def _endpoints(profile: Profile, region: str) -> tuple[str | Keep | None, str | Keep | None]:
    """The phone in E.164 and the Twilio Client identity, checked; "" clears either."""
    phone: str | Keep | None = KEEP
    if profile.phone is not None:
        phone = normalise_phone(profile.phone, region) if profile.phone.strip() else None
    client: str | Keep | None = KEEP
    if profile.twilio_client is not None:
        client = profile.twilio_client.strip() or None
        if client is not None and not TWILIO_CLIENT.fullmatch(client):
            raise InvalidInput(
                "a Twilio Client identity is 1 to 128 letters, digits or _ . @ : + -", field="twilio_client"
            )
    return phone, client


def _check(
    profile: Profile, known_skills: Collection[str], queue_names: Collection[str], region: str
) -> _Checked:
    if profile.role is not None and profile.role not in ROLES:
        raise InvalidInput(f"unknown role {profile.role!r}", field="role", allowed=list(ROLES))
    if profile.max_chats is not None and not 0 <= profile.max_chats <= MAX_CHATS:
        raise InvalidInput(f"max_chats is 0 to {MAX_CHATS}", field="max_chats")
    if profile.name is not None and len(profile.name) > NAME_LENGTH:
        raise InvalidInput(f"a name is at most {NAME_LENGTH} characters", field="name")
    skills = None if profile.skills is None else _unique(profile.skills)
    if skills is not None:
        _only_known("skills", skills, {*known_skills, *queue_names})
    languages = None if profile.languages is None else _unique(profile.languages)
    if languages is not None:
        _only_known("languages", languages, LANGUAGES)
    queues = None if profile.queues is None else _unique(profile.queues)
    if queues is not None:
        _only_known("queues", queues, queue_names)
    phone, twilio_client = _endpoints(profile, region)
    return _Checked(
        role=KEEP if profile.role is None else profile.role,
        name=KEEP if profile.name is None else profile.name.strip(),
        skills=skills,
        languages=KEEP if languages is None else languages,
        queues=queues,
        max_chats=KEEP if profile.max_chats is None else profile.max_chats,
        phone=phone,
        twilio_client=twilio_client,
    )


async def _phone_is_free(session: AsyncSession, phone: str | Keep | None, login: str) -> None:
    if isinstance(phone, str):
        holder = await repo.get_by_phone(session, phone)
        if holder is not None and holder.login != login:
            raise Conflict(
                f"{holder.login!r} already has this phone", error_id="duplicate-phone", field="phone"
            )


def _held(checked: _Checked, current: UserRecord | None, queue_names: Collection[str]) -> tuple[str, ...]:
    """The skills to store: the given skills and queues, the current ones where not given."""
    held = current.skills if current is not None else ()
    skills = checked.skills if checked.skills is not None else [s for s in held if s not in queue_names]
    queues = checked.queues if checked.queues is not None else [s for s in held if s in queue_names]
    return _unique([*skills, *queues])


async def _queue_names(session: AsyncSession) -> frozenset[str]:
    return frozenset(await queues_repo.queues(session))


@dataclass(frozen=True)
class Choices:
    """What an administrator may give: the roles, the skills the routing rules ask for, the
    console's languages and the queues (a form offers these rather than free text)."""

    roles: tuple[str, ...]
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    queues: tuple[str, ...]


async def choices(session: AsyncSession, *, known_skills: Collection[str]) -> Choices:
    queue_names = await _queue_names(session)
    return Choices(
        roles=ROLES,
        skills=tuple(sorted(set(known_skills) - queue_names)),
        languages=LANGUAGES,
        queues=tuple(sorted(queue_names)),
    )


async def list_users(session: AsyncSession) -> list[UserView]:
    queue_names = await _queue_names(session)
    return [_view(user, queue_names) for user in await repo.all_users(session)]


async def get_user(session: AsyncSession, login: str) -> UserView:
    user = await repo.get_by_login(session, login)
    if user is None:
        raise NotFound(f"no user {login!r}", login=login)
    return _view(user, await _queue_names(session))


async def add_user(
    session: AsyncSession,
    actor: Actor,
    login: str,
    profile: Profile,
    *,
    known_skills: Collection[str],
    region: str,
) -> NewAccount:
    if not LOGIN.fullmatch(login):
        raise InvalidInput(
            "a login is 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="login",
        )
    if profile.role is None:
        raise InvalidInput("a new user needs a role", field="role", allowed=list(ROLES))
    queue_names = await _queue_names(session)
    checked = _check(profile, known_skills, queue_names, region)
    if await repo.get_by_login(session, login) is not None:
        raise Conflict(f"there is already a user {login!r}", error_id="duplicate-login", login=login)
    await _phone_is_free(session, checked.phone, login)
    password = new_password()
    # Off the event loop: hashing takes a slice of a second of CPU by design.
    password_hash = await asyncio.to_thread(hash_password, password)
    user = await repo.insert(
        session,
        login,
        password_hash=password_hash,
        role=profile.role,
        name=checked.name if isinstance(checked.name, str) else "",
        skills=_held(checked, None, queue_names),
        languages=checked.languages if isinstance(checked.languages, tuple) else (),
        max_chats=checked.max_chats if isinstance(checked.max_chats, int) else DEFAULT_MAX_CHATS,
        phone=checked.phone if isinstance(checked.phone, str) else None,
        twilio_client=checked.twilio_client if isinstance(checked.twilio_client, str) else None,
    )
    view = _view(user, queue_names)
    await _audit(session, actor, "user.add", user, _changes(view))
    await session.commit()
    return NewAccount(view, password)


async def update_user(
    session: AsyncSession,
    actor: Actor,
    login: str,
    profile: Profile,
    *,
    known_skills: Collection[str],
    region: str,
) -> UserView:
    queue_names = await _queue_names(session)
    checked = _check(profile, known_skills, queue_names, region)
    current = await repo.get_by_login(session, login)
    if current is None:
        raise NotFound(f"no user {login!r}", login=login)
    await _phone_is_free(session, checked.phone, login)
    skills_given = checked.skills is not None or checked.queues is not None
    user = await repo.update(
        session,
        login,
        role=checked.role,
        name=checked.name,
        skills=_held(checked, current, queue_names) if skills_given else KEEP,
        languages=checked.languages,
        max_chats=checked.max_chats,
        phone=checked.phone,
        twilio_client=checked.twilio_client,
    )
    if user is None:
        raise NotFound(f"no user {login!r}", login=login)
    view = _view(user, queue_names)
    before = _changes(_view(current, queue_names))
    changed = {key: value for key, value in _changes(view).items() if before[key] != value}
    await _audit(session, actor, "user.change", user, changed)
    await session.commit()
    return view


async def reset_password(session: AsyncSession, actor: Actor, login: str) -> str:
    """A new generated password; the old one stops working (open sessions are left alone)."""
    password = new_password()
    password_hash = await asyncio.to_thread(hash_password, password)
    user = await repo.update(session, login, password_hash=password_hash)
    if user is None:
        raise NotFound(f"no user {login!r}", login=login)
    await _audit(session, actor, "user.password", user, {})
    await session.commit()
    return password


def _changes(view: UserView) -> dict[str, object]:
    return {
        "role": view.role,
        "name": view.name,
        "skills": list(view.skills),
        "languages": list(view.languages),
        "queues": list(view.queues),
        "max_chats": view.max_chats,
        "phone": view.phone,
        "twilio_client": view.twilio_client,
    }


async def _audit(
    session: AsyncSession, actor: Actor, action: str, user: UserRecord, details: dict[str, object]
) -> None:
    await repo.audit(
        session,
        actor=actor,
        action=action,
        customer_id=None,
        subject_type="user",
        subject_id=user.id,
        details={"login": user.login, **details},
    )


async def choose_console_language(session: AsyncSession, user_id: int, language: str) -> None:
    """A user's own choice of the console's language, kept for every browser they sign in from."""
    if language not in LANGUAGES:
        raise InvalidInput("unknown language", field="language", allowed=list(LANGUAGES))
    await repo.set_console_language(session, user_id, language)
    await session.commit()
