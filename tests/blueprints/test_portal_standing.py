"""The portal home through HTTP: sections by who acts next, private and shared tags, the
released apology as a card, one's own contract commitments only, and "Propose a change"
with its notices."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from practice.extensions import db
from practice.models import Notice, User
from practice.models.homework import ContractVersion, HomeworkResponse
from practice.services import joint
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_homework import (
    APOLOGY,
    couple,  # noqa: F401 - a fixture
    response_row,
)
from tests.blueprints.test_portal_homework import (
    apology,  # noqa: F401 - a fixture
    apology_form,
    assign_jointly,
    contract_form,
    kim,  # noqa: F401 - a fixture
    lee,  # noqa: F401 - a fixture
)
from tests.couple_factories import public


def section(html: str, heading: str) -> str:
    """The text of the portal home's section under `heading` ('' when there is none)."""
    match = re.search(rf'<h2 id="[a-z_]+-heading">{heading}</h2>(.*?)</section>', html, re.S)
    return page_text(match.group(1)) if match else ""


def page_text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_home_files_work_by_who_acts_next_with_private_and_shared_tags(
    therapist_client,
    couple,  # noqa: F811
    apology,  # noqa: F811
    kim,  # noqa: F811
    lee,  # noqa: F811
):
    home = lee.get("/portal").get_data(as_text=True)
    assert "Apology draft" in section(home, "To do")
    assert "Not started" in section(home, "To do")
    assert "Private" in section(home, "To do")
    assert section(home, "Waiting for someone else") == ""

    url = f"/portal/homework/{public(apology)}"
    assert lee.post_form(url, apology_form(0, APOLOGY, "submit")).status_code == 302
    home = lee.get("/portal").get_data(as_text=True)
    waiting = section(home, "Waiting for someone else")
    assert "Sent to your therapist" in waiting and "· private" in waiting
    assert "Apology draft" not in section(home, "To do")
    # Never "Handed in and shared" for private work, and nothing of it on Kim's side.
    assert "Handed in and shared" not in home
    assert public(apology) not in kim.get("/portal").get_data(as_text=True)


def test_a_released_apology_reaches_the_hurt_partner_as_a_card_not_a_task(
    therapist_client,
    couple,  # noqa: F811
    apology,  # noqa: F811
    kim,  # noqa: F811
    lee,  # noqa: F811
):
    url = f"/portal/homework/{public(apology)}"
    assert lee.post_form(url, apology_form(0, APOLOGY, "submit")).status_code == 302
    base = f"/couples/{couple.id}/homework/{apology}"
    assert therapist_client.post_form(f"{base}/reviewed").status_code == 302
    assert therapist_client.post_form(f"{base}/release").status_code == 302

    home = kim.get("/portal").get_data(as_text=True)
    assert "Lee's apology is ready to read when you feel ready" in page_text(home)
    assert public(apology) in home
    assert "Apology" not in section(home, "To do")
    assert "Apology" not in section(home, "Done")
    read = page(kim.get(url)).text
    assert "Read it when you feel ready" in read
    assert APOLOGY["what_i_did"] in read
    assert "Draft" not in read and "draft" not in read  # "draft" is dropped once shared
    assert "Apology by Lee" in read

    author_home = lee.get("/portal").get_data(as_text=True)
    done = section(author_home, "Done")
    assert "Shared with Kim by your therapist" in done
    assert "Apology" in done and "Apology draft" not in done


def test_each_partner_writes_only_their_own_contract_commitments(
    couple,  # noqa: F811
    kim,  # noqa: F811
    lee,  # noqa: F811
):
    contract = assign_jointly(couple, "repair_contract")
    url = f"/portal/homework/{public(contract)}"
    form = page(kim.get(url))
    assert "commitments_1-0" in form.values  # Kim's own
    assert "commitments_2-0" not in form.values  # Lee's: shown, not a field
    assert kim.post_form(url, contract_form(0, "Support.")).status_code == 302

    # Lee's post carries values for Kim's commitments too (a crafted or stale form): ignored.
    crafted = contract_form(1, "Support.")
    crafted.update({f"commitments_1-{i}": "Overwritten by Lee" for i in range(3)})
    crafted.update({f"commitments_2-{i}": f"Lee's own {i}" for i in range(3)})
    assert lee.post_form(url, crafted).status_code == 302
    stored = response_row(contract).content
    assert stored["commitments_1"] == [f"Commitment 1.{i}" for i in range(3)]
    assert stored["commitments_2"] == [f"Lee's own {i}" for i in range(3)]
    # Kim sees Lee's words as text, and her own in the form.
    shown = page(kim.get(url))
    assert "Lee's own 2" in shown.text
    assert shown.values["commitments_1-2"] == "Commitment 1.2"


def _signed_contract(couple, kim, lee) -> int:  # noqa: F811
    contract = assign_jointly(couple, "repair_contract")
    url = f"/portal/homework/{public(contract)}"
    assert kim.post_form(url, contract_form(0, "Support.")).status_code == 302
    assert lee.post_form(url, contract_form(1, "Support.")).status_code == 302
    with practice_context(couple.practice_id):
        joint.finalize_contract(
            db.session.get(User, couple.therapist_ids[0]),
            db.session.get(HomeworkResponse, contract),
        )
        db.session.commit()
    assert kim.post_form(f"{url}/sign", {"typed_name": "Kim"}).status_code == 302
    return contract


def test_statuses_follow_the_signatures(couple, kim, lee):  # noqa: F811
    contract = _signed_contract(couple, kim, lee)
    assert "Waiting for Lee to sign" in section(
        kim.get("/portal").get_data(as_text=True), "Waiting for someone else"
    )
    assert "Kim signed · ready for you to sign" in section(
        lee.get("/portal").get_data(as_text=True), "To do"
    )
    url = f"/portal/homework/{public(contract)}"
    assert lee.post_form(f"{url}/sign", {"typed_name": "Lee"}).status_code == 302
    done = section(kim.get("/portal").get_data(as_text=True), "Done")
    assert "Signed by you both on" in done


def test_a_signed_contract_changes_only_through_propose_a_change(
    therapist_client,
    couple,  # noqa: F811
    kim,  # noqa: F811
    lee,  # noqa: F811
):
    contract = _signed_contract(couple, kim, lee)
    url = f"/portal/homework/{public(contract)}"
    assert lee.post_form(f"{url}/sign", {"typed_name": "Lee"}).status_code == 302
    assert response_row(contract).status == "signed"

    read = page(kim.get(url))
    assert "commitments_1-0" not in read.values  # read-only: no field to type in
    assert "Propose a change" in read.text
    # The confirmation names the consequence before anything changes.
    confirm = page(kim.get(f"{url}/change"))
    assert "Both signatures stop counting" in confirm.text
    assert response_row(contract).status == "signed"

    assert kim.post_form(f"{url}/change").status_code == 302
    assert response_row(contract).status == "returned"
    with unscoped():
        (version,) = db.session.scalars(select(ContractVersion)).all()
        assert version.superseded_at is not None
        assert len(version.signatures) == 2  # kept on record, no longer counting
        sent = db.session.scalars(select(Notice).order_by(Notice.id)).all()
    assert {n.kind for n in sent} == {"contract.change_proposed"}
    assert sum(n.recipient_partner_id is not None for n in sent) == 1  # Lee, not Kim
    assert sum(n.recipient_user_id is not None for n in sent) >= 1  # the therapist

    # Lee's home shows the notice, content-free, until Lee opens it.
    home = lee.get("/portal").get_data(as_text=True)
    assert "A change to your repair contract was proposed" in home
    assert "Support." not in section(home, "New for you")
    (notice_link,) = re.findall(r'href="(/portal/notices/\d+)"', home)
    assert kim.get(notice_link).status_code == 404  # not Kim's notice
    opened = lee.get(notice_link)
    assert opened.status_code == 302 and opened.headers["Location"].endswith(url)
    assert "A change to your repair contract" not in lee.get("/portal").get_data(as_text=True)

    # The therapist's dashboard shows it too, and opening it leads to the review page.
    dashboard = therapist_client.get("/dashboard").get_data(as_text=True)
    assert "A partner proposed a change to a signed repair contract." in dashboard
    (link,) = re.findall(r'href="(/notices/\d+)"', dashboard)
    assert (
        therapist_client.get(link)
        .headers["Location"]
        .endswith(f"/couples/{couple.id}/homework/{contract}")
    )
    # Both can write again; each writes their own part.
    assert "commitments_1-0" in page(kim.get(url)).values


def test_propose_a_change_is_refused_on_work_that_is_not_signed(couple, kim):  # noqa: F811
    contract = assign_jointly(couple, "repair_contract")
    url = f"/portal/homework/{public(contract)}"
    assert kim.post_form(f"{url}/change").status_code == 302
    assert response_row(contract).status == "assigned"
    with unscoped():
        assert db.session.scalars(select(Notice)).all() == []
