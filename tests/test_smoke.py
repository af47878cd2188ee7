from tests.factories import OwnerFactory


def test_owner_signs_in_and_sees_dashboard(client):
    owner = OwnerFactory()
    from practice.extensions import db

    db.session.commit()
    client.login(owner.email)
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert owner.practice.name in response.get_data(as_text=True)
