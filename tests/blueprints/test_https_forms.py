"""Forms over https, as production serves them: every page asks browsers to send no Referer
(a partner's link holds a token), so a form posted over https carries none, and must still be
accepted on its CSRF token alone; without the token it is refused."""

from __future__ import annotations

from practice.extensions import db
from tests.factories import OwnerFactory

# The test client's own host, over https: the session cookie holding the token goes along.
HTTPS = {"base_url": "https://localhost"}


def test_a_form_posted_over_https_without_a_referer_is_accepted_on_its_token(client):
    OwnerFactory(email="owner@example.com")
    db.session.commit()
    response = client.post_form(
        "/login",
        {"email": "owner@example.com", "password": "correct horse battery"},
        **HTTPS,
    )
    assert "Referer" not in response.request.headers
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")


def test_a_form_posted_over_https_without_its_token_is_refused(client):
    OwnerFactory(email="owner@example.com")
    db.session.commit()
    response = client.post(
        "/login",
        data={"email": "owner@example.com", "password": "correct horse battery"},
        **HTTPS,
    )
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
