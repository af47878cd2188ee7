"""practice.services.joint and practice.services.agreements, called directly: confirming a
processing window, finalising and signing repair contracts, and the couple's agreements.

Real database; nothing of ours is mocked.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.homework import get_kind
from practice.models.homework import (
    ContractSignature,
    ContractVersion,
    HomeworkResponse,
)
from practice.services import DomainError, joint
from practice.services import homework as hw
from tests.services.test_homework import World, assign, audit_events, stored
from tests.services.test_homework import world as world  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("app")

WINDOW = {
    "slots": [
        {"weekday": 1, "start": "19:30", "minutes": 45},
        {"weekday": 5, "start": "10:00", "minutes": 60},
    ],
    "code_word": "pineapple",
}
CONTRACT = {
    "commitments_1": ["Say when I feel triggered.", "Ask rather than check.", "Walk daily."],
    "commitments_2": ["Answer questions openly.", "Share my location.", "Be home by seven."],
    "support": "A hand on the shoulder and ten minutes of listening.",
    "breaks": "Any contact with the affair partner.",
    "revisit_date": "2026-12-28",
}


def window_for(w: World, content: dict | None = None) -> HomeworkResponse:
    (window,) = assign(w, "processing_window", "joint").responses
    if content is not None:
        hw.save_draft(w.ann, window, content=content, base_version=0)
    return window


def contract_for(w: World, content: dict | None = None) -> HomeworkResponse:
    (contract,) = assign(w, "repair_contract", "joint").responses
    if content is not None:
        # Each partner writes their own commitments: the content comes in two saves.
        hw.save_draft(w.ann, contract, content=content, base_version=0)
        hw.save_draft(w.ben, contract, content=content, base_version=contract.version)
        assert contract.content == content
    return contract


def signatures(version: ContractVersion) -> list[tuple[int, str]]:
    db.session.flush()
    return [
        (s.partner_id, s.typed_name)
        for s in db.session.scalars(
            select(ContractSignature)
            .where(ContractSignature.version_id == version.id)
            .order_by(ContractSignature.id)
        )
    ]


# --- repair contract ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"commitments_1": ["one", "two", ""]},
        {"commitments_2": ["", "", ""]},
        {"support": " "},
        {"breaks": ""},
        {"revisit_date": ""},
    ],
    ids=["two-commitments", "no-commitments", "support", "breaks", "revisit"],
)
def test_finalizing_needs_a_complete_contract(world, change):
    contract = contract_for(world, dict(CONTRACT, **change))
    with pytest.raises(DomainError):
        joint.finalize_contract(world.therapist, contract)
    assert joint.contract_versions(contract) == []
    assert stored(contract.id).status == "draft"


def test_finalizing_creates_version_one_which_both_partners_sign(world):
    contract = contract_for(world, CONTRACT)

    version = joint.finalize_contract(world.therapist, contract)

    assert version.number == 1
    assert version.content == CONTRACT
    assert version.revisit_date == date(2026, 12, 28)
    assert version.finalized_by_id == world.therapist.id
    assert version.superseded_at is None
    assert contract.status == "final"
    assert joint.current_contract(contract).id == version.id
    with pytest.raises(DomainError):  # nothing changed since: already final
        joint.finalize_contract(world.therapist, contract)

    joint.sign_contract(world.ann, contract, "  Ann Example  ")
    assert signatures(version) == [(world.ann.id, "Ann Example")]
    assert stored(contract.id).status == "final"  # one signature is not enough

    joint.sign_contract(world.ben, contract, "Ben Example")
    assert signatures(version) == [(world.ann.id, "Ann Example"), (world.ben.id, "Ben Example")]
    saved = stored(contract.id)
    assert saved.status == "signed"
    assert [t.to_status for t in hw.transitions(saved)] == ["draft", "final", "signed"]
    assert len(audit_events("homework.contract_signed")) == 2
    (finalized,) = audit_events("homework.contract_finalized")
    assert finalized.details == {"version": 1}


def test_signing_twice_is_a_no_op(world):
    contract = contract_for(world, CONTRACT)
    version = joint.finalize_contract(world.therapist, contract)
    joint.sign_contract(world.ann, contract, "Ann")
    joint.sign_contract(world.ann, contract, "Ann again")
    assert signatures(version) == [(world.ann.id, "Ann")]
    assert len(audit_events("homework.contract_signed")) == 1
    assert stored(contract.id).status == "final"


def test_signing_needs_a_typed_name_and_a_final_version(world):
    contract = contract_for(world, CONTRACT)
    with pytest.raises(DomainError):
        joint.sign_contract(world.ann, contract, "Ann")  # not final yet
    version = joint.finalize_contract(world.therapist, contract)
    with pytest.raises(DomainError) as raised:
        joint.sign_contract(world.ann, contract, "   ")
    assert raised.value.field == "typed_name"
    with pytest.raises(DomainError):
        joint.sign_contract(world.cy, contract, "Cy")  # another couple's partner
    assert signatures(version) == []


@pytest.mark.parametrize("signed_by", [(), ("ann",), ("ann", "ben")], ids=["0", "1", "2"])
def test_a_final_contract_cannot_be_edited(world, signed_by):
    contract = contract_for(world, CONTRACT)
    final = joint.finalize_contract(world.therapist, contract)
    for name in signed_by:
        joint.sign_contract(getattr(world, name), contract, name.title())
    before = (contract.version, dict(contract.content), contract.status)

    edited = dict(CONTRACT, support="A walk together after dinner.")
    for partner in (world.ann, world.ben):
        with pytest.raises(DomainError) as raised:
            hw.save_draft(partner, contract, content=edited, base_version=contract.version)
        assert "no longer open for changes" in raised.value.message
        assert not hw.partner_can_edit(partner, contract)

    saved = stored(contract.id)
    assert (saved.version, saved.content, saved.status) == before
    assert joint.current_contract(saved).id == final.id
    assert [name for _, name in signatures(final)] == [name.title() for name in signed_by]
    assert [t.to_status for t in hw.transitions(saved)][-1] == before[2]


def test_a_contract_the_therapist_returns_becomes_a_new_version_both_sign_again(world):
    ann, ben = world.ann, world.ben
    contract = contract_for(world, CONTRACT)
    first = joint.finalize_contract(world.therapist, contract)
    joint.sign_contract(ann, contract, "Ann")
    joint.sign_contract(ben, contract, "Ben")
    assert contract.status == "signed"

    hw.return_for_revision(world.therapist, contract, "Say what support looks like at work.")
    edited = dict(CONTRACT, support="A walk together after dinner.")
    hw.save_draft(ben, contract, content=edited, base_version=contract.version)

    saved = stored(contract.id)
    assert saved.status == "returned"
    assert saved.content["support"] == "A walk together after dinner."
    # Until the therapist marks the new text final, the signed version stands as it was.
    assert joint.current_contract(saved).id == first.id
    assert db.session.get(ContractVersion, first.id).content == CONTRACT

    second = joint.finalize_contract(world.therapist, saved)
    assert second.number == 2
    assert second.content["support"] == "A walk together after dinner."
    assert saved.status == "final"
    assert signatures(second) == []
    assert db.session.get(ContractVersion, first.id).superseded_at is not None

    joint.sign_contract(ann, saved, "Ann")
    assert stored(contract.id).status == "final"
    joint.sign_contract(ben, saved, "Ben")
    assert stored(contract.id).status == "signed"

    versions = joint.contract_versions(saved)
    assert [v.number for v in versions] == [2, 1]
    assert [v.content["support"] for v in versions] == [
        "A walk together after dinner.",
        CONTRACT["support"],
    ]
    assert [len(signatures(v)) for v in versions] == [2, 2]
    assert versions[0].superseded_at is None
    assert versions[1].superseded_at is not None
    assert [t.to_status for t in hw.transitions(saved)] == [
        "draft",
        "final",
        "signed",
        "returned",
        "final",
        "signed",
    ]


def test_a_completed_contract_cannot_be_edited(world):
    contract = contract_for(world, CONTRACT)
    joint.finalize_contract(world.therapist, contract)
    joint.sign_contract(world.ann, contract, "Ann")
    joint.sign_contract(world.ben, contract, "Ben")
    hw.mark_completed(world.therapist, contract)
    with pytest.raises(DomainError):
        hw.save_draft(world.ann, contract, content=CONTRACT, base_version=contract.version)
    assert len(joint.contract_versions(contract)) == 1
    assert joint.current_contract(contract) is not None


def test_only_a_repair_contract_is_finalized(world):
    window = window_for(world, WINDOW)
    with pytest.raises(DomainError):
        joint.finalize_contract(world.therapist, window)
    assert db.session.scalars(select(ContractVersion)).all() == []


def test_contract_content_is_validated(world):
    contract = contract_for(world)
    too_many = dict(CONTRACT, commitments_1=["a", "b", "c", "d"])
    for content in (too_many, dict(CONTRACT, revisit_date="next month"), dict(CONTRACT, x="y")):
        with pytest.raises(hw.InvalidContent):
            hw.save_draft(world.ann, contract, content=content, base_version=0)
    assert stored(contract.id).version == 0
    assert get_kind("repair_contract").check_complete(CONTRACT) == {}


def test_every_contract_version_stays_readable_on_the_review_page(world, client):
    contract = contract_for(world, CONTRACT)
    joint.finalize_contract(world.therapist, contract)
    joint.sign_contract(world.ann, contract, "Ann")
    hw.return_for_revision(world.therapist, contract, "Add what support looks like at work.")
    edited = dict(CONTRACT, support="A walk together after dinner.")
    hw.save_draft(world.ben, contract, content=edited, base_version=contract.version)
    joint.finalize_contract(world.therapist, contract)
    email, couple_id, response_id = world.therapist.email, world.couple.id, contract.id
    db.session.commit()

    client.login(email)
    page = client.get(f"/couples/{couple_id}/homework/{response_id}").get_data(as_text=True)
    assert "Text of version 1" in page and "Text of version 2" in page
    assert CONTRACT["support"] in page  # the signed first version, as it was
    assert "A walk together after dinner." in page
    assert "signed by “Ann”" in page
