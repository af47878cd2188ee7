"""Two-step sign-in: the code after the password, and setting it up on the account page."""

from __future__ import annotations

import time

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from practice.blueprints.auth import bp
from practice.blueprints.auth.forms import CodeForm, ConfirmForm, EnrolForm
from practice.blueprints.auth.sessions import start_session, this_device
from practice.blueprints.forms import show_error
from practice.blueprints.transaction import discard_writes, keep_writes
from practice.extensions import db, limiter
from practice.models import User
from practice.security import seal, unseal
from practice.services import DomainError, accounts, two_factor
from practice.tenancy import practice_context, set_current_practice, unscoped

PENDING = "two_factor_pending"  # the signed-in-by-password, waiting for their code
SETUP = "two_factor_setup"  # a new secret, sealed, until a code from it is typed back
TRUSTED_COOKIE = "practice_device"
PENDING_SECONDS = 300


def _auth_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def finish_sign_in(user: User, target: str):
    """Both steps done (or the only one): record the sign-in and start this browser's session."""
    accounts.record_sign_in(user)
    user_session = accounts.start_user_session(user, device=this_device())
    db.session.commit()
    start_session(user, user_session)
    return redirect(target)


def ask_for_code(user: User, target: str):
    """After the password: the code comes next, unless this browser is remembered."""
    with practice_context(user.practice_id):  # the password step found the practice
        trusted = two_factor.is_trusted(user, request.cookies.get(TRUSTED_COOKIE))
    if trusted:
        return finish_sign_in(user, target)
    session.clear()
    session[PENDING] = {
        "user": user.id,
        "version": user.session_version,
        "at": time.time(),
        "next": target,
    }
    return redirect(url_for("auth.login_code"))


def _pending_user() -> tuple[User | None, dict]:
    pending = session.get(PENDING) or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, {}
    with unscoped():  # the practice is the user's, found by the id the password step stored
        user = db.session.get(User, pending.get("user"))
    if (
        user is None
        or not user.active
        or user.session_version != pending.get("version")
        or not user.has_two_factor
    ):
        return None, {}
    set_current_practice(user.practice_id)
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def login_code():
    user, pending = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash("Sign in again: the step with your code took too long.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        if two_factor.verify(user, form.code.data):
            token = two_factor.trust_device(user) if form.remember.data else None
            response = make_response(finish_sign_in(user, pending.get("next") or "/dashboard"))
            if token:
                response.set_cookie(
                    TRUSTED_COOKIE,
                    token,
                    max_age=int(two_factor.TRUSTED_FOR.total_seconds()),
                    httponly=True,
                    samesite="Lax",
                    secure=current_app.config["SESSION_COOKIE_SECURE"],
                )
            return response
        keep_writes()  # the failed attempt's audit row
        form.code.errors.append(two_factor.WRONG_CODE)
    status = 422 if form.errors else 200
    return render_template("auth/login_code.html", form=form), status


@bp.route("/account/two-step", methods=["GET", "POST"])
@login_required
def two_step():
    """Set up two-step sign-in (scan, then type a code back), or see where it stands."""
    user = current_user._get_current_object()
    form = EnrolForm()
    if user.has_two_factor:
        return render_template(
            "auth/two_step.html",
            user=user,
            codes_left=two_factor.recovery_codes_left(user),
            action_form=ConfirmForm(),
        )
    sealed = session.get(SETUP)
    if sealed is None or request.method == "GET" and request.args.get("new"):
        sealed = session[SETUP] = seal(two_factor.new_secret())
    secret = unseal(sealed)
    if form.validate_on_submit():
        try:
            enrolled = two_factor.enrol(user, secret, form.code.data)
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            session.pop(SETUP, None)
            flash("Two-step sign-in is on.", "success")
            return render_template("auth/recovery_codes.html", codes=enrolled.recovery_codes)
    uri = two_factor.provisioning_uri(user, secret)
    return render_template(
        "auth/two_step_setup.html",
        form=form,
        qr=two_factor.qr_svg(uri),
        secret=two_factor.grouped(secret),
        required=two_factor.must_enrol(user),
    ), (422 if form.errors else 200)


@bp.route("/account/two-step/recovery-codes", methods=["POST"])
@login_required
def new_recovery_codes():
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("auth.two_step"))
    try:
        codes = two_factor.new_recovery_codes(current_user._get_current_object())
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
        return redirect(url_for("auth.two_step"))
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.route("/account/two-step/off", methods=["POST"])
@login_required
def two_step_off():
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("auth.two_step"))
    try:
        two_factor.disable(current_user._get_current_object())
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
    else:
        flash("Two-step sign-in is off. Signing in needs only your password now.", "info")
    response = make_response(redirect(url_for("auth.two_step")))
    response.delete_cookie(TRUSTED_COOKIE)
    return response
