"""Donor indicators in the trash: a manager deletes one, an administrator restores or purges
it; a restore never gives two live indicators the same code."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import AuditEvent, Indicator, IndicatorTarget, User
from crm.services.reporting import indicators


def _create(app, actor, **over):  # type: ignore[no-untyped-def]
    data = {
        "code": "1.1",
        "name": "Enterprises trained on due diligence",
        "name_zh": "接受尽责管理培训的企业数量",
        "unit": "enterprises",
        "metric": "enterprises_trained",
        "disaggregations": ["sector"],
        "baseline": "0",
        "targets": [{"year": 2026, "target": "15"}, {"year": 2027, "target": "30"}],
    }
    data.update(over)
    with app.app_context():
        return indicators.create(data, actor=db.session.get(User, actor.id)).id


@pytest.fixture
def indicator(app, actor):  # type: ignore[no-untyped-def]
    return _create(app, actor)


def test_a_deleted_indicator_can_be_restored_by_an_administrator(login_as, indicator, in_app):
    manager = login_as(Role.manager)
    assert manager.post(f"/reports/indicators/{indicator}/delete").status_code == 302
    listed = manager.get("/reports/indicators").get_data(as_text=True)
    assert "moved to the trash" in listed  # the flash message names it once
    assert f'href="/reports/indicators/{indicator}"' not in listed

    admin = login_as(Role.admin)
    page = admin.get("/trash").get_data(as_text=True)
    assert f'data-testid="trash-indicator-{indicator}"' in page
    assert "1.1 Enterprises trained on due diligence" in page and "Donor indicator" in page
    restored = admin.post(f"/trash/{indicator}/restore?kind=indicator", follow_redirects=True)
    assert "“1.1 Enterprises trained on due diligence” restored." in restored.get_data(as_text=True)
    listed = manager.get("/reports/indicators").get_data(as_text=True)
    assert f'href="/reports/indicators/{indicator}"' in listed
    with in_app():
        assert db.session.get(Indicator, indicator).deleted_at is None
        actions = db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.entity_type == "indicators", AuditEvent.entity_id == indicator)
            .order_by(AuditEvent.id)
        ).all()
        assert actions == ["create", "delete", "restore"]


def test_a_restore_that_would_duplicate_a_code_is_refused(app, actor, login_as, indicator, in_app):
    assert login_as(Role.manager).post(f"/reports/indicators/{indicator}/delete").status_code == 302
    newer = _create(app, actor, name="Enterprises trained (revised)")
    response = login_as(Role.admin).post(f"/trash/{indicator}/restore?kind=indicator")
    assert response.status_code == 422
    assert "Another indicator has the code 1.1." in response.get_data(as_text=True)
    with in_app():
        assert db.session.get(Indicator, indicator).deleted_at is not None
        assert db.session.get(Indicator, newer).deleted_at is None


def test_purging_an_indicator_removes_it_and_its_targets(login_as, indicator, in_app):
    assert login_as(Role.manager).post(f"/reports/indicators/{indicator}/delete").status_code == 302
    admin = login_as(Role.admin)
    assert admin.post(f"/trash/{indicator}/purge?kind=indicator").status_code == 302
    assert f"trash-indicator-{indicator}" not in admin.get("/trash").get_data(as_text=True)
    with in_app():
        assert db.session.get(Indicator, indicator) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(IndicatorTarget)) == 0
        last = db.session.scalar(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == "indicators")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
        assert last.action == "purge"


@pytest.mark.parametrize("role", [Role.viewer, Role.member, Role.coordinator, Role.manager])
def test_only_administrators_restore_or_purge_indicators(login_as, indicator, in_app, role):
    assert login_as(Role.manager).post(f"/reports/indicators/{indicator}/delete").status_code == 302
    client = login_as(role)
    assert client.post(f"/trash/{indicator}/restore?kind=indicator").status_code == 403
    assert client.post(f"/trash/{indicator}/purge?kind=indicator").status_code == 403
    with in_app():
        assert db.session.get(Indicator, indicator).deleted_at is not None
