"""Hostile and odd input never causes a server error, and invalid input never creates anything."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from tests import factories
from webapp import db
from webapp.auth.models import LoginFailure
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant

# Fixtures are shared by every example of a test: each example cleans what it depends on.
fuzz = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text that tends to break things: NUL and other controls, odd Unicode, very long strings.
odd_text = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1),
    st.sampled_from(["\x00", "a\x00b@acme.test", "\u202eadmin", "' OR '1'='1", "%00",
                     "\U0001d52d\U0001d51e\U0001d52f", "e\u0301", "\ufeff", "\r\n",
                     "../../etc/passwd"]),
    st.text(min_size=1, max_size=30).map(lambda t: (t * 10_000)[:10_000]),
)

HOSTILE_SLUGS = ["../x", "..", "Acme", "ACME", "a" * 200, "acme'; DROP TABLE tenants; --",
                 'a"b', "ac\x00me", "acme\x00", "a/b", "a\\b", "-acme", "acme-", "1acme", "a",
                 "acme ", " acme", "acmé", "t_acme", "admin", "ops", "static", "%2e%2e", ""]


def tenant_count() -> int:
    return db.session().scalar(select(func.count()).select_from(Tenant))


@fuzz
@given(email=odd_text, password=odd_text)
@example(email="ada@acme.test\x00", password="x")
@example(email="x" * 10_000, password="y" * 10_000)
def test_login_form_never_fails_on_odd_text(app, client, email, password):
    with app.app_context():  # keep throttling out of the way, to reach the database each time
        db.session().execute(delete(LoginFailure))
        db.commit()
    response = client.post("/login", data={"email": email, "password": password})
    if "\x00" in email + password:
        assert response.status_code == 400
    else:
        assert response.status_code == 422
    assert response.mimetype == "text/html"


@fuzz
@given(next_path=odd_text)
def test_login_page_and_language_switch_take_any_next(client, next_path):
    expected = 400 if "\x00" in next_path else 200
    assert client.get("/login", query_string={"next": next_path}).status_code == expected
    response = client.post("/language", data={"lang": "en", "next": next_path})
    if "\x00" in next_path:
        assert response.status_code == 400
    else:
        assert response.status_code == 303
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\"))


@pytest.mark.parametrize("slug", HOSTILE_SLUGS)
def test_hostile_slugs_are_refused_with_a_reason_and_create_nothing(ctx, tenant_storage, slug):
    before = tenant_storage()
    with pytest.raises(org_services.TenantError) as refused:
        org_services.create(db.session(), slug=slug, name="Hostile")
    assert refused.value.field == "slug"
    assert str(refused.value)  # a translated, user-facing reason
    db.commit()
    assert tenant_count() == 2
    assert tenant_storage() == before


@fuzz
@given(slug=st.one_of(odd_text, st.sampled_from(HOSTILE_SLUGS)))
def test_any_text_as_a_slug_is_checked_before_use(app, tenant_storage, slug):
    before = tenant_storage()
    with app.app_context():
        try:
            checked = org_services.check_slug(slug)
        except org_services.TenantError:
            with pytest.raises(org_services.TenantError):
                org_services.create(db.session(), slug=slug, name="Fuzz")
            assert org_services.get(db.session(), slug) is None
        else:
            assert checked == slug  # only ever a valid slug, unchanged
            assert slug.isascii() and slug.islower() and len(slug) <= 41
        db.commit()
        assert tenant_count() == 2
    assert tenant_storage() == before


def url_answer(status: int, slug: str) -> bool:
    """A 404, or (for text holding a "/", which is then two path segments) werkzeug's 308
    redirect that merges the resulting "//"."""
    return status == 404 or (status == 308 and "/" in slug)


@fuzz
@given(slug=st.one_of(odd_text, st.sampled_from(HOSTILE_SLUGS)))
def test_any_text_in_a_tenant_url_is_404(client, slug):
    if slug in ("acme", "globex"):
        return
    for path in (f"/t/{quote(slug, safe='')}/", f"/t/{quote(slug, safe='')}/admin/participants"):
        assert url_answer(client.get(path).status_code, slug), path


@pytest.fixture
def operator(app, client):  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.account("ops@parvis.test", operator_role="admin")
    assert factories.login(client, "ops@parvis.test").status_code == 303
    return client


@fuzz
@given(slug=st.one_of(odd_text, st.sampled_from(HOSTILE_SLUGS)))
def test_any_text_in_a_console_url_is_404(operator, slug):
    if slug in ("acme", "globex"):
        return
    response = operator.post(f"/ops/tenants/{quote(slug, safe='')}/status",
                             data={"status": "suspended"})
    assert url_answer(response.status_code, slug)


invisible = st.characters(categories=["Cc", "Cf", "Co", "Zl", "Zp"])


@fuzz
@given(before=st.text(max_size=20), bad=invisible, after=st.text(max_size=20))
def test_tenant_name_with_control_characters_is_refused(ctx, before, bad, after):
    with pytest.raises(org_services.TenantError) as refused:
        org_services.check_name(f"Acme {before}{bad}{after} Corp")
    assert refused.value.field == "name"
    with force_locale("en"):
        assert "control characters" in str(refused.value)


@pytest.mark.parametrize("name", ["Société Générale", "Les Amis du 7e art", "Ørsted A/S",
                                  "東京イベント", "Café\u00a0Paris", "Acme (Europe)"])
def test_ordinary_tenant_names_are_accepted(ctx, name):
    assert org_services.check_name(f"  {name} ") == name
