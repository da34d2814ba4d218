from tests import factories


def test_tenant_home_page(client):
    response = client.get("/t/acme/")
    assert response.status_code == 200
    assert "Acme" in response.get_data(as_text=True)


def test_member_sees_own_participants(app, client):
    with app.app_context():
        factories.member("acme", "owner@acme.test")
        factories.participant("acme", "ada@acme.test", first_name="Ada", last_name="Lovelace")
    assert factories.login(client, "owner@acme.test").status_code == 303
    page = client.get("/t/acme/admin/participants").get_data(as_text=True)
    assert "Lovelace" in page
