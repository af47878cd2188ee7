from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from practice.blueprints.devices import describe_device
from practice.blueprints.portal import bp
from practice.blueprints.portal.forms import AcknowledgeForm, ContinueForm, NewLinkForm
from practice.blueprints.portal.sessions import (
    begin,
    forget,
    load_partner,
    partner_required,
    partner_signed_in,
)
from practice.blueprints.transaction import after_the_answer, discard_writes
from practice.extensions import db, limiter
from practice.homework.standing import Section
from practice.mailer import capture_outbox, flash_dev_links
from practice.models import Practice
from practice.services import portal_access, safety
from practice.services.portal_access import LinkNotUsable
from practice.tenancy import set_current_practice, unscoped

REPLACED_ON_DEVICE = "another sign-in on this device"


def _link_limit() -> str:
    return current_app.config["PORTAL_LINK_RATE_LIMIT"]


bp.before_request(load_partner)


def _link_not_usable():
    """One page, one wording, one status for every dead link: no hint of which case it is."""
    return render_template("portal/link_not_usable.html", form=NewLinkForm()), 404


@bp.route("/p/<token>", methods=["GET"])
@limiter.limit(_link_limit)
def welcome(token: str):
    try:
        invite = portal_access.find_invite(token)
    except LinkNotUsable:
        return _link_not_usable()
    with unscoped():  # names for the welcome page, from the link's own practice
        partner = invite.partner
        therapists = partner.couple.therapists
        practice = db.session.get(Practice, invite.practice_id)
        page = render_template(
            "portal/welcome.html",
            partner=partner,
            therapists=therapists,
            practice=practice,
            form=ContinueForm(),
        )
    return page


def _end_this_devices_session() -> None:
    """A link used on a device that is already signed in (a shared tablet, say) replaces that
    portal session: the old one is ended on the server, not only dropped from the cookie.

    It is flushed in its own practice, which then stops being this request's: the link may
    belong to another practice. A dead link rolls the ending back with the rest.
    """
    previous = g.get("portal_session")
    if previous is not None:
        portal_access.end_portal_session(previous, by=g.partner, reason=REPLACED_ON_DEVICE)
        db.session.flush()
        set_current_practice(None)


@bp.route("/p/<token>", methods=["POST"])
@limiter.limit(_link_limit)
def redeem(token: str):
    form = ContinueForm()
    if not form.validate_on_submit():
        return redirect(url_for("portal.welcome", token=token))
    _end_this_devices_session()
    try:
        portal_session = portal_access.start_session_from_invite(
            token, device=describe_device(request.user_agent.string)
        )
    except LinkNotUsable:
        discard_writes()
        return _link_not_usable()
    db.session.commit()
    begin(portal_session)
    return redirect(url_for("portal.home"))


@bp.route("/s/<token>", methods=["GET"])
@limiter.limit(_link_limit)
def sign_in_link(token: str):
    try:
        portal_access.find_sign_in_link(token)
    except LinkNotUsable:
        return _link_not_usable()
    return render_template("portal/sign_in_link.html", form=ContinueForm())


@bp.route("/s/<token>", methods=["POST"])
@limiter.limit(_link_limit)
def redeem_sign_in_link(token: str):
    form = ContinueForm()
    if not form.validate_on_submit():
        return redirect(url_for("portal.sign_in_link", token=token))
    _end_this_devices_session()
    try:
        portal_session = portal_access.start_session_from_sign_in_link(
            token, device=describe_device(request.user_agent.string)
        )
    except LinkNotUsable:
        discard_writes()
        return _link_not_usable()
    db.session.commit()
    begin(portal_session)
    return redirect(url_for("portal.home"))


@bp.route("/portal/signed-out")
def signed_out():
    if g.partner is not None:
        return redirect(url_for("portal.home"))
    return render_template("portal/signed_out.html", form=NewLinkForm())


@bp.route("/portal/new-link", methods=["POST"])
@limiter.limit(_link_limit)
def new_link():
    form = NewLinkForm()
    if not form.validate_on_submit():
        return render_template("portal/signed_out.html", form=form), 422
    email = form.email.data
    if current_app.config["PRACTICE_ENV"] == "development":
        # On a developer's machine the link is shown on the page, so the work is done first.
        with capture_outbox() as sent:
            portal_access.request_sign_in_link(email)
            db.session.commit()
        flash_dev_links(sent)
        return render_template("portal/new_link_sent.html")
    # The same words, and the same work before them, whether or not the address is known:
    # finding its partners, recording the request and queueing the email happen once the
    # page has been sent, so how long the answer takes tells nothing.
    return after_the_answer(
        make_response(render_template("portal/new_link_sent.html")),
        portal_access.request_sign_in_link,
        email,
        what="sign-in link",
    )


@bp.route("/portal")
@partner_required
def home():
    partner = g.partner
    practice = db.session.get(Practice, partner.practice_id)
    if portal_access.needs_privacy_acknowledgement(partner, practice):
        return redirect(url_for("portal.privacy"))
    portal_access.touch(g.portal_session)
    from practice.services import agreements, calendar, notices, reports, safety
    from practice.services import homework as homework_service

    visible = homework_service.partner_responses(partner)
    standing = homework_service.standings(visible, partner=partner)
    sections = {section: [] for section in Section}
    for response in visible:
        sections[standing[response.id].section].append(response)
    return render_template(
        "portal/home.html",
        partner=partner,
        couple=partner.couple,
        other=partner.other,
        therapists=partner.couple.therapists,
        practice=practice,
        sections=sections,
        Section=Section,
        standing=standing,
        handed_in=[
            r.public_id for r in visible if not homework_service.partner_can_edit(partner, r)
        ]
        + [key for key in [session.pop("handed_in_checkin", None)] if key],
        agreements=agreements.agreements_in_force(partner.couple),
        # The calendar card once both partners agreed to a schedule: never before.
        has_window=bool(calendar.agreed_windows(visible)),
        has_feed=calendar.has_feed(partner),
        today=homework_service.couple_today(partner.couple),
        get_kind=homework_service.get_kind,
        form=ContinueForm(),
        notices=notices.unread_for_partner(partner),
        screen=safety.instrument_for(practice) if safety.screen_due(partner) else None,
        offer_pin=partner.pin_hash is None and partner.pin_offered_at is None,
        notice_text=notices.text_for,
        summaries=reports.released_count(partner),
    )


@bp.route("/portal/privacy", methods=["GET", "POST"])
@partner_required
def privacy():
    partner = g.partner
    practice = db.session.get(Practice, partner.practice_id)
    needs_ack = portal_access.needs_privacy_acknowledgement(partner, practice)
    form = AcknowledgeForm()
    if needs_ack and form.validate_on_submit():
        portal_access.acknowledge_privacy(partner, practice)
        flash("Thank you. This notice is always one tap away, under Privacy.", "success")
        return redirect(url_for("portal.home"))
    status = 422 if form.errors else 200
    return render_template(
        "portal/privacy.html",
        partner=partner,
        practice=practice,
        therapists=partner.couple.therapists,
        screen=safety.instrument_for(practice),
        checkin_items=safety.CHECKIN_ITEMS,
        form=form,
        needs_ack=needs_ack,
    ), status


@bp.route("/portal/sign-out", methods=["POST"])
@partner_signed_in  # a locked device can always be signed out
def sign_out():
    if not ContinueForm().validate_on_submit():
        abort(400)
    portal_access.end_portal_session(g.portal_session, by=g.partner, reason="signed out")
    db.session.commit()
    forget()
    return render_template("portal/goodbye.html")


@bp.route("/portal/notices/<int:notice_id>")
@partner_required
def open_notice(notice_id: int):
    """Open a notice: it is read from now on, and the partner goes where it points."""
    from practice.services import NotFound, notices

    try:
        notice = notices.open_for_partner(g.partner, notice_id)
    except NotFound:
        abort(404)
    return redirect(notice.link)
