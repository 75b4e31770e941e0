"""principal_for_token: who a bearer token stands for, and when it stands for no one."""

from datetime import timedelta

from sqlalchemy import delete, update

from songkhoe.auth.models import Place
from songkhoe.auth.service import create_client, create_user, issue_token, principal_for_token
from songkhoe.auth.tables import access_token, api_client, app_user


def _user(store) -> str:
    return create_user(
        store.engine,
        username="nurse.lan",
        password="a long enough password",
        role="commune_health_worker",
        place="commune:00004",
        full_name="Lan",
    )


def test_a_user_token_stands_for_the_user_with_the_token_scopes(store):
    user_id = _user(store)
    token = issue_token(
        store.engine, scopes="user/Patient.read", expires_in=timedelta(hours=1), user_id=user_id
    )
    principal = principal_for_token(store.engine, token)
    assert (principal.kind, principal.id, principal.display) == ("user", user_id, "nurse.lan")
    assert principal.place == Place("commune", "00004")
    assert {(s.context, s.resource_type, s.access) for s in principal.scopes} == {
        ("user", "Patient", "read")
    }
    assert principal.can_see_names is False


def test_a_client_token_stands_for_the_client(store):
    create_client(store.engine, client_id="his-bv", scopes="system/*.read", with_secret=False)
    token = issue_token(
        store.engine, scopes="system/*.read", expires_in=timedelta(hours=1), client_id="his-bv"
    )
    principal = principal_for_token(store.engine, token)
    assert (principal.kind, principal.id, principal.role) == ("client", "his-bv", None)
    assert principal.place == Place("national", None)
    assert principal.can_see_names is True


def test_unknown_expired_and_inactive_tokens_stand_for_no_one(store):
    user_id = _user(store)
    create_client(store.engine, client_id="his-bv", scopes="system/*.read", with_secret=False)
    engine = store.engine
    assert principal_for_token(engine, "not-a-token") is None
    expired = issue_token(
        engine, scopes="user/*.read", expires_in=timedelta(seconds=-1), user_id=user_id
    )
    assert principal_for_token(engine, expired) is None

    of_user = issue_token(engine, scopes="user/*.read", expires_in=timedelta(1), user_id=user_id)
    of_client = issue_token(
        engine, scopes="system/*.read", expires_in=timedelta(1), client_id="his-bv"
    )
    with engine.begin() as conn:
        conn.execute(update(app_user).values(active=False))
        conn.execute(update(api_client).values(active=False))
    assert principal_for_token(engine, of_user) is None
    assert principal_for_token(engine, of_client) is None

    with engine.begin() as conn:  # tokens left behind by deleted accounts
        conn.execute(delete(app_user))
        conn.execute(delete(api_client))
    assert principal_for_token(engine, of_user) is None
    assert principal_for_token(engine, of_client) is None
    with engine.connect() as conn:
        assert len(conn.execute(access_token.select()).all()) == 3
