from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from practice.blueprints.auth import bp
from practice.blueprints.auth.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ConfirmForm,
    CreatePracticeForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
    SignUpForm,
)
from practice.blueprints.auth.sessions import end_session, start_session, this_device
from practice.blueprints.auth.two_factor_views import ask_for_code, finish_sign_in
from practice.blueprints.forms import show_error
from practice.blueprints.transaction import after_the_answer, discard_writes, keep_writes
from practice.extensions import db, limiter
from practice.mailer import capture_outbox, flash_dev_links
from practice.services import DomainError, NotFound, accounts, retry_on_conflict
from practice.tenancy import practice_context


def _auth_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("dashboard.index")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def signup():
    """Sign-up, first step: an address, and an email to it; the practice comes from its link."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = SignUpForm()
    if not form.validate_on_submit():
        return render_template("auth/signup.html", form=form), 422 if form.errors else 200
    email = form.email.data
    if current_app.config["PRACTICE_ENV"] == "development":
        # On a developer's machine the link is shown on the page, so the work is done first.
        with capture_outbox() as sent:
            accounts.request_sign_up(email)
        flash_dev_links(sent)
        return render_template("auth/signup_sent.html", email=email)
    # The same page, and the same work before it, whether or not the address has an account:
    # looking it up and sending the link (or the "someone tried" note) happen once the page
    # has been sent, so neither the answer nor how long it takes tells who has an account.
    return after_the_answer(
        make_response(render_template("auth/signup_sent.html", email=email)),
        accounts.request_sign_up,
        email,
        what="sign-up",
    )


def _already_registered(email: str):
    """The answer for an address that has an account: the visitor holds a link emailed to it,
    so they own the address and may be told."""
    return render_template("auth/signup_already_registered.html", email=email), 409


@bp.route("/signup/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def signup_confirm(token: str):
    """Sign-up, second step: the emailed link confirmed the address; create the practice."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    try:
        email = accounts.email_of_sign_up_link(token)
    except NotFound:
        return render_template("auth/signup_link_expired.html"), 404
    if accounts.email_has_account(email):  # a second use of the link, or an invitation since
        return _already_registered(email)
    form = CreatePracticeForm()
    if request.method == "GET":
        # A fresh form: the browser may offer its own time zone (static/js/app.js).
        form.time_zone.render_kw = {"data-browser-time-zone": ""}
    if form.validate_on_submit():
        try:
            owner = retry_on_conflict(
                lambda: accounts.sign_up(
                    practice_name=form.practice_name.data,
                    name=form.name.data,
                    email=email,
                    password=form.password.data,
                    time_zone=form.time_zone.data,
                )
            )
        except accounts.EmailTaken:  # the same link, used at the same moment in another tab
            discard_writes()
            return _already_registered(email)
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            user_session = accounts.start_user_session(owner, device=this_device())
            db.session.commit()
            start_session(owner, user_session)
            flash("Your practice is ready. Welcome.", "success")
            return redirect(url_for("dashboard.index"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("auth/signup_confirm.html", form=form, email=email), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.check_password(form.email.data, form.password.data)
        except DomainError as error:
            keep_writes()  # the failed-attempt audit row is kept
            form.form_errors.append(error.message)
        else:
            target = _safe_next(request.args.get("next"))
            if user.has_two_factor:
                return ask_for_code(user, target)
            return finish_sign_in(user, target)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        accounts.sign_out(current_user._get_current_object())  # ends it on the server too
        db.session.commit()
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        with capture_outbox() as sent:
            accounts.request_password_reset(form.email.data)
            db.session.commit()
        flash_dev_links(sent)
        # The same words whether or not the address has an account.
        flash(
            "If that email belongs to an account, a reset link is on its way. "
            "It works once, within one hour.",
            "info",
        )
        return redirect(url_for("auth.login"))
    status = 422 if form.errors else 200
    return render_template("auth/forgot_password.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def reset_password(token: str):
    try:
        accounts.find_password_reset(token)
    except NotFound:
        return render_template("auth/link_expired.html", what="password reset"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except NotFound:
            discard_writes()
            return render_template("auth/link_expired.html", what="password reset"), 404
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            db.session.commit()
            end_session()
            flash("Your password is changed. Sign in with it now.", "success")
            return redirect(url_for("auth.login"))
    status = 422 if form.errors else 200
    return render_template("auth/reset_password.html", form=form), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def accept_invitation(token: str):
    try:
        invitation = accounts.find_invitation(token)
    except NotFound:
        return render_template("auth/link_expired.html", what="invitation"), 404
    form = AcceptInvitationForm()
    if request.method == "GET" and not form.name.data:
        form.name.data = invitation.name
    if form.validate_on_submit():
        try:
            user = accounts.accept_invitation(
                token, name=form.name.data, password=form.password.data
            )
        except NotFound:
            discard_writes()
            return render_template("auth/link_expired.html", what="invitation"), 404
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            user_session = accounts.start_user_session(user, device=this_device())
            db.session.commit()
            start_session(user, user_session)
            flash("Welcome to the practice.", "success")
            return redirect(url_for("dashboard.index"))
    # Nobody is signed in (or someone of another practice is): read it in the inviting one.
    with practice_context(invitation.practice_id):
        practice_name = invitation.invited_by.practice.name
    status = 422 if form.errors else 200
    return render_template(
        "auth/accept_invitation.html", form=form, invitation=invitation, practice_name=practice_name
    ), status


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current_password.data, form.new_password.data)
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            # Every session ended with the old password; this device goes on in a new one.
            user_session = accounts.start_user_session(user, device=this_device())
            db.session.commit()
            start_session(user, user_session)
            flash("Your password is changed. Other devices are signed out.", "success")
            return redirect(url_for("auth.account"))
    status = 422 if form.errors else 200
    devices = accounts.live_user_sessions(
        current_user,
        idle=timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"]),
        absolute=timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"]),
    )
    return render_template(
        "auth/account.html",
        form=form,
        everywhere_form=ConfirmForm(prefix="everywhere"),
        device_form=ConfirmForm(prefix="device"),
        devices=devices,
        this_session_id=current_user.current_session.id,
    ), status


@bp.route("/account/devices/<int:user_session_id>/sign-out", methods=["POST"])
@login_required
def sign_out_device(user_session_id: int):
    if not ConfirmForm(prefix="device").validate_on_submit():
        abort(400)
    try:
        accounts.sign_out_device(current_user, user_session_id)
    except NotFound:
        abort(404)
    flash("That device is signed out.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    if not ConfirmForm(prefix="everywhere").validate_on_submit():
        abort(400)
    accounts.sign_out_everywhere(current_user)
    db.session.commit()
    end_session()
    flash("You are signed out on every device.", "info")
    return redirect(url_for("auth.login"))
