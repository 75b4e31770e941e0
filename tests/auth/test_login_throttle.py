"""Login throttling (issue 19, item 7): a (username, address) pair is locked after 5 failures, an
address after 20; failures of one username from many addresses only delay its logins (1 s, 2 s,
4 s, ... at most 60 s), so nobody can lock the owner of a known account out; every refusal says
when to come back (Retry-After, RFC 9110 section 10.2.3)."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from songkhoe.app import create_app
from songkhoe.auth import service
from songkhoe.auth.service import InvalidCredentials, LoginThrottled, authenticate, create_user

from ..web.conftest import PASSWORD, csrf_of

WRONG = "not the password"
OWNER, ATTACKER = "198.51.100.4", "203.0.113.7"


class Clock:
    """The time auth.service reads (its `_now`), moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(service, "_now", lambda: clock.now)
    return clock


@pytest.fixture
def lan(store) -> str:
    create_user(
        store.engine,
        username="lan",
        password=PASSWORD,
        role="commune_health_worker",
        place="commune:00004",
        full_name="Lan",
    )
    return "lan"


def attempt(store, username: str, address: str, password: str = WRONG) -> str | int:
    """The outcome: "ok", "wrong", or the seconds a throttled attempt is told to wait."""
    try:
        authenticate(store.engine, username=username, password=password, address=address)
    except InvalidCredentials:
        return "wrong"
    except LoginThrottled as refused:
        return refused.retry_after
    return "ok"


def test_five_failures_lock_the_pair_for_15_minutes(store, clock, lan):
    assert [attempt(store, lan, ATTACKER) for _ in range(5)] == ["wrong"] * 5
    assert attempt(store, lan, ATTACKER, PASSWORD) == 900, "the right password waits too"
    assert attempt(store, "mai", ATTACKER) == "wrong", "other names from that address go on"
    clock.advance(14 * 60 + 59.5)
    assert attempt(store, lan, ATTACKER, PASSWORD) == 1, "rounded up, never 0"
    clock.advance(0.5)
    assert attempt(store, lan, ATTACKER, PASSWORD) == "ok"


def test_the_owner_from_another_address_only_waits_the_delay(store, clock, lan):
    for _ in range(5):
        attempt(store, lan, ATTACKER)
    assert attempt(store, lan, OWNER, PASSWORD) == 1
    clock.advance(1)
    assert attempt(store, lan, OWNER, PASSWORD) == "ok"
    assert attempt(store, lan, ATTACKER, PASSWORD) == 899, "the attacker's pair stays locked"


def test_twenty_failures_from_one_address_lock_the_address(store, clock, lan):
    guesses = [attempt(store, f"guess-{n}", ATTACKER) for n in range(20)]
    assert guesses == ["wrong"] * 20
    assert attempt(store, lan, ATTACKER, PASSWORD) == 900
    assert attempt(store, "guess-20", ATTACKER) == 900
    assert attempt(store, lan, OWNER, PASSWORD) == "ok", "other addresses are not concerned"
    clock.advance(900)
    assert attempt(store, lan, ATTACKER, PASSWORD) == "ok"


def test_failures_from_many_addresses_delay_the_username_doubling_up_to_a_minute(store, clock, lan):
    addresses = (f"10.0.{n // 250}.{n % 250}" for n in range(1000))
    assert [attempt(store, lan, next(addresses)) for _ in range(5)] == ["wrong"] * 5
    for delay in (1, 2, 4, 8, 16, 32, 60, 60, 60):
        address = next(addresses)
        assert attempt(store, lan, address, PASSWORD) == delay
        clock.advance(delay - 0.25)
        assert attempt(store, lan, address) == 1, "refused attempts do not count"
        clock.advance(0.25)
        assert attempt(store, lan, address) == "wrong"
    clock.advance(30.2)
    assert attempt(store, lan, OWNER, PASSWORD) == 30, "29.8 s rounded up"
    clock.advance(29.8)
    assert attempt(store, lan, OWNER, PASSWORD) == "ok"


def test_a_success_clears_the_pairs_failures_not_the_usernames(store, clock, lan):
    assert [attempt(store, lan, OWNER) for _ in range(4)] == ["wrong"] * 4
    assert attempt(store, lan, OWNER, PASSWORD) == "ok"
    assert [attempt(store, lan, OWNER) for _ in range(4)] == ["wrong"] * 4
    assert attempt(store, lan, OWNER, PASSWORD) == "ok", "only 4 failures since the success"

    for n in range(5):
        attempt(store, lan, f"10.9.0.{n}")
    clock.advance(1)
    assert attempt(store, lan, OWNER, PASSWORD) == "ok"
    assert attempt(store, lan, "10.9.1.1") == "wrong"
    assert attempt(store, lan, "10.9.1.2") == 2, "the owner's login did not reset the delay"


def test_failures_older_than_the_window_are_forgotten_and_deleted(store, clock, lan):
    from sqlalchemy import func, select

    from songkhoe.auth.tables import login_failure

    for n in range(30):
        attempt(store, f"guess-{n}", ATTACKER)
    clock.advance(901)
    assert attempt(store, lan, ATTACKER) == "wrong"
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(login_failure)).scalar() == 1


def post_login(client: TestClient, username: str, password: str):
    form = client.get("/login")
    data = {"username": username, "password": password, "csrf": csrf_of(form.text)}
    return client.post("/login", data=data, follow_redirects=False)


def test_the_login_page_answers_429_with_retry_after(store, clock, lan):
    app = create_app(store=store)
    attacker = TestClient(app, client=(ATTACKER, 40000))
    owner = TestClient(app, client=(OWNER, 40001))
    assert [post_login(attacker, lan, WRONG).status_code for _ in range(5)] == [401] * 5

    locked = post_login(attacker, lan, PASSWORD)
    assert (locked.status_code, locked.headers.get("retry-after")) == (429, "900")
    assert "15 phút" in locked.text

    delayed = post_login(owner, lan, PASSWORD)
    assert (delayed.status_code, delayed.headers.get("retry-after")) == (429, "1")
    assert "1 giây" in delayed.text
    clock.advance(1)
    logged_in = post_login(owner, lan, PASSWORD)
    assert (logged_in.status_code, logged_in.headers["location"]) == (303, "/")

    for n in range(15):
        assert post_login(attacker, f"guess-{n}", WRONG).status_code == 401
    address_locked = post_login(attacker, "guess-15", WRONG)
    assert (address_locked.status_code, address_locked.headers.get("retry-after")) == (429, "899")
    english = TestClient(app, client=(ATTACKER, 40002), cookies={"lang": "en"})
    assert "try again in 15 min." in post_login(english, "guess-15", WRONG).text


def test_parallel_guesses_do_not_slip_under_the_limit(store, clock, lan):
    """Several worker processes share the count: parallel attempts are counted one at a time."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    start = Barrier(10)

    def guess(_: int) -> str | int:
        start.wait()
        return attempt(store, lan, ATTACKER)

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(guess, range(10)))
    assert results.count("wrong") == 5 and results.count(900) == 5
