"""`/admin/users`: admins list, add and change people, give a new password and disable an
account, from forms over the same use cases as `/api/v1/users` and `contactdesk user`.

A generated password is shown once, on the page that answers the form; only its hash is
stored. A refused form comes back with its values and a message naming what to fix."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from multidict import MultiDict

from callcenter.api_users import known_skills
from callcenter.console_auth import check_csrf
from callcenter.console_pages import render_page, require_page_user
from callcenter.keys import SESSIONS, SETTINGS
from callcenter.serialize import read_form
from handlers import accounts, users
from handlers.errors import DomainError, NotFound
from handlers.roles import ADMIN
from storage.users import Actor, UserRecord

LISTED = ("skills", "languages", "queues")


async def _admin(request: web.Request) -> UserRecord:
    return await require_page_user(request, ADMIN)


async def _posted(request: web.Request) -> MultiDict[str]:
    form = await read_form(request)
    await check_csrf(request, str(form.get("csrf", "")))
    return form


def _values(form: MultiDict[str]) -> dict[str, object]:
    """What the form held, to show it again: text fields as given, lists as the boxes ticked."""
    values: dict[str, object] = {
        key: str(form.get(key, "")).strip() for key in ("login", "role", "name", "phone", "twilio_client")
    }
    for key in LISTED:
        values[key] = form.getall(key, [])
    return values


# The add form before anything is typed: most people added are agents.
BLANK = _values(MultiDict(role="agent"))


def _of(view: users.UserView) -> dict[str, object]:
    return {
        "login": view.login,
        "role": view.role,
        "name": view.name,
        "skills": list(view.skills),
        "languages": list(view.languages),
        "queues": list(view.queues),
        "phone": view.phone or "",
        "twilio_client": view.twilio_client or "",
    }


def _profile(values: Mapping[str, object]) -> users.Profile:
    def listed(key: str) -> tuple[str, ...]:
        given = values[key]
        return tuple(given) if isinstance(given, list) else ()

    return users.Profile(
        role=str(values["role"]) or None,
        name=str(values["name"]),
        skills=listed("skills"),
        languages=listed("languages"),
        queues=listed("queues"),
        phone=str(values.get("phone", "")),
        twilio_client=str(values.get("twilio_client", "")),
    )


def _problem(error: DomainError) -> dict[str, object]:
    """The refusal as the template words it: its kind, the field, the values not known."""
    return {
        "id": error.error_id,
        "field": error.details.get("field", ""),
        "login": error.details.get("login", ""),
        "unknown": ", ".join(str(v) for v in error.details.get("unknown", ())),
        "message": error.message,
    }


async def _choices(request: web.Request) -> users.Choices:
    async with request.app[SESSIONS]() as session:
        return await users.choices(session, known_skills=known_skills(request))


async def users_page(
    request: web.Request,
    *,
    status: int = 200,
    values: Mapping[str, object] | None = None,
    problem: dict[str, object] | None = None,
    created: users.NewAccount | None = None,
) -> web.Response:
    admin = await _admin(request)
    async with request.app[SESSIONS]() as session:
        people = await users.list_users(session)
    disabled = request.query.get("disabled", "")
    return await render_page(
        request,
        "console/users.html.j2",
        admin,
        status=status,
        people=people,
        choices=await _choices(request),
        values=values or BLANK,
        problem=problem,
        created=created,
        # Said only of an account that is disabled, whatever the address claims.
        disabled=next((p for p in people if p.login == disabled and not p.active), None),
    )


async def add_from_form(request: web.Request) -> web.Response:
    admin = await _admin(request)
    values = _values(await _posted(request))
    try:
        async with request.app[SESSIONS]() as session:
            created = await users.add_user(
                session,
                Actor.of(admin, "console"),
                str(values["login"]),
                _profile(values),
                known_skills=known_skills(request),
                region=request.app[SETTINGS].default_region,
            )
    except DomainError as error:
        status = 409 if error.error_id in ("duplicate-login", "duplicate-phone") else 400
        return await users_page(request, status=status, values=values, problem=_problem(error))
    return await users_page(request, created=created)


async def user_page(
    request: web.Request,
    *,
    status: int = 200,
    values: Mapping[str, object] | None = None,
    problem: dict[str, object] | None = None,
    password: str | None = None,
    confirm: bool = False,
    saved: bool = False,
) -> web.Response:
    admin = await _admin(request)
    try:
        async with request.app[SESSIONS]() as session:
            person = await users.get_user(session, request.match_info["login"])
    except NotFound as error:
        return await users_page(request, status=404, problem=_problem(error))
    return await render_page(
        request,
        "console/user.html.j2",
        admin,
        status=status,
        person=person,
        choices=await _choices(request),
        values=values or _of(person),
        problem=problem,
        password=password,
        confirm=confirm,
        saved=saved or request.query.get("saved") == "1",
    )


async def change_from_form(request: web.Request) -> web.StreamResponse:
    admin = await _admin(request)
    login = request.match_info["login"]
    values = {**_values(await _posted(request)), "login": login}
    try:
        async with request.app[SESSIONS]() as session:
            await users.update_user(
                session,
                Actor.of(admin, "console"),
                login,
                _profile(values),
                known_skills=known_skills(request),
                region=request.app[SETTINGS].default_region,
            )
    except DomainError as error:
        status = 404 if isinstance(error, NotFound) else 409 if error.error_id == "duplicate-phone" else 400
        return await user_page(request, status=status, values=values, problem=_problem(error))
    raise web.HTTPSeeOther(f"/admin/users/{login}?saved=1")


async def password_from_form(request: web.Request) -> web.Response:
    admin = await _admin(request)
    await _posted(request)
    try:
        async with request.app[SESSIONS]() as session:
            password = await users.reset_password(
                session, Actor.of(admin, "console"), request.match_info["login"]
            )
    except NotFound as error:
        return await users_page(request, status=404, problem=_problem(error))
    return await user_page(request, password=password)


async def disable_from_form(request: web.Request) -> web.StreamResponse:
    """Asked first: the form without `confirmed` shows what disabling does and asks again."""
    admin = await _admin(request)
    form = await _posted(request)
    login = request.match_info["login"]
    if form.get("confirmed") != "yes":
        return await user_page(request, confirm=True)
    try:
        async with request.app[SESSIONS]() as session:
            await accounts.disable_user(session, login, Actor.of(admin, "console"))
    except NotFound as error:
        return await users_page(request, status=404, problem=_problem(error))
    raise web.HTTPSeeOther(f"/admin/users?disabled={login}")


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/users", users_page)
    app.router.add_post("/admin/users", add_from_form)
    app.router.add_get("/admin/users/{login}", user_page)
    app.router.add_post("/admin/users/{login}", change_from_form)
    app.router.add_post("/admin/users/{login}/password", password_from_form)
    app.router.add_post("/admin/users/{login}/disable", disable_from_form)
