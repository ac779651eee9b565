"""`crm generate`: the benchmark's data set is what the services would have written.

The generator writes rows in bulk, bypassing the services, so each derived value it computes
on its own (phone keys, name keys, stored contact dates, the search index) is checked here
against what the services derive from the same record.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask

from crm.demo import generate
from crm.extensions import db
from crm.models import Interaction, Organisation, Person, SearchDocument, Stakeholder, User
from crm.services import contact_dates, contact_details, duplicates, interactions


def test_generated_rows_carry_the_keys_the_services_derive(app: Flask) -> None:
    with app.app_context():
        made = generate.generate(scale=0.002, seed=7)
        people = db.session.scalars(sa.select(Person)).all()
        assert len(people) == made.people > 0
        for person in people:
            assert person.phone_key == contact_details.phone_key(person.phone), person.phone
            assert person.match_key == duplicates.person_key(
                person.chinese_name, person.family_name, person.given_name
            )
        for organisation in db.session.scalars(sa.select(Organisation)):
            assert organisation.match_key == duplicates.organisation_key(organisation.display_name)


def test_generated_data_is_indexed_dated_and_linked(app: Flask) -> None:
    with app.app_context():
        made = generate.generate(scale=0.002, seed=7)
        live = db.session.scalar(sa.select(sa.func.count()).select_from(Stakeholder))
        indexed = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(SearchDocument)
            .where(SearchDocument.entity_type.in_(["organisation", "person"]))
        )
        assert indexed == live == made.organisations + made.people
        # The stored last-contact dates are those a rebuild computes.
        dates = sa.select(Stakeholder.id, Stakeholder.last_contacted_at)
        before = {sid: when for sid, when in db.session.execute(dates)}
        contact_dates.rebuild()
        after = {sid: when for sid, when in db.session.execute(dates)}
        assert before == after and any(after.values())
        # Some interactions are about an activity, as in a real programme.
        assert db.session.scalar(
            sa.select(sa.func.count()).where(Interaction.activity_id.is_not(None))
        )
        # Ids were set by the generator: the next interaction still gets a fresh one.
        user = db.session.scalars(sa.select(User)).first()
        logged = interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 11, 2, 10, tzinfo=UTC),
                "channel": "call",
                "subject": "After generation",
                "stakeholder_ids": [db.session.scalars(sa.select(Stakeholder.id)).first()],
            },
            actor=user,
        )
        assert logged.id > made.interactions
