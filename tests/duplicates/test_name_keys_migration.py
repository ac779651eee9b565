"""The migration that re-derives name keys (people in either order, organisations without
group words) gives every stored record the keys the application derives, and back."""

from __future__ import annotations

import flask_migrate
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app

from crm.access import Role
from crm.extensions import db
from crm.models import Stakeholder, User
from crm.services import stakeholders

MIGRATION = "9e4f1a6c2d57"  # migrations/versions/20261202_9e4f1a6c2d57_name_keys_either_order.py

PEOPLE = {
    # name fields: (key before, key after)
    ("王芳", None, None): ("wangfang", "fangwang"),
    (None, "Fang", "Wang"): ("fangwang", "fangwang"),
    ("欧阳娜娜", None, None): ("ouyangnana", "nanaouyang"),
    (None, "Li", "Anna"): ("lianna", "annali"),
}
ORGANISATIONS = {
    "申洲国际集团控股有限公司": ("申洲国际集团控股", "申洲国际"),
    "Harmony Garments Group Holdings Ltd.": ("harmonygarmentsgroupholdings", "harmonygarments"),
    "Bright Electronics Co., Ltd.": ("brightelectronics", "brightelectronics"),
}


def test_the_migration_rederives_name_keys_both_ways(migrated_app):
    with migrated_app.app_context():
        admin = User(email="admin@example.org", name="Admin", role=Role.admin, password_hash="x")
        admin.session_token = "t"
        db.session.add(admin)
        db.session.commit()
        ids = {}
        for chinese, family, given in PEOPLE:
            data = {"chinese_name": chinese, "family_name": family, "given_name": given}
            person = stakeholders.create_person(data, actor=admin, allow_duplicate=True)
            ids[(chinese, family, given)] = person.id
        for name in ORGANISATIONS:
            data = {"display_name": name, "org_type": "enterprise"}
            ids[name] = stakeholders.create_organisation(data, actor=admin).id
        config = current_app.extensions["migrate"].migrate.get_config()
        before = ScriptDirectory.from_config(config).get_revision(MIGRATION).down_revision
        expected = PEOPLE | ORGANISATIONS

        def keys() -> dict[object, str | None]:
            db.session.remove()
            rows = db.session.execute(sa.select(Stakeholder.id, Stakeholder.match_key)).all()
            found = {record_id: key for record_id, key in rows}
            return {name: found[record_id] for name, record_id in ids.items()}

        assert keys() == {name: new for name, (_old, new) in expected.items()}
        # The app's session must not hold a transaction: the downgrade drops indexes, which
        # waits for every reader of the table on PostgreSQL.
        db.session.remove()
        flask_migrate.downgrade(revision=before)
        assert keys() == {name: old for name, (old, _new) in expected.items()}
        db.session.remove()  # as before the downgrade: no transaction left open
        flask_migrate.upgrade()
        assert keys() == {name: new for name, (_old, new) in expected.items()}
