"""No N+1 on the activity pages: as many queries for 30 activities as for 3."""

from datetime import date

from crm.extensions import db
from crm.models import Activity, User
from crm.services import activities


def test_activity_list_costs_the_same_for_3_and_30_activities(
    login_as,
    app,
    actor,
    make_person,
    make_user,
    default_topics,
    count_queries,
):
    client = login_as("viewer")
    lead = make_user("coordinator", name="Lead")
    people = [make_person(family_name="Wang", given_name=f"Fang {i}") for i in range(2)]
    topic_ids = list(default_topics.values())
    counter = iter(range(100))

    def add(n: int) -> None:
        with app.app_context():
            admin = db.session.get(User, actor.id)
            for _ in range(n):
                i = next(counter)
                activity = activities.create(
                    {
                        "type": "training" if i % 2 else "forum",
                        "title": f"Training {i:02d}",
                        "title_zh": f"培训{i}",
                        "start_on": date(2026, 1, 1 + i % 28),
                        "city": f"City {i % 3}",
                        "lead_id": lead.id,
                        "topic_ids": topic_ids[i % 3 : i % 3 + 2],
                        "unnamed_women": i,
                    },
                    actor=admin,
                )
                activities.add_participants(
                    activity, [p.id for p in people], status="attended", actor=admin
                )

    def queries(url: str):  # type: ignore[no-untyped-def]
        with count_queries() as counter_:
            response = client.get(url)
        assert response.status_code == 200
        return counter_

    add(3)
    few = queries("/activities?per_page=50")
    few_sorted = queries("/activities?sort=title&dir=asc&topic=" + str(topic_ids[0]))
    add(27)
    many = queries("/activities?per_page=50")
    many_sorted = queries("/activities?sort=title&dir=asc&topic=" + str(topic_ids[0]))
    assert many.count == few.count, (few, many)
    assert many_sorted.count == few_sorted.count, (few_sorted, many_sorted)
    assert (
        client.get("/activities?per_page=50")
        .get_data(as_text=True)
        .count('data-testid="activity-row"')
        == 30
    )


def test_activity_page_costs_the_same_for_3_and_30_participants(
    login_as,
    app,
    actor,
    make_activity,
    make_person,
    make_organisation,
    employ,
    count_queries,
):
    client = login_as("coordinator")
    activity = make_activity()
    org = make_organisation()
    counter = iter(range(100))

    def add(n: int) -> None:
        people = []
        for _ in range(n):
            person = make_person(family_name="Li", given_name=f"Na {next(counter)}")
            employ(person, org)
            people.append(person)
        with app.app_context():
            activities.add_participants(
                db.session.get(Activity, activity.id),
                [p.id for p in people],
                status="attended",
                actor=db.session.get(User, actor.id),
            )

    add(3)
    with count_queries() as few:
        assert client.get(f"/activities/{activity.id}").status_code == 200
    add(27)
    with count_queries() as many:
        assert client.get(f"/activities/{activity.id}").status_code == 200
    assert many.count == few.count, (few, many)
