"""The truth conversation's kind: a part for each repair role, its shape kept by every save,
and a coach that reads the partner who broke trust with the apology's excuse and blame rules
while leaving the hurt partner's questions alone."""

from __future__ import annotations

import pytest

from practice.homework import ContentError, get_kind

KIND = get_kind("truth_conversation")


def codes(content: dict) -> list[tuple[str, str | None]]:
    return [(finding.code, finding.part) for finding in KIND.coach(content)]


def test_each_role_gets_its_own_part_and_a_couple_needs_both_roles():
    assert KIND.empty_for("hurt") == {"part": "hurt", "questions": "", "to_feel_safe": ""}
    assert KIND.empty_for("broke_trust") == {
        "part": "broke_trust",
        "what_happened": "",
        "why": "",
        "prevention": "",
    }
    assert KIND.assign_problem(["hurt", "broke_trust"]) is None
    assert KIND.assign_problem(["broke_trust", "hurt"]) is None
    for roles in (["mutual", "mutual"], ["hurt", "hurt"], ["hurt", "mutual"], ["hurt"]):
        assert "role" in KIND.assign_problem(roles)


def test_a_save_keeps_the_assigned_part_and_a_field_of_the_other_part_is_named():
    current = KIND.empty_for("hurt")
    typed = {"part": "broke_trust", "questions": "Why?", "to_feel_safe": "A pause word."}
    assert KIND.clean(KIND.merge_edit(current, typed, position=1)) == {
        "part": "hurt",
        "questions": "Why?",
        "to_feel_safe": "A pause word.",
    }
    with pytest.raises(ContentError) as refused:
        KIND.clean(KIND.merge_edit(current, {"what_happened": "All of it."}, position=1))
    assert refused.value.errors == {"what_happened": "Unknown field."}
    with pytest.raises(ContentError):
        KIND.clean({"part": "someone else", "questions": ""})


@pytest.mark.parametrize(
    ("field", "text", "code"),
    [
        ("why", "It happened because I was drunk at the party.", "excuse"),
        ("why", "You made me feel so alone that I looked elsewhere.", "you-made-me"),
        ("why", "We both made mistakes that year.", "false-symmetry"),
        ("what_happened", "It just happened at the conference in May, twice.", "passive"),
        ("what_happened", "I messaged her because you were never home that spring.", "blame-other"),
    ],
)
def test_the_partner_who_broke_trust_is_coached_with_the_apology_rules(field, text, code):
    content = KIND.empty_for("broke_trust") | {field: text}
    assert (code, field) in codes(content)


def test_an_owned_account_with_a_dated_plan_gets_no_flag():
    content = {
        "part": "broke_trust",
        "what_happened": "I met him four times between March and May and lied about where I was.",
        "why": "I wanted to feel wanted and I chose to hide it instead of telling you.",
        "prevention": "I will tell you within a day of any contact and show you my phone "
        "every Sunday.",
    }
    assert [f for f in KIND.coach(content) if f.level != "tip"] == []
    assert KIND.check_complete(content) == {}


def test_the_hurt_partners_questions_are_never_flagged():
    content = {
        "part": "hurt",
        "questions": "Was it because you were drunk?\nDid you do it because of me?\n"
        "Do you think we both made mistakes?",
        "to_feel_safe": "A pause word and a break after half an hour.",
    }
    assert [f for f in KIND.coach(content) if f.level == "flag"] == []


def test_missing_parts_and_a_plan_with_no_when_are_named():
    content = KIND.empty_for("broke_trust") | {"prevention": "I will be more honest with you."}
    found = codes(content)
    assert ("missing-part", "what_happened") in found and ("missing-part", "why") in found
    assert ("prevention-not-concrete", "prevention") in found
    assert set(KIND.check_complete(content)) == {"what_happened", "why"}
    one = KIND.empty_for("hurt") | {
        "questions": "Who knew?",
        "to_feel_safe": "A pause word, please.",
    }
    assert ("one-question", "questions") in codes(one)


def test_summaries_print_each_kind_as_it_reads_not_its_field_names():
    from practice.homework import get_kind
    from practice.services.reports import excerpt

    sheet = {
        "proposals": [
            {
                "domain": "social_media",
                "agreement": "No private messages with exes.",
                "time_frame": "for three months",
                "review_date": "2027-03-01",
            },
            {"domain": "privacy", "agreement": "", "time_frame": "", "review_date": ""},
        ]
    }
    printed = excerpt(get_kind("boundaries").printable(sheet))
    assert printed == "Social media: No private messages with exes. (for three months)"
    part = KIND.empty_for("hurt") | {"questions": "Who knew?"}
    assert excerpt(KIND.printable(part)) == "Who knew?"  # not the part's name
    assert get_kind("processing_window").prints_whole and KIND.prints_whole


def test_the_coach_speaks_of_this_part_not_of_an_apology():
    content = KIND.empty_for("broke_trust") | {
        "why": "Because you were never home, and we both made mistakes.",
    }
    messages = [f.message for f in KIND.coach(content) if f.level == "flag"]
    assert len(messages) == 2
    assert all("apology" not in message.lower() for message in messages)
