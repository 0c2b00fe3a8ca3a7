"""Bulk customer import: what an operator sees from `contactdesk import customers`."""

from __future__ import annotations

import gc
import getpass
import io
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.cli_import import Progress
from handlers.customers import NewCustomer, TierLimits, create_customer, identify
from handlers.errors import InvalidInput
from handlers.identities import normalise_phone
from handlers.importing import CsvSource, Rejected, Summary, import_customers, tier_quota
from handlers.importing import source as source_module
from handlers.phone_fast import PhoneReader
from storage import importing as store
from storage.audit import Actor
from storage.importing import ImportRow
from storage.models import AuditEntry, Customer, CustomerIdentity
from tests.test_cli import contactdesk

MESSY = (
    "\ufeff Name ,PHONE , Email ,Tier,Blacklisted,plan\n"
    "张三,013800000003,,VIP,no,gold\n"
    "李四,+86 139 0000 0004,li@example.com,preferred,false,silver\n"
    "bad phone,138000000,,regular,no,\n"
    "王五, 8613800000005 ,,regular,1,\n"
    "nobody,,,regular,no,\n"
    "short row,13800000006\n"
    "赵六,138-0000-0007,,gold,no,\n"
    "钱七,138 0000 0008,,regular,perhaps,\n"
)


def write(tmp_path: Path, content: str, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


# These tests are about reading and matching; the quotas have their own tests below.
NO_QUOTAS = TierLimits(shares={})


async def load(
    session: AsyncSession, path: Path, batch_size: int = 2000, limits: TierLimits = NO_QUOTAS
) -> tuple[Summary, list[Rejected]]:
    rejected: list[Rejected] = []
    with CsvSource(path) as source:
        summary = await import_customers(
            session,
            source,
            actor=Actor(name="test", via="import"),
            region="CN",
            limits=limits,
            force_tiers=False,
            batch_size=batch_size,
            on_batch=lambda _summary, bad: rejected.extend(bad),
        )
    return summary, rejected


async def count(session: AsyncSession) -> tuple[int, int]:
    customers = (await session.execute(select(func.count()).select_from(Customer))).scalar_one()
    identities = (await session.execute(select(func.count()).select_from(CustomerIdentity))).scalar_one()
    return customers, identities


async def test_a_messy_file_loads_the_good_rows_and_names_the_bad_lines(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Three customers, one VIP: a third, over the quota. Quotas are tested below.
    monkeypatch.setenv("CONTACTDESK_VIP_SHARE_LIMIT", "1")
    monkeypatch.setenv("CONTACTDESK_PREFERRED_SHARE_LIMIT", "1")
    path = write(tmp_path, MESSY)
    result = contactdesk("import", "customers", str(path), database_url=database_url, cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    assert "created 3, updated 0, rejected 5" in result.stdout
    bad = {
        int(line.split(":")[0].split()[1]) for line in result.stderr.splitlines() if line.startswith("line ")
    }
    assert bad == {4, 6, 7, 8, 9}
    assert "line 4: phone 138****00: not a valid phone number" in result.stderr
    assert "line 6: no phone and no e-mail" in result.stderr
    assert "line 7: expected 6 columns, found 2" in result.stderr
    assert "line 8: unknown tier 'gold'" in result.stderr
    assert "line 9: blacklisted is 'perhaps'" in result.stderr
    assert "13800000007" not in result.stderr
    assert "138-0000-0007" not in result.stderr
    async with sessions() as session:
        zhang = await identify(session, "phone", "+8613800000003")
        li = await identify(session, "email", "LI@example.com")
        wang = await identify(session, "phone", "013800000005")
        assert zhang is not None
        assert li is not None
        assert wang is not None
        assert (zhang.name, zhang.tier, dict(zhang.attributes)) == ("张三", "vip", {"plan": "gold"})
        assert {i.value for i in li.identities} == {"+8613900000004", "li@example.com"}
        assert wang.blacklisted
        assert wang.blacklist_reason
        assert await count(session) == (3, 4)


def test_a_clean_file_exits_zero_and_a_file_without_identity_columns_exits_two(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    clean = write(tmp_path, "name,phone\nA,13800000011\n", "clean.csv")
    result = contactdesk("import", "customers", str(clean), database_url=url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "created 1, updated 0, rejected 0" in result.stdout

    headless = write(tmp_path, "name,tier\nA,vip\n", "headless.csv")
    result = contactdesk("import", "customers", str(headless), database_url=url, cwd=tmp_path)
    assert result.returncode == 2
    assert "neither a `phone` nor an `email` column" in result.stderr

    result = contactdesk("import", "customers", str(tmp_path / "missing.csv"), database_url=url, cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot read" in result.stderr


async def test_importing_the_same_file_again_updates_and_never_duplicates(
    session: AsyncSession, tmp_path: Path
) -> None:
    first = write(tmp_path, "name,phone,tier\nA,13800000021,regular\nB,13800000022;13900000022,vip\n")
    summary, _ = await load(session, first)
    assert (summary.created, summary.updated, summary.rejected) == (2, 0, 0)

    # Same people, other spellings of their numbers, a new tier and a new name.
    again = write(tmp_path, "name,phone,tier\nA2,+86 138 0000 0021,preferred\nB,8613900000022,vip\n", "b.csv")
    summary, _ = await load(session, again, batch_size=1)
    assert (summary.created, summary.updated, summary.rejected) == (0, 2, 0)
    assert await count(session) == (2, 3)
    a = await identify(session, "phone", "13800000021")
    assert a is not None
    assert (a.name, a.tier) == ("A2", "preferred")


async def test_extra_columns_land_in_attributes_and_merge_on_update(
    session: AsyncSession, tmp_path: Path
) -> None:
    await load(session, write(tmp_path, "phone,Plan, Contract Ends \n13800000031,gold,2026-06\n"))
    await load(session, write(tmp_path, "phone,plan,segment\n13800000031,platinum,b2b\n", "b.csv"))
    customer = await identify(session, "phone", "13800000031")
    assert customer is not None
    assert dict(customer.attributes) == {"plan": "platinum", "contract ends": "2026-06", "segment": "b2b"}


async def test_attribute_cells_are_stored_as_written_quotes_backslashes_and_all(
    session: AsyncSession, tmp_path: Path
) -> None:
    # The attributes' JSON is written from the cells directly, not by json.dumps of a dict.
    content = 'phone,"Note ""A""",备注,empty\n13800000035,"He said ""hi"" \\ a\tb\x01",客户 ✓,\n'
    summary, rejected = await load(session, write(tmp_path, content))
    assert (summary.created, rejected) == (1, [])
    customer = await identify(session, "phone", "13800000035")
    assert customer is not None
    assert dict(customer.attributes) == {'note "a"': 'He said "hi" \\ a\tb\x01', "备注": "客户 ✓"}


async def test_a_line_of_empty_cells_is_not_a_row(session: AsyncSession, tmp_path: Path) -> None:
    summary, rejected = await load(session, write(tmp_path, "name,phone\n , \nA,13800000036\n,\n"))
    assert (summary.created, summary.rejected, rejected) == (1, 0, [])


async def test_two_phones_on_one_row_make_one_customer_with_both(
    session: AsyncSession, tmp_path: Path
) -> None:
    summary, _ = await load(session, write(tmp_path, "name,phone\nTwo,013800000041 ; +86 139-0000-0041\n"))
    assert summary.created == 1
    one = await identify(session, "phone", "13800000041")
    other = await identify(session, "phone", "13900000041")
    assert one is not None
    assert other is not None
    assert one.id == other.id
    assert {i.value for i in one.identities} == {"+8613800000041", "+8613900000041"}


async def test_a_row_joining_two_existing_customers_is_rejected_not_merged(
    session: AsyncSession, tmp_path: Path
) -> None:
    first = await create_customer(session, None, NewCustomer(name="A", phones=("13800000051",)))
    second = await create_customer(session, None, NewCustomer(name="B", email="b@example.com"))
    path = write(tmp_path, "name,phone,email\nBoth,13800000051,b@example.com\nFine,13800000052,\n")
    summary, rejected = await load(session, path)

    assert (summary.created, summary.updated, summary.rejected) == (1, 0, 1)
    [rejection] = rejected
    assert rejection.line == 2
    assert f"belongs to customer {first.id}" in rejection.reason
    assert f"belongs to customer {second.id}" in rejection.reason
    assert "merge them first" in rejection.reason
    assert "13800000051" not in rejection.reason
    a = await identify(session, "phone", "13800000051")
    assert a is not None
    assert a.name == "A"
    assert len(a.identities) == 1


async def test_a_row_with_two_numbers_of_one_customer_and_the_email_of_another_is_rejected(
    session: AsyncSession, tmp_path: Path
) -> None:
    first = await create_customer(session, None, NewCustomer(name="A", phones=("13800000053", "13900000053")))
    second = await create_customer(session, None, NewCustomer(name="B", email="b53@example.com"))
    path = write(tmp_path, "name,phone,email\nAll,13800000053;13900000053,b53@example.com\n")
    summary, rejected = await load(session, path)

    assert (summary.created, summary.updated, summary.rejected) == (0, 0, 1)
    [rejection] = rejected
    assert rejection.reason.count(f"belongs to customer {first.id}") == 2
    assert f"belongs to customer {second.id}" in rejection.reason


async def test_a_number_another_session_takes_during_the_batch_stays_with_its_holder(
    session: AsyncSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = await create_customer(session, None, NewCustomer(name="Holder", phones=("13800000071",)))
    looked_up = store.owners

    async def before_the_other_session(session: AsyncSession, wanted: set[store.Key]) -> dict[store.Key, int]:
        # The owners as they were before another session took +8613800000071.
        owners = await looked_up(session, wanted)
        return {identity: owner for identity, owner in owners.items() if identity[1] != "+8613800000071"}

    monkeypatch.setattr(store, "owners", before_the_other_session)
    path = write(tmp_path, "name,phone\nNew,13800000071;13900000071\nOther,13800000072\n")
    summary, rejected = await load(session, path)

    # Written as a merge instead: the new customer is made without the number taken.
    assert (summary.created, rejected) == (2, [])
    new, taken = [await identify(session, "phone", number) for number in ("13900000071", "13800000071")]
    assert new is not None
    assert taken is not None
    assert {i.value for i in new.identities} == {"+8613900000071"}
    assert (taken.id, taken.name) == (holder.id, "Holder")
    assert await count(session) == (3, 3)


async def test_one_person_twice_in_one_batch_is_one_customer_with_the_last_values(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "name,phone,email,tier\nFirst,13800000061,,regular\nSecond,+86 138 0000 0061,c@example.com,vip\n"
        "Last,,C@example.com,preferred\n",
    )
    summary, rejected = await load(session, path)
    assert rejected == []
    assert (summary.created, summary.updated) == (1, 2)
    customer = await identify(session, "phone", "13800000061")
    assert customer is not None
    assert (customer.name, customer.tier) == ("Last", "preferred")
    assert {i.value for i in customer.identities} == {"+8613800000061", "c@example.com"}
    assert await count(session) == (1, 2)


async def test_a_file_with_a_utf8_error_stops_with_its_position(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,phone\nA,13800000071\nJos\xe9,13800000072\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="not UTF-8"):
        await load(session, path)


async def test_a_large_file_loads_the_same_parsed_in_processes_and_keeps_what_preceded_a_utf8_error(
    session: AsyncSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def large(prefix: str) -> Path:
        rows = [f"P{n},{prefix}{n:04d}" for n in range(1500)]
        rows[10] = "bad phone,12345"
        rows[20] = f"P20 again,+86 {prefix[:3]} {prefix[3:]}{20:04d}"  # row 20's number: one customer
        # Decoded in 8 KB chunks: the first ~350 rows are read before the bad byte is met.
        path = tmp_path / f"{prefix}.csv"
        tail = "Jos\xe9,13800039999\n".encode("latin-1")
        path.write_bytes(("name,phone\n" + "\n".join(rows) + "\n").encode() + tail)
        return path

    async def load_until_the_error(path: Path) -> tuple[int, list[int]]:
        rejected: list[Rejected] = []
        before, _ = await count(session)
        with CsvSource(path) as source, pytest.raises(InvalidInput, match="not UTF-8"):
            await import_customers(
                session,
                source,
                actor=Actor(name="test", via="import"),
                region="CN",
                limits=NO_QUOTAS,
                force_tiers=False,
                batch_size=50,
                on_batch=lambda _summary, bad: rejected.extend(bad),
            )
        after, identities = await count(session)
        assert after == identities
        return after - before, [r.line for r in rejected]

    in_thread = await load_until_the_error(large("1380003"))
    # A file this small is parsed in a thread; the thresholds lowered to nothing send the
    # same shape of file to worker processes, as a file of millions of rows would be on a
    # machine with cores to spare.
    monkeypatch.setattr(source_module, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(source_module, "POOL_MIN_CORES", 0)
    in_processes = await load_until_the_error(large("1380004"))
    assert in_processes == in_thread
    assert in_thread[0] >= 300
    assert in_thread[1] == [12]
    for number, name in (("13800030020", "P20 again"), ("13800040020", "P20 again")):
        customer = await identify(session, "phone", number)
        assert customer is not None
        assert customer.name == name


def people(vip: int, preferred: int, regular: int, *, first: int = 0, spelling: str = "{}") -> str:
    """A file of customers by tier, numbered from `first`; `spelling` writes their phones."""
    tiers = ["vip"] * vip + ["preferred"] * preferred + ["regular"] * regular
    rows = [f"P{first + n},{spelling.format(f'1380001{first + n:04d}')},{t}" for n, t in enumerate(tiers)]
    return "name,phone,tier\n" + "\n".join(rows) + "\n"


async def tiers_and_overrides(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[dict[str, int], list[AuditEntry]]:
    async with sessions() as session:
        rows = await session.execute(select(Customer.tier, func.count()).group_by(Customer.tier))
        counts = {tier: count for tier, count in rows.all()}
        overrides = list(
            (
                await session.execute(select(AuditEntry).where(AuditEntry.action == "import.force_tiers"))
            ).scalars()
        )
    return counts, overrides


async def test_a_file_that_would_make_vip_over_15_percent_is_refused_and_nothing_is_loaded(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = write(tmp_path, people(vip=2, preferred=2, regular=6))
    result = contactdesk("import", "customers", str(path), database_url=database_url, cwd=tmp_path)

    assert result.returncode == 3, result.stderr
    assert "refused, nothing was loaded" in result.stderr
    assert "vip would be 2 of 10 customers (20%), above the 15% limit" in result.stderr
    assert "--force-tiers" in result.stderr
    assert await tiers_and_overrides(sessions) == ({}, [])


async def test_with_force_tiers_the_file_loads_and_the_override_is_in_the_audit_trail(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = write(tmp_path, people(vip=2, preferred=4, regular=4))
    result = contactdesk(
        "import", "customers", str(path), "--force-tiers", database_url=database_url, cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "created 10, updated 0, rejected 0" in result.stdout
    assert "tier quota overridden with --force-tiers" in result.stdout
    counts, [override] = await tiers_and_overrides(sessions)
    assert counts == {"vip": 2, "preferred": 4, "regular": 4}
    assert (override.actor, override.via) == (f"cli:{getpass.getuser()}", "import")
    assert (override.subject_id, override.details["file"]) == ("customers.csv", str(path))
    assert override.details["over"] == [
        {"tier": "vip", "count": 2, "total": 10, "share": 0.2, "limit": 0.15},
        {"tier": "preferred", "count": 4, "total": 10, "share": 0.4, "limit": 0.3},
    ]
    assert override.details["after"] == {"vip": 2, "preferred": 4, "regular": 4}


async def test_a_file_within_the_quotas_loads_as_before(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    # 3 VIP of 20 (15%, at the limit), 6 preferred (30%); the same VIP listed twice counts once.
    content = people(vip=3, preferred=6, regular=11) + "P0 again,+86 138 0001 0000,vip\n"
    result = contactdesk(
        "import", "customers", str(write(tmp_path, content)), database_url=database_url, cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "created 20, updated 1, rejected 0" in result.stdout
    assert "overridden" not in result.stdout
    assert await tiers_and_overrides(sessions) == ({"vip": 3, "preferred": 6, "regular": 11}, [])


async def test_re_importing_a_file_that_changes_no_share_is_accepted(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    first = write(tmp_path, people(vip=3, preferred=1, regular=6), "first.csv")
    forced = contactdesk(
        "import", "customers", str(first), "--force-tiers", database_url=database_url, cwd=tmp_path
    )
    assert forced.returncode == 0, forced.stderr

    # The same people, their numbers spelled otherwise: matched by phone, counted once.
    again = write(tmp_path, people(vip=3, preferred=1, regular=6, spelling="+86 {}"), "again.csv")
    result = contactdesk("import", "customers", str(again), database_url=database_url, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "created 0, updated 10, rejected 0" in result.stdout
    counts, overrides = await tiers_and_overrides(sessions)
    assert counts == {"vip": 3, "preferred": 1, "regular": 6}
    assert len(overrides) == 1  # the first, forced import only

    # One more VIP on top of a base already over the quota is refused.
    more = write(tmp_path, people(vip=1, preferred=0, regular=0, first=10), "more.csv")
    refused = contactdesk("import", "customers", str(more), database_url=database_url, cwd=tmp_path)
    assert refused.returncode == 3
    assert "vip would be 4 of 11 customers (36.4%)" in refused.stderr


@pytest.mark.usefixtures("engine")  # empty tables
async def test_a_customer_reached_through_a_number_an_earlier_row_gave_them_is_counted_once(
    database_url: str, tmp_path: Path
) -> None:
    base = write(tmp_path, "name,phone\n" + "".join(f"R{n},1380002{n:04d}\n" for n in range(10)), "base.csv")
    assert (
        contactdesk("import", "customers", str(base), database_url=database_url, cwd=tmp_path).returncode == 0
    )

    # R0 gains a second number, then is made VIP through it; one new VIP besides.
    content = "name,phone,tier\nR0,13800020000;13900020000,\nR0,13900020000,vip\nNew,13700020000,vip\n"
    result = contactdesk(
        "import", "customers", str(write(tmp_path, content)), database_url=database_url, cwd=tmp_path
    )

    assert result.returncode == 3
    assert "vip would be 2 of 11 customers (18.2%), above the 15% limit" in result.stderr


async def test_a_file_that_cannot_push_a_tier_over_loads_without_the_quota_pass(
    session: AsyncSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load(session, write(tmp_path, people(vip=1, preferred=2, regular=17), "base.csv"))

    async def no_pass(*_args: object) -> None:
        raise AssertionError("the quota pass ran")

    # One VIP made regular, one new VIP, one new preferred: whoever the rows turned out to
    # be, at most 2 VIP (10%) and 3 preferred (15%) of at least 20 customers.
    monkeypatch.setattr(tier_quota, "shares_after", no_pass)
    more = "name,phone,tier\nP0,13800010000,regular\nP20,13800010020,vip\nP21,13800010021,preferred\n"
    summary, _ = await load(session, write(tmp_path, more, "more.csv"), limits=TierLimits())

    assert (summary.created, summary.updated) == (2, 1)
    tiers = await session.execute(select(Customer.tier, func.count()).group_by(Customer.tier))
    assert dict(tiers.all()) == {"vip": 1, "preferred": 3, "regular": 18}


TIER_NAMES = ("vip", "preferred", "regular")


@settings(max_examples=300, deadline=None)
@given(
    stored=st.lists(st.sampled_from(TIER_NAMES), max_size=30),
    rows=st.lists(
        st.tuples(
            st.lists(st.integers(-8, 30), min_size=1, max_size=2), st.sampled_from((*TIER_NAMES, None))
        ),
        max_size=30,
    ),
    vip=st.floats(0, 1),
    preferred=st.floats(0, 1),
)
def test_a_file_the_tier_count_lets_through_is_never_over_a_quota(
    stored: list[str], rows: list[tuple[list[int], str | None]], vip: float, preferred: float
) -> None:
    """The count of the tier column skips the quota pass only when the pass, whoever the
    rows turn out to be, would not refuse the file. Identity n >= 0 is held by customer
    n + 1 when there is one, any other is new; rows may repeat or join customers."""
    limits = TierLimits(shares={"vip": vip, "preferred": preferred})
    owners = {("phone", str(n)): n + 1 for n in range(len(stored))}
    tally = tier_quota._Tally()
    for line, (numbers, tier) in enumerate(rows):
        identities = tuple(dict.fromkeys(("phone", str(n)) for n in numbers))
        row = ImportRow(line, None, tier, None, None, None, identities=identities)
        tally.row(row, owners, {n + 1: t for n, t in enumerate(stored)})
    before = Counter(stored)
    named = Counter(tier or "regular" for _numbers, tier in rows)

    over = tier_quota.Shares(before=before, after=tally.after(before)).over(limits)

    assert not over or tier_quota.could_go_over(before, named, limits)


def test_without_a_terminal_progress_is_plain_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "phone\n" + "13800000081\n" * 10)
    out, err = io.StringIO(), io.StringIO()
    with CsvSource(path) as source:
        progress = Progress(source, out, err, every=4)
        list(source.rows())
        for rows in (2, 4, 6, 9):
            progress.batch(Summary(created=rows), [Rejected(rows, "why")] if rows == 9 else [])
        progress.close()
    assert out.getvalue().splitlines() == ["4 rows read (100% of the file)", "9 rows read (100% of the file)"]
    assert err.getvalue() == "line 9: why\n"


@settings(max_examples=300, deadline=None)
@given(
    nsn=st.from_regex(r"1[3-9][0-9]{9}|[2-9][0-9]{6,10}", fullmatch=True),
    shape=st.sampled_from(
        ["{n}", "0{n}", "+86{n}", "0086{n}", "86{n}", "+86 {a} {b}", "{a}-{b}", "({a}) {b}", " {n} ", "{w}"]
    ),
    region=st.sampled_from(["CN", "US", "DE", "GB"]),
)
def test_the_fast_phone_path_agrees_with_phonenumbers(nsn: str, shape: str, region: str) -> None:
    # {w}: full-width digits, digits to phonenumbers but not to the fast path's bare-digits test
    raw = shape.format(
        n=nsn, a=nsn[:3], b=nsn[3:], w=nsn.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    )
    try:
        expected: str | None = normalise_phone(raw, region)
    except InvalidInput:
        expected = None
    try:
        got: str | None = PhoneReader(region).read(raw)
    except InvalidInput:
        got = None
    assert got == expected


async def test_the_collector_is_called_less_often_during_an_import_and_as_before_after(
    session: AsyncSession, tmp_path: Path
) -> None:
    before = gc.get_threshold()
    during: list[tuple[int, ...]] = []
    with CsvSource(write(tmp_path, "phone\n13800000091\n")) as source:
        await import_customers(
            session,
            source,
            actor=Actor(name="test", via="import"),
            region="CN",
            limits=NO_QUOTAS,
            force_tiers=False,
            on_batch=lambda _summary, _rejected: during.append(gc.get_threshold()),
        )
    assert during[0][0] >= 10_000
    assert during[0][1:] == before[1:]
    assert gc.get_threshold() == before
