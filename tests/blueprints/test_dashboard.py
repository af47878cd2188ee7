"""The dashboard's getting-started list tells the truth about what was done."""

from __future__ import annotations

import re

from practice.extensions import db
from tests.factories import OwnerFactory


def _policy_item(html: str) -> str:
    match = re.search(r'<li class="([^"]*)">\s*<a href="/settings/practice">', html)
    assert match, "the checklist links to the practice settings"
    return match.group(1)


def test_the_secrets_policy_counts_as_reviewed_only_once_saved(client):
    owner = OwnerFactory()
    email = owner.email
    db.session.commit()
    client.login(email)

    page = client.get("/dashboard").get_data(as_text=True)
    assert _policy_item(page) == ""
    assert "Your caseload is empty" in page

    form = client.get("/settings/practice").get_data(as_text=True)
    text = re.search(r"<textarea[^>]*>\s*(.*?)</textarea>", form, re.S).group(1)
    response = client.post_form(
        "/settings/practice",
        {
            "name": "Renamed practice",
            "time_zone": "Europe/London",
            "secrets_policy": "limited_secrets",
            "secrets_policy_text": text,
        },
    )
    assert response.status_code == 302

    page = client.get("/dashboard").get_data(as_text=True)
    assert _policy_item(page) == "done"
    assert "Renamed practice" in page
