"""practice.services.accounts, called directly: sign-up, sign-in, passwords, invitations, team.

Real database, real SMTP server (jobs run inline when the transaction commits); nothing of
ours is mocked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from datetime import timedelta

import argon2
import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from practice import security
from practice.extensions import db
from practice.models import (
    AuditEvent,
    JobRun,
    PasswordReset,
    Practice,
    TherapistInvitation,
    User,
    UserSession,
)
from practice.models.base import utcnow
from practice.models.practice import DEFAULT_SECRETS_POLICY_TEXT
from practice.security import hash_token, verify_password
from practice.services import DomainError, NotFound, accounts
from practice.tenancy import practice_context, unscoped
from tests.factories import PASSWORD, OwnerFactory, UserFactory
from tests.services.conftest import token_from

NEW_PASSWORD = "a brand new passphrase"
RESET_PREFIX = "/password/reset/"
INVITE_PREFIX = "/invitation/"


# --- helpers --------------------------------------------------------------------------------


def commit() -> None:
    db.session.commit()


def fresh(model, object_id: int):
    """The row as the database holds it now (other sessions, e.g. inline jobs, wrote to it)."""
    db.session.expire_all()
    with unscoped():
        return db.session.scalar(select(model).where(model.id == object_id))


def count(model, *criteria) -> int:
    with unscoped():
        return db.session.scalar(select(func.count()).select_from(model).where(*criteria))


def audit_events(action: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    with unscoped():
        return list(db.session.scalars(query))


def sign_up(**overrides) -> User:
    values = {
        "practice_name": "Harbour Couples Therapy",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "password": PASSWORD,
        "time_zone": "Europe/London",
    }
    values.update(overrides)
    return accounts.sign_up(**values)


def make_owner(**kwargs) -> tuple[int, int]:
    """A committed owner; returns (user id, practice id)."""
    owner = OwnerFactory(**kwargs)
    ids = owner.id, owner.practice_id
    commit()
    return ids


def make_therapist(practice_id: int, **kwargs) -> int:
    with unscoped():
        practice = db.session.get(Practice, practice_id)
    therapist = UserFactory(practice=practice, **kwargs)
    therapist_id = therapist.id
    commit()
    return therapist_id


def request_reset_token(inbox, email: str) -> str:
    """Ask for a reset link the way the view does, and return the emailed token."""
    before = len(inbox.messages)
    accounts.request_password_reset(email)
    commit()
    assert len(inbox.messages) == before + 1
    message = inbox.messages[-1]
    assert message["To"] == email
    (link,) = [w for w in message.get_content().split() if w.startswith("http")]
    return token_from(link, RESET_PREFIX)


def invite(inbox, owner_id: int, practice_id: int, email: str, name: str = "Bob Builder"):
    """Invite as the owner; return (invitation id, emailed token)."""
    before = len(inbox.messages)
    with practice_context(practice_id):
        owner = db.session.get(User, owner_id)
        invitation = accounts.invite_therapist(owner, email=email, name=name)
        invitation_id = invitation.id
        commit()
    assert len(inbox.messages) == before + 1
    return invitation_id, last_invitation_token(inbox)


def last_invitation_token(inbox) -> str:
    (link,) = [w for w in inbox.messages[-1].get_content().split() if w.startswith("http")]
    return token_from(link, INVITE_PREFIX)


def can_sign_in(email: str, password: str) -> bool:
    try:
        accounts.authenticate(email, password)
    except DomainError:
        db.session.rollback()
        return False
    db.session.rollback()
    return True


# --- sign-up --------------------------------------------------------------------------------


def test_sign_up_creates_the_practice_its_owner_and_an_audit_row(app):
    owner = sign_up(practice_name="  Harbour Couples Therapy ", email="  Ada@Example.COM ")
    commit()
    owner_id, practice_id = owner.id, owner.practice_id

    with unscoped():
        (practice,) = db.session.scalars(select(Practice)).all()
        (user,) = db.session.scalars(select(User)).all()
    assert practice.id == practice_id
    assert practice.name == "Harbour Couples Therapy"
    assert practice.slug == "harbour-couples-therapy"
    assert practice.time_zone == "Europe/London"
    assert practice.secrets_policy == "limited_secrets"
    assert practice.secrets_policy_text == DEFAULT_SECRETS_POLICY_TEXT["limited_secrets"]
    assert user.id == owner_id
    assert user.email == "ada@example.com"
    assert user.role == "owner"
    assert user.active is True
    assert user.session_version == 1
    assert user.password_hash != PASSWORD
    assert verify_password(user.password_hash, PASSWORD)

    (event_,) = audit_events()
    assert (event_.action, event_.actor_user_id, event_.practice_id) == (
        "practice.created",
        owner_id,
        practice_id,
    )
    assert (event_.target_type, event_.target_id) == ("Practice", practice_id)


def test_sign_up_gives_each_practice_a_unique_slug(app):
    first = sign_up(email="a@example.com")
    second = sign_up(email="b@example.com")
    third = sign_up(email="c@example.com", practice_name="心")  # nothing ASCII to slug
    commit()
    with unscoped():
        slugs = [fresh(Practice, user.practice_id).slug for user in (first, second, third)]
    assert slugs == ["harbour-couples-therapy", "harbour-couples-therapy-2", "practice"]


@pytest.mark.parametrize("typed", ["ada@example.com", "ADA@example.com", "  Ada@Example.Com  "])
def test_sign_up_refuses_an_email_already_in_use_whatever_its_case(app, typed):
    make_owner(email="ada@example.com")
    with pytest.raises(DomainError) as caught:
        sign_up(email=typed, practice_name="Another practice")
    db.session.rollback()
    assert caught.value.field == "email"
    assert "already exists" in caught.value.message
    assert count(Practice) == 1
    assert count(User) == 1


def test_sign_up_refuses_an_email_a_therapist_of_another_practice_uses(app):
    _, practice_id = make_owner()
    make_therapist(practice_id, email="bob@example.com")
    with pytest.raises(DomainError) as caught:
        sign_up(email="Bob@Example.com")
    assert caught.value.field == "email"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "europe/london", "../../etc/passwd"])
def test_sign_up_refuses_an_unknown_time_zone(app, zone):
    with pytest.raises(DomainError) as caught:
        sign_up(time_zone=zone)
    db.session.rollback()
    assert caught.value.field == "time_zone"
    assert "time zone" in caught.value.message
    assert count(Practice) == 0


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("", "at least 10"),
        ("nine char", "at least 10"),
        ("x" * 257, "at most 256"),
        ("ada@example.com", "cannot be your email"),
        (" ADA@Example.com ", "cannot be your email"),
    ],
)
def test_sign_up_refuses_a_weak_password(app, password, words):
    with pytest.raises(DomainError) as caught:
        sign_up(email="ada@example.com", password=password)
    db.session.rollback()
    assert caught.value.field == "password"
    assert words in caught.value.message
    assert count(User) == 0


@pytest.mark.parametrize("password", ["ten chars!", "y" * 256])
def test_sign_up_accepts_passwords_at_the_length_limits(app, password):
    owner = sign_up(password=password)
    commit()
    assert verify_password(fresh(User, owner.id).password_hash, password)


# --- sign-in --------------------------------------------------------------------------------


def test_authenticate_with_the_right_password_signs_in_and_records_it(app):
    user_id, practice_id = make_owner(email="ada@example.com")
    before = utcnow()
    user = accounts.authenticate("  ADA@example.com ", PASSWORD)
    commit()
    after = utcnow()

    assert user.id == user_id
    last_login = fresh(User, user_id).last_login_at
    assert last_login is not None and before <= last_login <= after
    (event_,) = audit_events("auth.login")
    assert (event_.actor_user_id, event_.target_id, event_.practice_id) == (
        user_id,
        user_id,
        practice_id,
    )


def test_a_wrong_password_is_refused_and_the_attempt_audited(app):
    user_id, practice_id = make_owner(email="ada@example.com")
    with pytest.raises(accounts.InvalidCredentials):
        accounts.authenticate("ada@example.com", "not the password")
    commit()  # the view commits to keep the audit row

    assert fresh(User, user_id).last_login_at is None
    (event_,) = audit_events("auth.login_failed")
    assert event_.actor_user_id is None
    assert event_.actor_label == "anonymous"
    assert (event_.target_type, event_.target_id, event_.practice_id) == (
        "User",
        user_id,
        practice_id,
    )
    assert audit_events("auth.login") == []


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(app):
    make_owner(email="ada@example.com")
    with pytest.raises(accounts.InvalidCredentials) as wrong_password:
        accounts.authenticate("ada@example.com", "not the password")
    db.session.rollback()
    with pytest.raises(accounts.InvalidCredentials) as unknown_email:
        accounts.authenticate("nobody@example.com", PASSWORD)
    commit()

    assert unknown_email.value.message == wrong_password.value.message
    assert unknown_email.value.field == wrong_password.value.field is None
    assert audit_events() == []  # no account, no practice to record it in


def test_a_deactivated_account_is_refused_even_with_the_right_password(app):
    _, practice_id = make_owner()
    therapist_id = make_therapist(practice_id, email="bob@example.com", active=False)

    with pytest.raises(DomainError) as caught:
        accounts.authenticate("bob@example.com", PASSWORD)
    commit()
    assert not isinstance(caught.value, accounts.InvalidCredentials)
    assert "deactivated" in caught.value.message
    assert fresh(User, therapist_id).last_login_at is None
    assert [e.target_id for e in audit_events("auth.login_refused_inactive")] == [therapist_id]
    assert audit_events("auth.login") == []

    # Without the right password, nothing about the account's state is given away.
    with pytest.raises(accounts.InvalidCredentials):
        accounts.authenticate("bob@example.com", "not the password")


@pytest.fixture
def raise_hash_costs(app):
    """Raise the app's argon2 costs a step above the testing profile; put back afterwards."""
    saved = app.config["PASSWORD_HASH_PARAMETERS"]

    def raise_them():
        raised = dataclasses.replace(saved, time_cost=saved.time_cost + 1, memory_cost=64)
        app.config["PASSWORD_HASH_PARAMETERS"] = raised
        security.init_app(app)
        return raised

    yield raise_them
    app.config["PASSWORD_HASH_PARAMETERS"] = saved
    security.init_app(app)


def test_signing_in_rehashes_a_password_stored_with_lower_costs(app, raise_hash_costs):
    user_id, _ = make_owner(email="ada@example.com")
    old_hash = fresh(User, user_id).password_hash
    raised = raise_hash_costs()
    assert argon2.extract_parameters(old_hash) != raised
    assert security.password_needs_rehash(old_hash)

    accounts.authenticate("ada@example.com", PASSWORD)
    commit()

    new_hash = fresh(User, user_id).password_hash
    assert new_hash != old_hash
    assert argon2.extract_parameters(new_hash) == raised
    assert not security.password_needs_rehash(new_hash)
    assert verify_password(new_hash, PASSWORD)


def test_a_wrong_password_leaves_a_hash_with_lower_costs_alone(app, raise_hash_costs):
    user_id, _ = make_owner(email="ada@example.com")
    old_hash = fresh(User, user_id).password_hash
    raise_hash_costs()
    with pytest.raises(accounts.InvalidCredentials):
        accounts.authenticate("ada@example.com", "not the password")
    commit()
    assert fresh(User, user_id).password_hash == old_hash


# --- passwords ------------------------------------------------------------------------------


def test_change_password_sets_the_new_one_and_ends_other_sessions(app):
    user_id, practice_id = make_owner(email="ada@example.com")
    with practice_context(practice_id):
        user = db.session.get(User, user_id)
        accounts.change_password(user, PASSWORD, NEW_PASSWORD)
        commit()

    user = fresh(User, user_id)
    assert user.session_version == 2
    assert can_sign_in("ada@example.com", NEW_PASSWORD)
    assert not can_sign_in("ada@example.com", PASSWORD)
    assert [e.target_id for e in audit_events("auth.password_changed")] == [user_id]


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        ("not the password", NEW_PASSWORD, "current_password"),
        (PASSWORD, "too short", "new_password"),
        (PASSWORD, "ADA@example.com", "new_password"),
    ],
)
def test_change_password_refusals_name_the_field(app, current, new, field):
    user_id, practice_id = make_owner(email="ada@example.com")
    with practice_context(practice_id):
        user = db.session.get(User, user_id)
        with pytest.raises(DomainError) as caught:
            accounts.change_password(user, current, new)
        db.session.rollback()
    assert caught.value.field == field
    assert fresh(User, user_id).session_version == 1
    assert can_sign_in("ada@example.com", PASSWORD)


def test_sign_out_everywhere_bumps_the_session_version(app):
    user_id, practice_id = make_owner()
    with practice_context(practice_id):
        accounts.sign_out_everywhere(db.session.get(User, user_id))
        commit()
    assert fresh(User, user_id).session_version == 2


# --- sessions: one record per signed-in device ----------------------------------------------


def start_sessions(user_id: int, practice_id: int, *devices: str) -> list[int]:
    """Sign a user in on each device (the records a sign-in makes); return their ids."""
    with practice_context(practice_id):
        user = db.session.get(User, user_id)
        ids = [accounts.start_user_session(user, device=device).id for device in devices]
        commit()
    return ids


def live(session_ids: list[int]) -> list[int]:
    db.session.expire_all()
    with unscoped():
        return list(
            db.session.scalars(
                select(UserSession.id)
                .where(UserSession.id.in_(session_ids), UserSession.ended_at.is_(None))
                .order_by(UserSession.id)
            )
        )


def test_signing_out_ends_only_this_devices_session(app):
    user_id, practice_id = make_owner()
    laptop, phone = start_sessions(user_id, practice_id, "Computer · Firefox", "Phone · Safari")

    with practice_context(practice_id):
        user = db.session.get(User, user_id)
        user.current_session = db.session.get(UserSession, laptop)
        accounts.sign_out(user)
        commit()

    assert live([laptop, phone]) == [phone]
    ended = fresh(UserSession, laptop)
    assert (ended.end_reason, ended.ended_at is not None) == ("signed out", True)
    assert fresh(User, user_id).session_version == 1  # the other devices are not touched
    assert [e.target_id for e in audit_events("auth.logout")] == [user_id]


def test_a_device_is_signed_out_only_by_its_own_therapist(app):
    user_id, practice_id = make_owner()
    other_id = make_therapist(practice_id)
    (phone,) = start_sessions(user_id, practice_id, "Phone · Safari")

    with practice_context(practice_id):
        with pytest.raises(NotFound):
            accounts.sign_out_device(db.session.get(User, other_id), phone)
        db.session.rollback()
    assert live([phone]) == [phone]

    with practice_context(practice_id):
        accounts.sign_out_device(db.session.get(User, user_id), phone)
        commit()
    assert live([phone]) == []
    assert fresh(UserSession, phone).end_reason == "signed out from another device"
    assert [e.target_id for e in audit_events("auth.session_ended")] == [user_id]


def test_a_session_records_activity_at_most_every_few_minutes(app):
    user_id, practice_id = make_owner()
    (laptop,) = start_sessions(user_id, practice_id, "Computer · Firefox")
    first_seen = fresh(UserSession, laptop).last_seen_at

    with practice_context(practice_id):
        assert accounts.touch_user_session(db.session.get(UserSession, laptop)) is False
        commit()
    assert fresh(UserSession, laptop).last_seen_at == first_seen

    earlier = utcnow() - accounts.SESSION_TOUCH_INTERVAL - timedelta(seconds=1)
    with unscoped():
        db.session.execute(update(UserSession).values(last_seen_at=earlier))
    commit()
    with practice_context(practice_id):
        assert accounts.touch_user_session(db.session.get(UserSession, laptop)) is True
        commit()
    assert fresh(UserSession, laptop).last_seen_at > earlier


def test_the_list_of_signed_in_devices_leaves_out_ended_and_timed_out_ones(app):
    user_id, practice_id = make_owner()
    other_id = make_therapist(practice_id)
    live_one, ended, idle, too_old = start_sessions(
        user_id, practice_id, "Phone · Safari", "Tablet", "Computer · Edge", "Computer"
    )
    start_sessions(other_id, practice_id, "Computer · Chrome")
    now = utcnow()
    with unscoped():
        db.session.execute(update(UserSession).where(UserSession.id == ended).values(ended_at=now))
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == idle)
            .values(last_seen_at=now - timedelta(minutes=66))
        )
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == too_old)
            .values(created_at=now - timedelta(hours=13))
        )
    commit()

    with practice_context(practice_id):
        listed = accounts.live_user_sessions(
            db.session.get(User, user_id), idle=timedelta(hours=1), absolute=timedelta(hours=12)
        )
        assert [s.id for s in listed] == [live_one]


@pytest.mark.parametrize("how", ["everywhere", "password", "deactivated"])
def test_signing_out_everywhere_changing_the_password_or_deactivation_end_every_session(app, how):
    owner_id, practice_id = make_owner(email="ada@example.com")
    therapist_id = make_therapist(practice_id, email="bob@example.com")
    user_id = therapist_id
    mine = start_sessions(user_id, practice_id, "Computer · Firefox", "Phone · Safari")
    (owners,) = start_sessions(owner_id, practice_id, "Computer · Chrome")

    with practice_context(practice_id):
        user = db.session.get(User, user_id)
        if how == "everywhere":
            accounts.sign_out_everywhere(user)
        elif how == "password":
            accounts.change_password(user, PASSWORD, NEW_PASSWORD)
        else:
            accounts.set_user_active(db.session.get(User, owner_id), user, False)
        commit()

    assert live([*mine, owners]) == [owners]
    assert fresh(User, user_id).session_version == 2


def test_a_password_reset_ends_every_session(app, inbox):
    user_id, practice_id = make_owner(email="ada@example.com")
    sessions = start_sessions(user_id, practice_id, "Phone · Safari")
    token = request_reset_token(inbox, "ada@example.com")

    accounts.reset_password(token, NEW_PASSWORD)  # no practice set: the link decides
    commit()

    assert live(sessions) == []


def test_a_reset_request_for_a_known_email_sends_one_link(app, inbox):
    user_id, _ = make_owner(email="ada@example.com")
    returned = accounts.request_password_reset("  Ada@Example.com ")
    commit()

    assert returned is None
    (message,) = inbox.messages
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Reset your practice password"
    (link,) = [w for w in message.get_content().split() if w.startswith("http")]
    token = token_from(link, RESET_PREFIX)
    assert accounts.find_password_reset(token).user_id == user_id
    assert [e.target_id for e in audit_events("auth.password_reset_requested")] == [user_id]


@pytest.mark.parametrize("email", ["nobody@example.com", "inactive@example.com"])
def test_a_reset_request_for_an_unknown_or_inactive_email_sends_nothing(app, inbox, email):
    _, practice_id = make_owner(email="ada@example.com")
    make_therapist(practice_id, email="inactive@example.com", active=False)

    returned = accounts.request_password_reset(email)
    commit()

    assert returned is None  # the same return as for a known address
    assert inbox.messages == []
    assert count(PasswordReset) == 0
    assert count(JobRun) == 0
    assert audit_events("auth.password_reset_requested") == []


def test_only_digests_of_emailed_tokens_are_stored_anywhere(app, inbox, database_values):
    owner_id, practice_id = make_owner(email="ada@example.com")
    reset_token = request_reset_token(inbox, "ada@example.com")
    _, invitation_token = invite(inbox, owner_id, practice_id, "bob@example.com")

    values = database_values()
    for token in (reset_token, invitation_token):
        assert len(token) >= 43  # secrets.token_urlsafe(32)
        leaks = [(t, c) for t, c, v in values if v is not None and token in str(v)]
        assert leaks == [], f"the plaintext token is stored in {leaks}"
    digests = {(t, c, v) for t, c, v in values if c == "token_hash"}
    assert ("password_resets", "token_hash", hash_token(reset_token)) in digests
    assert ("therapist_invitations", "token_hash", hash_token(invitation_token)) in digests


def test_a_reset_link_works_once(app, inbox):
    user_id, _ = make_owner(email="ada@example.com")
    token = request_reset_token(inbox, "ada@example.com")

    user = accounts.reset_password(token, NEW_PASSWORD)
    commit()
    assert user.id == user_id

    with pytest.raises(NotFound):
        accounts.find_password_reset(token)
    with pytest.raises(NotFound):
        accounts.reset_password(token, "yet another passphrase")
    db.session.rollback()
    assert can_sign_in("ada@example.com", NEW_PASSWORD)
    assert not can_sign_in("ada@example.com", "yet another passphrase")


def test_a_reset_link_expires_after_one_hour(app, inbox):
    make_owner(email="ada@example.com")
    token = request_reset_token(inbox, "ada@example.com")
    with unscoped():
        reset = db.session.scalar(select(PasswordReset))
    assert timedelta(minutes=59) < reset.expires_at - reset.created_at <= timedelta(hours=1)

    with unscoped():
        db.session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    commit()

    with pytest.raises(NotFound):
        accounts.find_password_reset(token)
    with pytest.raises(NotFound):
        accounts.reset_password(token, NEW_PASSWORD)
    db.session.rollback()
    assert can_sign_in("ada@example.com", PASSWORD)


def test_a_newer_reset_request_voids_the_older_link(app, inbox):
    make_owner(email="ada@example.com")
    older = request_reset_token(inbox, "ada@example.com")
    newer = request_reset_token(inbox, "ada@example.com")
    assert older != newer

    with pytest.raises(NotFound):
        accounts.reset_password(older, NEW_PASSWORD)
    db.session.rollback()
    accounts.reset_password(newer, NEW_PASSWORD)
    commit()
    assert can_sign_in("ada@example.com", NEW_PASSWORD)


def test_a_reset_sets_the_password_ends_every_session_and_is_audited(app, inbox):
    user_id, _ = make_owner(email="ada@example.com")
    token = request_reset_token(inbox, "ada@example.com")

    accounts.reset_password(token, NEW_PASSWORD)
    commit()

    assert fresh(User, user_id).session_version == 2
    assert can_sign_in("ada@example.com", NEW_PASSWORD)
    assert not can_sign_in("ada@example.com", PASSWORD)
    (event_,) = audit_events("auth.password_reset")
    assert (event_.actor_label, event_.target_id) == ("anonymous", user_id)


def test_a_refused_new_password_leaves_the_reset_link_usable(app, inbox):
    make_owner(email="ada@example.com")
    token = request_reset_token(inbox, "ada@example.com")

    for bad, words in [("short", "at least 10"), ("ADA@example.com", "cannot be your email")]:
        with pytest.raises(DomainError) as caught:
            accounts.reset_password(token, bad)
        db.session.rollback()
        assert not isinstance(caught.value, NotFound)
        assert caught.value.field == "password"
        assert words in caught.value.message

    accounts.reset_password(token, NEW_PASSWORD)
    commit()
    assert can_sign_in("ada@example.com", NEW_PASSWORD)


def test_a_reset_link_stops_working_when_the_account_is_deactivated(app, inbox):
    _, practice_id = make_owner()
    therapist_id = make_therapist(practice_id, email="bob@example.com")
    token = request_reset_token(inbox, "bob@example.com")
    with unscoped():
        db.session.execute(update(User).where(User.id == therapist_id).values(active=False))
    commit()
    with pytest.raises(NotFound):
        accounts.reset_password(token, NEW_PASSWORD)


def test_two_redemptions_of_one_reset_token_at_once_succeed_only_once(app, inbox):
    user_id, _ = make_owner(email="ada@example.com")
    token = request_reset_token(inbox, "ada@example.com")
    db.session.remove()  # the main thread holds no connection while the threads race

    passwords = ["first new passphrase", "second new passphrase"]
    start = threading.Barrier(2, timeout=10)
    # Both threads have found the (still unused) reset before either tries to claim it, so
    # the claim itself, not the earlier lookup, is what must stop the second one.
    claim = threading.Barrier(2, timeout=10)
    racers: set[int] = set()
    reached_claim: list[int] = []
    outcomes: dict[int, str] = {}

    def before_claim(state) -> None:
        if (
            threading.get_ident() in racers
            and state.is_update
            and state.bind_mapper is not None
            and state.bind_mapper.class_ is PasswordReset
        ):
            reached_claim.append(threading.get_ident())
            with contextlib.suppress(threading.BrokenBarrierError):
                claim.wait()  # if the other thread never gets here, reached_claim says so below

    def redeem(index: int) -> None:
        racers.add(threading.get_ident())
        with app.app_context():
            try:
                start.wait()
                accounts.reset_password(token, passwords[index])
                db.session.commit()
                outcomes[index] = "changed"
            except NotFound:
                db.session.rollback()
                outcomes[index] = "refused"
            except Exception as error:  # reported below, never swallowed
                db.session.rollback()
                outcomes[index] = f"error: {type(error).__name__}: {error}"
            finally:
                db.session.remove()

    event.listen(Session, "do_orm_execute", before_claim)
    try:
        threads = [threading.Thread(target=redeem, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(Session, "do_orm_execute", before_claim)

    assert sorted(outcomes.values()) == ["changed", "refused"], outcomes
    assert len(set(reached_claim)) == 2, "both threads must have got as far as the claim"
    (winner,) = [i for i, outcome in outcomes.items() if outcome == "changed"]
    assert fresh(User, user_id).session_version == 2  # bumped once, not twice
    assert can_sign_in("ada@example.com", passwords[winner])
    assert not can_sign_in("ada@example.com", passwords[1 - winner])
    assert len(audit_events("auth.password_reset")) == 1


# --- invitations ----------------------------------------------------------------------------


def test_an_invitation_emails_a_link_to_join_the_practice(app, inbox):
    owner_id, practice_id = make_owner(name="Ada Owner")
    with practice_context(practice_id):
        practice_name = db.session.get(Practice, practice_id).name
    invitation_id, token = invite(inbox, owner_id, practice_id, "  Bob@Example.com ", " Bob ")

    (message,) = inbox.messages
    assert message["To"] == "bob@example.com"
    assert message["Subject"] == f"Join {practice_name} on practice"
    assert "Ada Owner" in message.get_content()
    found = accounts.find_invitation(token)
    assert (found.id, found.email, found.name) == (invitation_id, "bob@example.com", "Bob")
    assert [e.target_id for e in audit_events("therapist.invited")] == [invitation_id]


def test_only_the_owner_can_invite(app, inbox):
    _, practice_id = make_owner()
    therapist_id = make_therapist(practice_id)
    with practice_context(practice_id):
        therapist = db.session.get(User, therapist_id)
        with pytest.raises(NotFound):
            accounts.invite_therapist(therapist, email="bob@example.com", name="Bob")
        db.session.rollback()
    assert count(TherapistInvitation) == 0
    assert inbox.messages == []


def test_an_address_with_an_account_cannot_be_invited(app, inbox):
    owner_id, practice_id = make_owner()
    make_owner(email="taken@example.com")  # in another practice: still taken
    with practice_context(practice_id):
        owner = db.session.get(User, owner_id)
        with pytest.raises(DomainError) as caught:
            accounts.invite_therapist(owner, email="TAKEN@example.com", name="Taken")
        db.session.rollback()
    assert caught.value.field == "email"
    assert inbox.messages == []


def test_inviting_the_same_address_again_resends_the_same_invitation(app, inbox):
    owner_id, practice_id = make_owner()
    first_id, first_token = invite(inbox, owner_id, practice_id, "bob@example.com", "Bob")
    second_id, second_token = invite(inbox, owner_id, practice_id, "BOB@example.com", "Robert")

    assert second_id == first_id
    assert count(TherapistInvitation) == 1
    with pytest.raises(NotFound):
        accounts.find_invitation(first_token)
    assert accounts.find_invitation(second_token).name == "Robert"


def test_resending_an_invitation_voids_the_old_link(app, inbox):
    owner_id, practice_id = make_owner()
    invitation_id, old_token = invite(inbox, owner_id, practice_id, "bob@example.com")

    with practice_context(practice_id):
        owner = db.session.get(User, owner_id)
        accounts.resend_invitation(owner, db.session.get(TherapistInvitation, invitation_id))
        commit()

    assert len(inbox.messages) == 2
    assert inbox.messages[1]["To"] == "bob@example.com"
    new_token = last_invitation_token(inbox)
    assert new_token != old_token
    with pytest.raises(NotFound):
        accounts.find_invitation(old_token)
    assert accounts.find_invitation(new_token).id == invitation_id
    assert len(audit_events("therapist.invitation_resent")) == 1


def test_revoking_an_invitation_voids_its_link(app, inbox):
    owner_id, practice_id = make_owner()
    invitation_id, token = invite(inbox, owner_id, practice_id, "bob@example.com")

    with practice_context(practice_id):
        owner = db.session.get(User, owner_id)
        accounts.revoke_invitation(owner, db.session.get(TherapistInvitation, invitation_id))
        commit()

    with pytest.raises(NotFound):
        accounts.find_invitation(token)
    with pytest.raises(NotFound):
        accounts.accept_invitation(token, name="Bob", password=NEW_PASSWORD)
    db.session.rollback()
    assert fresh(TherapistInvitation, invitation_id).revoked_at is not None
    assert count(User, User.email == "bob@example.com") == 0

    # A withdrawn invitation cannot be brought back by resending it.
    with practice_context(practice_id):
        owner = db.session.get(User, owner_id)
        with pytest.raises(DomainError):
            accounts.resend_invitation(owner, db.session.get(TherapistInvitation, invitation_id))
        db.session.rollback()
    assert len(inbox.messages) == 1


def test_an_expired_invitation_cannot_be_used(app, inbox):
    owner_id, practice_id = make_owner()
    _, token = invite(inbox, owner_id, practice_id, "bob@example.com")
    with unscoped():
        invitation = db.session.scalar(select(TherapistInvitation))
        assert timedelta(days=6, hours=23) < invitation.expires_at - utcnow() <= timedelta(days=7)
        db.session.execute(
            update(TherapistInvitation).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    commit()

    with pytest.raises(NotFound):
        accounts.find_invitation(token)
    with pytest.raises(NotFound):
        accounts.accept_invitation(token, name="Bob", password=NEW_PASSWORD)
    db.session.rollback()
    assert count(User, User.email == "bob@example.com") == 0


def test_accepting_creates_a_therapist_in_the_inviting_practice(app, inbox):
    make_owner()  # another practice, created first, must not receive the therapist
    owner_id, practice_id = make_owner()
    invitation_id, token = invite(inbox, owner_id, practice_id, "bob@example.com")

    user = accounts.accept_invitation(token, name="  Bob Builder ", password=NEW_PASSWORD)
    commit()

    user = fresh(User, user.id)
    assert user.practice_id == practice_id
    assert (user.email, user.name, user.role, user.active) == (
        "bob@example.com",
        "Bob Builder",
        "therapist",
        True,
    )
    invitation = fresh(TherapistInvitation, invitation_id)
    assert invitation.accepted_at is not None
    assert invitation.user_id == user.id
    assert invitation.token_hash is None
    assert can_sign_in("bob@example.com", NEW_PASSWORD)
    (event_,) = audit_events("therapist.joined")
    assert (event_.actor_user_id, event_.practice_id) == (user.id, practice_id)


def test_an_invitation_can_be_accepted_only_once(app, inbox):
    owner_id, practice_id = make_owner()
    _, token = invite(inbox, owner_id, practice_id, "bob@example.com")
    accounts.accept_invitation(token, name="Bob", password=NEW_PASSWORD)
    commit()

    with pytest.raises(NotFound):
        accounts.accept_invitation(token, name="Mallory", password="mallory's passphrase")
    db.session.rollback()
    assert count(User, User.email == "bob@example.com") == 1
    assert not can_sign_in("bob@example.com", "mallory's passphrase")


def test_a_refused_password_leaves_the_invitation_open(app, inbox):
    owner_id, practice_id = make_owner()
    invitation_id, token = invite(inbox, owner_id, practice_id, "bob@example.com")
    with pytest.raises(DomainError) as caught:
        accounts.accept_invitation(token, name="Bob", password="bob@example.com")
    db.session.rollback()
    assert caught.value.field == "password"
    assert fresh(TherapistInvitation, invitation_id).accepted_at is None
    assert accounts.find_invitation(token).id == invitation_id


def test_accepting_fails_when_the_address_meanwhile_got_an_account(app, inbox):
    owner_id, practice_id = make_owner()
    invitation_id, token = invite(inbox, owner_id, practice_id, "bob@example.com")
    _, other_practice_id = make_owner()
    make_therapist(other_practice_id, email="bob@example.com")

    with pytest.raises(DomainError) as caught:
        accounts.accept_invitation(token, name="Bob", password=NEW_PASSWORD)
    db.session.rollback()
    assert not isinstance(caught.value, NotFound)
    assert "already exists" in caught.value.message
    assert fresh(TherapistInvitation, invitation_id).accepted_at is None
    with unscoped():
        (bob,) = db.session.scalars(select(User).where(User.email == "bob@example.com")).all()
    assert bob.practice_id == other_practice_id


# --- the team -------------------------------------------------------------------------------


def test_the_owner_cannot_be_deactivated(app):
    owner_id, practice_id = make_owner()
    with practice_context(practice_id):
        owner = db.session.get(User, owner_id)
        with pytest.raises(DomainError) as caught:
            accounts.set_user_active(owner, owner, False)
        db.session.rollback()
    assert "owner cannot be deactivated" in caught.value.message
    assert fresh(User, owner_id).active is True


def test_deactivation_ends_sessions_and_reactivation_restores_access(app):
    owner_id, practice_id = make_owner()
    therapist_id = make_therapist(practice_id, email="bob@example.com")

    with practice_context(practice_id):
        owner = db.session.get(User, owner_id)
        accounts.set_user_active(owner, db.session.get(User, therapist_id), False)
        commit()
    therapist = fresh(User, therapist_id)
    assert (therapist.active, therapist.session_version) == (False, 2)
    assert not can_sign_in("bob@example.com", PASSWORD)

    with practice_context(practice_id):
        owner = db.session.get(User, owner_id)
        therapist = db.session.get(User, therapist_id)
        accounts.set_user_active(owner, therapist, False)  # already off: nothing happens
        accounts.set_user_active(owner, therapist, True)
        commit()
    therapist = fresh(User, therapist_id)
    assert (therapist.active, therapist.session_version) == (True, 2)
    assert can_sign_in("bob@example.com", PASSWORD)
    assert [e.action for e in audit_events() if e.action.startswith("therapist.")] == [
        "therapist.deactivated",
        "therapist.reactivated",
    ]


def test_a_therapist_cannot_change_who_is_active(app):
    _, practice_id = make_owner()
    actor_id = make_therapist(practice_id)
    other_id = make_therapist(practice_id)
    with practice_context(practice_id):
        actor = db.session.get(User, actor_id)
        with pytest.raises(NotFound):
            accounts.set_user_active(actor, db.session.get(User, other_id), False)
        db.session.rollback()
    assert fresh(User, other_id).active is True


def update_practice(owner_id: int, practice_id: int, **overrides) -> None:
    with practice_context(practice_id):
        practice = db.session.get(Practice, practice_id)
        values = {
            "name": practice.name,
            "time_zone": practice.time_zone,
            "secrets_policy": practice.secrets_policy,
            "secrets_policy_text": practice.secrets_policy_text,
        }
        values.update(overrides)
        accounts.update_practice(db.session.get(User, owner_id), practice, **values)
        commit()


def test_update_practice_saves_and_audits_the_names_of_changed_fields(app):
    owner_id, practice_id = make_owner()
    update_practice(owner_id, practice_id, name="  Riverside Couples  ", time_zone="Asia/Tokyo")

    practice = fresh(Practice, practice_id)
    assert (practice.name, practice.time_zone) == ("Riverside Couples", "Asia/Tokyo")
    (event_,) = audit_events("practice.settings_changed")
    assert event_.details == {"fields": ["name", "time_zone"]}
    assert "Riverside" not in str(event_.details)  # names of fields, never what was typed

    update_practice(owner_id, practice_id)  # nothing changed: nothing recorded
    assert len(audit_events("practice.settings_changed")) == 1

    update_practice(owner_id, practice_id, secrets_policy="no_secrets", secrets_policy_text="X")
    assert audit_events("practice.settings_changed")[-1].details == {
        "fields": ["secrets_policy", "secrets_policy_text"]
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"time_zone": "Nowhere/Special"}, "time_zone"),
        ({"secrets_policy": "all"}, "secrets_policy"),
    ],
)
def test_update_practice_refuses_bad_values(app, overrides, field):
    owner_id, practice_id = make_owner()
    with pytest.raises(DomainError) as caught:
        update_practice(owner_id, practice_id, name="Changed", **overrides)
    db.session.rollback()
    assert caught.value.field == field
    assert fresh(Practice, practice_id).name != "Changed"


def test_only_the_owner_can_update_the_practice(app):
    _, practice_id = make_owner()
    therapist_id = make_therapist(practice_id)
    with pytest.raises(NotFound):
        update_practice(therapist_id, practice_id, name="Changed")
    db.session.rollback()
    assert fresh(Practice, practice_id).name != "Changed"
