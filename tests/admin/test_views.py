"""Administration: user accounts and the trash."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from werkzeug.security import check_password_hash

from crm.access import Role
from crm.extensions import db
from crm.models import AuditEvent, Organisation, Stakeholder, User
from tests.conftest import PASSWORD, sign_in

NEW_PASSWORD = "a fresh initial secret"


def _new_user(**over: str) -> dict[str, str]:
    data = {
        "email": "li.na@example.org",
        "name": "Li Na 李娜",
        "role": "coordinator",
        "locale": "zh",
        "password": NEW_PASSWORD,
    }
    data.update(over)
    return data


def _user_count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(User))


def _edit_form(client, user_id: int, **over: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The edit form as the page shows it (with its version), changed by `over`."""
    page = client.get(f"/admin/users/{user_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    assert version, "the edit form carries no version"
    data = {
        "version": version.group(1),
        "name": re.search(r'id="name"[^>]*value="([^"]*)"', page).group(1),
        "role": re.search(r'<option selected value="(\w+)">', page).group(1),
        "locale": "en",
        "is_enabled": "y",
    }
    data.update(over)
    return {key: value for key, value in data.items() if value is not None}


def _field_errors(page: str, field_id: str) -> str:
    """The error text shown under one field (empty when the field is valid)."""
    at = page.index(f'id="{field_id}"')
    block_start = page.rindex('<div class="mb-3', 0, at)
    ends = [i for i in (page.find('<div class="mb-3', at), page.find("</form>", at)) if i != -1]
    block = page[block_start : min(ends)]
    errors = re.findall(r'<div class="invalid-feedback[^"]*">([^<]*)</div>', block)
    assert bool(errors) == ("is-invalid" in block), "error text and field highlight disagree"
    return " ".join(e.strip() for e in errors)


# --- Users ------------------------------------------------------------------------------------


def test_admin_can_list_users(login_as, make_user):
    make_user(Role.viewer, name="Observer Olga", email="olga@example.org")
    make_user(Role.manager, name="Manager Ming", is_enabled=False)
    response = login_as(Role.admin).get("/admin/users")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Observer Olga" in page and "olga@example.org" in page and "Viewer" in page
    assert "Manager Ming" in page and "deactivated" in page


def test_admin_can_create_a_user(app, login_as, in_app):
    admin = login_as(Role.admin)
    response = admin.post("/admin/users/new", data=_new_user(email=" Li.Na@Example.org "))
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "User li.na@example.org created." in page
    assert "Li Na 李娜" in page
    with in_app():
        user = db.session.scalar(db.select(User).where(User.email == "li.na@example.org"))
        assert user.role == Role.coordinator and user.locale == "zh" and user.is_enabled
        assert check_password_hash(user.password_hash, NEW_PASSWORD)
        event = db.session.scalar(
            db.select(AuditEvent).where(
                AuditEvent.entity_type == "users", AuditEvent.entity_id == user.id
            )
        )
        assert event.action == "create" and event.actor_id == admin.user.id
    assert sign_in(app.test_client(), "li.na@example.org", NEW_PASSWORD).status_code == 302


def test_admin_cannot_create_a_second_user_with_the_same_email(login_as, make_user, in_app):
    make_user(Role.member, email="li.na@example.org")
    admin = login_as(Role.admin)
    with in_app():
        before = _user_count()
    response = admin.post(
        "/admin/users/new", data=_new_user(email="LI.NA@example.org", name="Second Li")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _field_errors(page, "email") == "A user with this email already exists."
    assert _field_errors(page, "name") == ""
    assert 'value="LI.NA@example.org"' in page and 'value="Second Li"' in page
    assert '<option selected value="coordinator">' in page
    with in_app():
        assert _user_count() == before
        assert db.session.scalar(db.select(User).where(User.name == "Second Li")) is None


def test_admin_cannot_create_a_user_with_a_short_password(login_as, in_app):
    admin = login_as(Role.admin)
    response = admin.post("/admin/users/new", data=_new_user(password="short"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _field_errors(page, "password") == "Use at least 12 characters."
    assert 'value="li.na@example.org"' in page
    with in_app():
        assert db.session.scalar(db.select(User).where(User.email == "li.na@example.org")) is None


def test_admin_cannot_create_a_user_with_a_bad_email_or_role(login_as, in_app):
    admin = login_as(Role.admin)
    response = admin.post(
        "/admin/users/new", data=_new_user(email="not an email", role="superuser")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Invalid email address." in _field_errors(page, "email")
    assert _field_errors(page, "role") == "Not a valid choice."
    with in_app():
        assert _user_count() == 1


def test_admin_can_change_a_users_role(login_as, make_organisation, in_app):
    org = make_organisation(display_name="Alpha Textiles")
    member = login_as(Role.member)
    assert member.get(f"/organisations/{org.id}/delete").status_code == 403
    admin = login_as(Role.admin)
    response = admin.post(
        f"/admin/users/{member.user.id}/edit",
        data=_edit_form(admin, member.user.id, role="coordinator", name="Promoted Member"),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    page = admin.get("/admin/users").get_data(as_text=True)
    assert f"User {member.user.email} saved." in page
    assert "Promoted Member" in page and "Coordinator" in page
    with in_app():
        user = db.session.get(User, member.user.id)
        assert user.role == Role.coordinator and user.name == "Promoted Member"
    # The new role applies to the user's open session at once.
    assert member.get(f"/organisations/{org.id}/delete").status_code == 200


def test_admin_cannot_save_over_a_newer_version_of_a_user(login_as, make_user, in_app):
    target = make_user(Role.viewer, name="Observer Olga")
    admin, other_admin = login_as(Role.admin), login_as(Role.admin)
    stale = _edit_form(admin, target.id, role="member")
    assert (
        other_admin.post(
            f"/admin/users/{target.id}/edit",
            data=_edit_form(other_admin, target.id, role="manager"),
        ).status_code
        == 302
    )
    response = admin.post(f"/admin/users/{target.id}/edit", data=stale)
    assert response.status_code == 409  # a conflict, shown as on every other record's page
    assert "Someone else changed this user" in response.get_data(as_text=True)
    with in_app():
        assert db.session.get(User, target.id).role == Role.manager


def test_admin_can_deactivate_a_user_and_end_their_session(login_as, in_app):
    member = login_as(Role.member)
    admin = login_as(Role.admin)
    response = admin.post(
        f"/admin/users/{member.user.id}/edit",
        data=_edit_form(admin, member.user.id, is_enabled=None),
    )
    assert response.status_code == 302
    assert "deactivated" in admin.get("/admin/users").get_data(as_text=True)
    with in_app():
        assert db.session.get(User, member.user.id).is_enabled is False
    response = member.get("/")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert sign_in(member, member.user.email).status_code == 400


@pytest.mark.parametrize(
    ("change", "what"), [({"role": "manager"}, "role"), ({"is_enabled": None}, "active")]
)
def test_admin_cannot_demote_or_deactivate_themselves(login_as, in_app, change, what):
    admin = login_as(Role.admin)
    response = admin.post(
        f"/admin/users/{admin.user.id}/edit", data=_edit_form(admin, admin.user.id, **change)
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert (
        _field_errors(page, "role")
        == "You cannot remove your own administrator rights or disable yourself."
    )
    with in_app():
        user = db.session.get(User, admin.user.id)
        assert user.role == Role.admin and user.is_enabled
    assert admin.get("/admin/users").status_code == 200


def test_admin_can_reset_a_users_password(app, login_as, make_user, in_app):
    target = make_user(Role.viewer, email="olga@example.org")
    admin = login_as(Role.admin)
    response = admin.post(
        f"/admin/users/{target.id}/password", data={"reset-password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "Password of olga@example.org reset; their other sessions are signed out." in page
    assert sign_in(app.test_client(), target.email, PASSWORD).status_code == 400
    assert sign_in(app.test_client(), target.email, NEW_PASSWORD).status_code == 302
    with in_app():
        event = db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.entity_type == "users", AuditEvent.entity_id == target.id)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event.actor_id == admin.user.id and "password" in event.changes


def test_admin_cannot_reset_a_password_to_a_short_one(login_as, make_user, in_app):
    target = make_user(Role.viewer)
    admin = login_as(Role.admin)
    response = admin.post(f"/admin/users/{target.id}/password", data={"reset-password": "short"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _field_errors(page, "reset-password") == "Use at least 12 characters."
    with in_app():
        assert check_password_hash(db.session.get(User, target.id).password_hash, PASSWORD)


def test_admin_cannot_edit_an_unknown_user(login_as):
    admin = login_as(Role.admin)
    assert admin.get("/admin/users/999999/edit").status_code == 404
    assert admin.post("/admin/users/999999/password", data={}).status_code == 404


@pytest.mark.parametrize("role", [Role.viewer, Role.member, Role.coordinator, Role.manager])
def test_non_admin_cannot_manage_users(login_as, make_user, in_app, role):
    target = make_user(Role.viewer)
    client = login_as(role)
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/users/new", data=_new_user(role="admin")).status_code == 403
    response = client.post(
        f"/admin/users/{target.id}/edit",
        data={"version": "1", "name": "Hijacked", "role": "admin", "locale": "en"},
    )
    assert response.status_code == 403
    assert "Your role does not allow this action." in response.get_data(as_text=True)
    assert (
        client.post(
            f"/admin/users/{target.id}/password", data={"reset-password": NEW_PASSWORD}
        ).status_code
        == 403
    )
    with in_app():
        assert db.session.scalar(db.select(User).where(User.email == "li.na@example.org")) is None
        user = db.session.get(User, target.id)
        assert user.role == Role.viewer and user.name != "Hijacked"
        assert check_password_hash(user.password_hash, PASSWORD)


def test_admin_sees_the_admin_menu_and_others_do_not(login_as):
    assert 'href="/admin/users"' in login_as(Role.admin).get("/").get_data(as_text=True)
    assert 'href="/admin/users"' not in login_as(Role.manager).get("/").get_data(as_text=True)


# --- Trash ------------------------------------------------------------------------------------


def test_admin_can_restore_what_a_coordinator_deleted(login_as, make_organisation, in_app):
    org = make_organisation(display_name="Alpha Textiles", chinese_name="阿尔法纺织")
    coordinator = login_as(Role.coordinator)
    assert coordinator.post(f"/organisations/{org.id}/delete").status_code == 302
    assert "moved to the trash" in coordinator.get("/organisations").get_data(as_text=True)
    assert "Alpha Textiles" not in coordinator.get("/organisations").get_data(as_text=True)

    admin = login_as(Role.admin)
    trash = admin.get("/trash")
    assert trash.status_code == 200
    page = trash.get_data(as_text=True)
    assert "Alpha Textiles" in page and "阿尔法纺织" in page
    assert f'action="/trash/{org.id}/restore"' in page

    response = admin.post(f"/trash/{org.id}/restore")
    assert response.status_code == 302
    assert response.headers["Location"] == "/trash"
    page = admin.get("/trash").get_data(as_text=True)
    assert "“Alpha Textiles” restored." in page and "The trash is empty." in page
    assert "Alpha Textiles" in coordinator.get("/organisations").get_data(as_text=True)
    assert coordinator.get(f"/organisations/{org.id}").status_code == 200
    with in_app():
        assert db.session.get(Organisation, org.id).deleted_at is None
        actions = db.session.scalars(
            db.select(AuditEvent.action)
            .where(AuditEvent.entity_type == "organisations", AuditEvent.entity_id == org.id)
            .order_by(AuditEvent.id)
        ).all()
        assert actions[-2:] == ["delete", "restore"]


def test_admin_can_purge_a_trashed_record_for_good(login_as, make_organisation, in_app):
    kept = make_organisation(display_name="Alpha Textiles")
    purged = make_organisation(display_name="Beta Electronics")
    coordinator = login_as(Role.coordinator)
    for org in (kept, purged):
        assert coordinator.post(f"/organisations/{org.id}/delete").status_code == 302
    admin = login_as(Role.admin)
    response = admin.post(f"/trash/{purged.id}/purge")
    assert response.status_code == 302
    assert response.headers["Location"] == "/trash"
    page = admin.get("/trash").get_data(as_text=True)
    assert "“Beta Electronics” deleted for good." in page
    assert f'action="/trash/{kept.id}/restore"' in page
    assert f'action="/trash/{purged.id}/restore"' not in page
    with in_app():
        assert db.session.get(Stakeholder, purged.id) is None
        assert db.session.get(Organisation, kept.id).deleted_at is not None


def test_admin_cannot_purge_or_restore_a_live_record(login_as, make_organisation, in_app):
    org = make_organisation(display_name="Alpha Textiles")
    admin = login_as(Role.admin)
    response = admin.post(f"/trash/{org.id}/purge")
    assert response.status_code == 422
    assert "Only records in the trash can be purged." in response.get_data(as_text=True)
    response = admin.post(f"/trash/{org.id}/restore")
    assert response.status_code == 422
    assert "This record is not in the trash." in response.get_data(as_text=True)
    assert admin.post("/trash/999999/purge").status_code == 404
    with in_app():
        assert db.session.get(Organisation, org.id).deleted_at is None


@pytest.mark.parametrize("role", [Role.viewer, Role.member, Role.coordinator, Role.manager])
def test_non_admin_cannot_see_restore_or_purge_the_trash(login_as, make_organisation, in_app, role):
    org = make_organisation(display_name="Alpha Textiles")
    assert login_as(Role.coordinator).post(f"/organisations/{org.id}/delete").status_code == 302
    client = login_as(role)
    assert client.get("/trash").status_code == 403
    assert client.post(f"/trash/{org.id}/restore").status_code == 403
    assert client.post(f"/trash/{org.id}/purge").status_code == 403
    with in_app():
        assert db.session.get(Organisation, org.id).deleted_at is not None
