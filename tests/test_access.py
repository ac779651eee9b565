"""Who may open which page: every route, every role, enforced on the server.

The url_map is walked, not listed, so a route added later is covered automatically: anonymous
visitors must be sent to the sign-in page, and the route must have rows in ACCESS.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from crm.access import Role
from crm.extensions import db
from crm.models import Organisation, Person, RelationshipType, Stakeholder, User
from crm.services import activities, follow_ups, interactions, stakeholders, topics
from crm.services.reporting import indicators

# Reachable without signing in; anything added here must be argued for in review. Calendar
# apps cannot sign in: the feed is opened by a secret token in its URL instead. The second
# factor is asked for before the session is signed in (and only after a right password).
PUBLIC = {
    "auth.login",
    "auth.login_code",
    "main.healthz",
    "static",
    "bootstrap.static",
    "calendar.feed",
    # The API's description and its page: no record, no personal data (issue #12).
    "api.openapi_json",
    "api.docs",
}
METHODS = ("GET", "POST")
ROLES = (None, Role.viewer, Role.member, Role.coordinator, Role.manager, Role.admin)

# fmt: off
# One line per route and method; the answers are for, in order:
#   anonymous, viewer, member, coordinator, manager, admin.
# A 302 for anonymous visitors must lead to the sign-in page (checked). POSTs send an empty
# form: 400 means the permission check passed and the form was then refused.
# Placeholders name records created for the test: {org}, {org2}, {person}, {user},
# {relationship}, {affiliation}, {trashed} (an organisation in the trash), and {interaction}
# and {follow_up}, both another user's: members may change only their own.
ROUTES = [
    ("GET",  "/login",                                          (200, 302, 302, 302, 302, 302)),
    ("POST", "/login",                                          (400, 302, 302, 302, 302, 302)),
    # No password accepted in this browser yet: 303 to the sign-in page.
    ("GET",  "/login/code",                                     (303, 302, 302, 302, 302, 302)),
    ("POST", "/login/code",                                     (303, 302, 302, 302, 302, 302)),
    ("POST", "/logout",                                         (302, 302, 302, 302, 302, 302)),
    ("GET",  "/profile",                                        (302, 200, 200, 200, 200, 200)),
    ("POST", "/profile",                                        (302, 400, 400, 400, 400, 400)),
    ("POST", "/profile/sign-out-everywhere",                    (302, 302, 302, 302, 302, 302)),
    ("GET",  "/profile/two-factor",                             (302, 200, 200, 200, 200, 200)),
    ("POST", "/profile/two-factor",                             (302, 400, 400, 400, 400, 400)),
    ("GET",  "/healthz",                                        (200, 200, 200, 200, 200, 200)),
    # Personal API tokens: an empty form is refused with a message (302 back to the profile);
    # another user's token, or none, is 404.
    ("POST", "/profile/tokens",                                 (302, 302, 302, 302, 302, 302)),
    ("POST", "/profile/tokens/1/revoke",                        (302, 404, 404, 404, 404, 404)),
    # The JSON API answers bearer tokens only (tests/api): a session is a 401.
    ("GET",  "/api/v1/openapi.json",                            (200, 200, 200, 200, 200, 200)),
    ("GET",  "/api/v1/docs",                                    (200, 200, 200, 200, 200, 200)),
    ("GET",  "/api/v1/organisations",                        (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/organisations/1",                      (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/people",                               (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/people/1",                             (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/activities",                           (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/activities/1",                         (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/interactions",                         (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/interactions/1",                       (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/follow-ups",                           (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/follow-ups/1",                         (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/tags",                                 (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/topics",                               (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/topics/1",                             (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/reports/engagement",                   (401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/reports/indicators",                   (401, 401, 401, 401, 401, 401)),
    ("POST", "/api/v1/organisations",                        (401, 401, 401, 401, 401, 401)),
    ("POST", "/api/v1/people",                               (401, 401, 401, 401, 401, 401)),
    ("POST", "/api/v1/activities",                           (401, 401, 401, 401, 401, 401)),
    ("POST", "/api/v1/activities/1/parties",                 (401, 401, 401, 401, 401, 401)),
    ("POST", "/api/v1/activities/1/participants",            (401, 401, 401, 401, 401, 401)),
    ("POST", "/api/v1/interactions",                         (401, 401, 401, 401, 401, 401)),
    ("POST", "/api/v1/follow-ups",                           (401, 401, 401, 401, 401, 401)),
    ("POST", "/api/v1/follow-ups/1/complete",                (401, 401, 401, 401, 401, 401)),
    ("POST", "/api/v1/topics",                               (401, 401, 401, 401, 401, 401)),
    ("GET",  "/static/css/app.css",                             (200, 200, 200, 200, 200, 200)),
    ("GET",  "/bootstrap/static/css/bootstrap.min.css",         (200, 200, 200, 200, 200, 200)),
    ("GET",  "/",                                               (302, 200, 200, 200, 200, 200)),
    ("GET",  "/search?q=wang",                                  (302, 200, 200, 200, 200, 200)),
    ("GET",  "/search.json?q=wang",                             (302, 200, 200, 200, 200, 200)),
    ("GET",  "/organisations",                                  (302, 200, 200, 200, 200, 200)),
    ("GET",  "/organisations/{org}",                            (302, 200, 200, 200, 200, 200)),
    ("GET",  "/organisations/new",                              (302, 403, 200, 200, 200, 200)),
    ("POST", "/organisations/new",                              (302, 403, 400, 400, 400, 400)),
    ("GET",  "/organisations/{org}/edit",                       (302, 403, 200, 200, 200, 200)),
    ("POST", "/organisations/{org}/edit",                       (302, 403, 400, 400, 400, 400)),
    ("GET",  "/organisations/{org}/delete",                     (302, 403, 403, 200, 200, 200)),
    ("POST", "/organisations/{org}/delete",                     (302, 403, 403, 302, 302, 302)),
    ("GET",  "/people",                                         (302, 200, 200, 200, 200, 200)),
    ("GET",  "/people/{person}",                                (302, 200, 200, 200, 200, 200)),
    ("GET",  "/people/new",                                     (302, 403, 200, 200, 200, 200)),
    ("POST", "/people/new",                                     (302, 403, 400, 400, 400, 400)),
    ("GET",  "/people/{person}/edit",                           (302, 403, 200, 200, 200, 200)),
    ("POST", "/people/{person}/edit",                           (302, 403, 400, 400, 400, 400)),
    ("GET",  "/people/{person}/delete",                         (302, 403, 403, 200, 200, 200)),
    ("POST", "/people/{person}/delete",                         (302, 403, 403, 302, 302, 302)),
    ("POST", "/stakeholders/{org}/relationships",               (302, 403, 400, 400, 400, 400)),
    ("POST", "/stakeholders/relationships/{relationship}/end",  (302, 403, 302, 302, 302, 302)),
    ("POST", "/stakeholders/{person}/affiliations",             (302, 403, 400, 400, 400, 400)),
    ("POST", "/stakeholders/affiliations/{affiliation}/end",    (302, 403, 302, 302, 302, 302)),
    ("GET",  "/people/{person}/vcard",                          (302, 403, 403, 200, 200, 200)),
    ("POST", "/people/{person}/consent",                        (302, 403, 400, 400, 400, 400)),
    ("GET",  "/people/export.vcf",                              (302, 403, 403, 200, 200, 200)),
    ("GET",  "/interactions",                                   (302, 200, 200, 200, 200, 200)),
    ("GET",  "/interactions/new",                               (302, 403, 200, 200, 200, 200)),
    ("POST", "/interactions/new",                               (302, 403, 400, 400, 400, 400)),
    ("GET",  "/interactions/{interaction}",                     (302, 200, 200, 200, 200, 200)),
    ("GET",  "/interactions/{interaction}/edit",                (302, 403, 403, 200, 200, 200)),
    ("POST", "/interactions/{interaction}/edit",                (302, 403, 403, 400, 400, 400)),
    ("GET",  "/interactions/{interaction}/delete",              (302, 403, 403, 200, 200, 200)),
    ("POST", "/interactions/{interaction}/delete",              (302, 403, 403, 302, 302, 302)),
    ("GET",  "/follow-ups",                                     (302, 200, 200, 200, 200, 200)),
    ("GET",  "/follow-ups/mine",                                (302, 200, 200, 200, 200, 200)),
    ("GET",  "/follow-ups/team",                                (302, 403, 403, 200, 200, 200)),
    ("GET",  "/follow-ups/new",                                 (302, 403, 200, 200, 200, 200)),
    ("POST", "/follow-ups/new",                                 (302, 403, 400, 400, 400, 400)),
    ("GET",  "/follow-ups/{follow_up}",                         (302, 200, 200, 200, 200, 200)),
    ("GET",  "/follow-ups/{follow_up}/edit",                    (302, 403, 403, 200, 200, 200)),
    ("POST", "/follow-ups/{follow_up}/edit",                    (302, 403, 403, 400, 400, 400)),
    ("POST", "/follow-ups/{follow_up}/complete",                (302, 403, 403, 302, 302, 302)),
    ("POST", "/follow-ups/{follow_up}/reopen",                  (302, 403, 403, 422, 422, 422)),
    ("POST", "/follow-ups/{follow_up}/cancel",                  (302, 403, 403, 302, 302, 302)),
    ("POST", "/follow-ups/{follow_up}/reassign",                (302, 403, 403, 302, 302, 302)),
    # Reports: everyone reads them; tables naming people export for coordinators and up.
    ("GET",  "/reports",                                        (302, 200, 200, 200, 200, 200)),
    ("GET",  "/reports?table=coverage&format=csv",              (302, 200, 200, 200, 200, 200)),
    ("GET",  "/reports?table=not_contacted&format=csv",         (302, 403, 403, 200, 200, 200)),
    ("GET",  "/reports?format=xlsx",                            (302, 200, 200, 200, 200, 200)),
    # Donor indicators: everyone reads them; managers and administrators keep them.
    ("GET",  "/reports/cross-border",                           (302, 200, 200, 200, 200, 200)),
    ("GET",  "/reports/indicators",                             (302, 200, 200, 200, 200, 200)),
    ("GET",  "/reports/indicators?format=xlsx",                 (302, 200, 200, 200, 200, 200)),
    ("GET",  "/reports/indicators/new",                         (302, 403, 403, 403, 200, 200)),
    ("POST", "/reports/indicators/new",                         (302, 403, 403, 403, 400, 400)),
    ("GET",  "/reports/indicators/{indicator}",                 (302, 200, 200, 200, 200, 200)),
    ("GET",  "/reports/indicators/{indicator}?format=csv",      (302, 200, 200, 200, 200, 200)),
    ("GET",  "/reports/indicators/{indicator}/records",         (302, 200, 200, 200, 200, 200)),
    ("GET",  "/reports/indicators/{indicator}/edit",            (302, 403, 403, 403, 200, 200)),
    ("POST", "/reports/indicators/{indicator}/edit",            (302, 403, 403, 403, 400, 400)),
    ("GET",  "/reports/indicators/{indicator}/delete",          (302, 403, 403, 403, 200, 200)),
    ("POST", "/reports/indicators/{indicator}/delete",          (302, 403, 403, 403, 302, 302)),
    # List exports (?format=csv|xlsx): personal data for coordinators and up.
    ("GET",  "/organisations?format=xlsx",                      (302, 200, 200, 200, 200, 200)),
    ("GET",  "/people?format=csv",                              (302, 403, 403, 200, 200, 200)),
    ("GET",  "/interactions?format=xlsx",                       (302, 403, 403, 200, 200, 200)),
    ("GET",  "/follow-ups?format=csv",                          (302, 403, 403, 200, 200, 200)),
    ("GET",  "/calendar/not-a-token.ics",                       (404, 404, 404, 404, 404, 404)),
    ("POST", "/calendar/token",                                 (302, 302, 302, 302, 302, 302)),
    ("GET",  "/duplicates",                                     (302, 403, 403, 200, 200, 200)),
    ("GET",  "/duplicates/merge?first={org}&second={org2}",     (302, 403, 403, 200, 200, 200)),
    ("POST", "/duplicates/merge?first={org}&second={org2}",     (302, 403, 403, 400, 400, 400)),
    ("GET",  "/admin/users",                                    (302, 403, 403, 403, 403, 200)),
    ("GET",  "/admin/users/new",                                (302, 403, 403, 403, 403, 200)),
    ("POST", "/admin/users/new",                                (302, 403, 403, 403, 403, 400)),
    ("GET",  "/admin/users/{user}/edit",                        (302, 403, 403, 403, 403, 200)),
    ("POST", "/admin/users/{user}/edit",                        (302, 403, 403, 403, 403, 400)),
    ("POST", "/admin/users/{user}/password",                    (302, 403, 403, 403, 403, 400)),
    # {user} has no second factor: nothing to reset.
    ("POST", "/admin/users/{user}/two-factor",                  (302, 403, 403, 403, 403, 422)),
    ("GET",  "/trash",                                          (302, 403, 403, 403, 403, 200)),
    ("POST", "/trash/{trashed}/restore",                        (302, 403, 403, 403, 403, 302)),
    ("POST", "/trash/{trashed}/purge",                          (302, 403, 403, 403, 403, 302)),
    # Backups: administrators only. The admin's POST writes one into the test BACKUP_DIR
    # (a temporary directory); no backup has the name asked for below, hence the 404.
    ("GET",  "/admin/backups",                                  (302, 403, 403, 403, 403, 200)),
    ("POST", "/admin/backups",                                  (302, 403, 403, 403, 403, 302)),
    ("GET",  "/admin/backups/crm-missing.sqlite3",              (302, 403, 403, 403, 403, 404)),
    # Organisations whose province is no known code: administrators only.
    ("GET",  "/admin/provinces",                                (302, 403, 403, 403, 403, 200)),
    # Imports: coordinators and up. Batch 999999 does not exist, so those answer 404 once the
    # permission check has passed; tests/imports/test_views.py covers real batches.
    ("GET",  "/jobs/999999",                                    (302, 404, 404, 404, 404, 404)),
    ("GET",  "/jobs/999999.json",                               (302, 404, 404, 404, 404, 404)),
    # A large list export, asked for from the page its list answers with (form empty here).
    ("POST", "/jobs/exports",                                   (302, 400, 400, 400, 400, 400)),
    ("GET",  "/jobs/999999/download",                           (302, 404, 404, 404, 404, 404)),
    ("GET",  "/imports",                                        (302, 403, 403, 200, 200, 200)),
    ("POST", "/imports",                                        (302, 403, 403, 400, 400, 400)),
    ("GET",  "/imports/999999",                                 (302, 403, 403, 404, 404, 404)),
    ("POST", "/imports/999999/mapping",                         (302, 403, 403, 404, 404, 404)),
    ("POST", "/imports/999999/choices",                         (302, 403, 403, 404, 404, 404)),
    ("POST", "/imports/999999/commit",                          (302, 403, 403, 404, 404, 404)),
    ("GET",  "/imports/999999/report",                          (302, 403, 403, 404, 404, 404)),
    ("POST", "/imports/999999/discard",                         (302, 403, 403, 404, 404, 404)),
    # Activities: everyone reads; coordinators and up change them; admins keep the topics.
    # {party} and {participation} belong to the {activity} of the same URL.
    ("GET",  "/activities",                                     (302, 200, 200, 200, 200, 200)),
    ("GET",  "/activities/calendar",                            (302, 200, 200, 200, 200, 200)),
    ("GET",  "/activities/mous",                                (302, 200, 200, 200, 200, 200)),
    ("GET",  "/activities/feed.ics",                            (302, 200, 200, 200, 200, 200)),
    ("GET",  "/activities/new",                                 (302, 403, 403, 200, 200, 200)),
    ("POST", "/activities/new",                                 (302, 403, 403, 400, 400, 400)),
    ("GET",  "/activities/{activity}",                          (302, 200, 200, 200, 200, 200)),
    ("GET",  "/activities/{activity}/edit",                     (302, 403, 403, 200, 200, 200)),
    ("POST", "/activities/{activity}/edit",                     (302, 403, 403, 400, 400, 400)),
    ("GET",  "/activities/{activity}/delete",                   (302, 403, 403, 200, 200, 200)),
    ("POST", "/activities/{activity}/delete",                   (302, 403, 403, 302, 302, 302)),
    ("GET",  "/activities/{activity}/activity.ics",             (302, 200, 200, 200, 200, 200)),
    ("POST", "/activities/{activity}/parties",                  (302, 403, 403, 400, 400, 400)),
    ("POST", "/activities/{activity}/parties/{party}/remove",   (302, 403, 403, 302, 302, 302)),
    ("POST", "/activities/{activity}/participants",             (302, 403, 403, 400, 400, 400)),
    ("GET",  "/activities/{activity}/participants?format=xlsx", (302, 403, 403, 200, 200, 200)),
    ("GET",  "/activities?format=csv",                          (302, 200, 200, 200, 200, 200)),
    ("POST", "/activities/{activity}/participants/new",         (302, 403, 403, 400, 400, 400)),
    ("POST", "/activities/{activity}/participants/bulk",        (302, 403, 403, 400, 400, 400)),
    ("POST", "/activities/{activity}/participants/{participation}/remove",
                                                                (302, 403, 403, 302, 302, 302)),
    ("POST", "/activities/{activity}/headcounts",               (302, 403, 403, 400, 400, 400)),
    ("POST", "/activities/{activity}/attendance",               (302, 403, 403, 400, 400, 400)),
    ("GET",  "/activities/topics",                              (302, 403, 403, 403, 403, 200)),
    ("POST", "/activities/topics",                              (302, 403, 403, 403, 403, 400)),
    ("POST", "/activities/topics/{topic}",                      (302, 403, 403, 403, 403, 400)),
    ("POST", "/activities/topics/defaults",                     (302, 403, 403, 403, 403, 302)),
    # Personal data (issue #11): coordinators and up export and erase; admins audit.
    ("GET",  "/people/{person}/data",                           (302, 403, 403, 200, 200, 200)),
    ("GET",  "/people/{person}/data.json",                      (302, 403, 403, 200, 200, 200)),
    ("GET",  "/people/{person}/erase",                          (302, 403, 403, 200, 200, 200)),
    ("POST", "/people/{person}/erase",                          (302, 403, 403, 400, 400, 400)),
    ("GET",  "/admin/retention",                                (302, 403, 403, 403, 403, 200)),
    ("POST", "/admin/retention/{person}/exempt",                (302, 403, 403, 403, 403, 400)),
    ("GET",  "/admin/audit",                                    (302, 403, 403, 403, 403, 200)),
    ("GET",  "/admin/audit?format=csv",                         (302, 403, 403, 403, 403, 200)),
]
# fmt: on

ACCESS = [
    (role, method, url, status)
    for method, url, statuses in ROUTES
    for role, status in zip(ROLES, statuses, strict=True)
]

# Rows where the application does not (yet) answer as the table says. Strict: once fixed, the
# row passes, the xfail fails, and the entry must go.
KNOWN_GAPS: dict[tuple[Role, str, str], str] = {}

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _who(role: Role | None) -> str:
    return "anonymous" if role is None else role.value


def _login_target(response) -> str | None:  # type: ignore[no-untyped-def]
    """The path of the sign-in redirect's `next`, or None when the response is not one."""
    if response.status_code != 302:
        return None
    location = urlsplit(response.headers["Location"])
    if location.netloc or location.path != "/login":
        return None
    return parse_qs(location.query).get("next", [""])[0]


@pytest.fixture
def fill(app, actor, make_organisation, make_person, make_user):  # type: ignore[no-untyped-def]
    """Replace the placeholders of an ACCESS url with the ids of records made for it."""

    def org() -> int:
        return make_organisation(display_name="Alpha Textiles").id

    def org2() -> int:
        return make_organisation(display_name="Alpha Textile Co.").id

    def person() -> int:
        return make_person(family_name="Li", given_name="Na").id

    def user() -> int:
        return make_user(Role.viewer, name="Someone Else").id

    def relationship() -> int:
        source, target = org(), make_organisation(display_name="Beta Holdings").id
        with app.app_context():
            rel = stakeholders.add_relationship(
                stakeholders.get(Stakeholder, source),
                target_id=target,
                type=RelationshipType.subsidiary_of,
                actor=db.session.get(User, actor.id),
            )
            return rel.id

    def affiliation() -> int:
        person_id, org_id = person(), org()
        with app.app_context():
            aff = stakeholders.add_affiliation(
                stakeholders.get(Person, person_id),
                organisation_id=org_id,
                title="HR manager",
                start_on=date(2024, 1, 1),
                end_on=None,
                actor=db.session.get(User, actor.id),
            )
            return aff.id

    def trashed() -> int:
        org_id = make_organisation(display_name="Gamma Trashed").id
        with app.app_context():
            stakeholders.delete(
                stakeholders.get(Organisation, org_id),
                actor=db.session.get(User, actor.id),
            )
        return org_id

    def interaction() -> int:
        person_id = person()
        with app.app_context():
            logged = interactions.log_interaction(
                {
                    "occurred_at": datetime(2026, 3, 4, 2, 0, tzinfo=UTC),
                    "channel": "meeting",
                    "subject": "Working hours dialogue",
                    "stakeholder_ids": [person_id],
                },
                actor=db.session.get(User, actor.id),
            )
            return logged.id

    def follow_up() -> int:
        with app.app_context():
            created = follow_ups.create(
                {"title": "Send the OSH checklist", "due_on": date(2026, 12, 1)}
                | {"assignee_id": actor.id},
                actor=db.session.get(User, actor.id),
            )
            return created.id

    made: dict[str, int] = {}

    def activity() -> int:
        """One activity per test, shared by the placeholders of one URL."""
        if "activity" not in made:
            with app.app_context():
                made["activity"] = activities.create(
                    {"type": "training", "title": "OSH training", "start_on": date(2026, 3, 4)},
                    actor=db.session.get(User, actor.id),
                ).id
        return made["activity"]

    def party() -> int:
        org_id, activity_id = org(), activity()
        with app.app_context():
            return activities.add_party(
                activities.get(activity_id),
                organisation_id=org_id,
                role="host",
                actor=db.session.get(User, actor.id),
            ).id

    def participation() -> int:
        person_id, activity_id = person(), activity()
        with app.app_context():
            (added,) = activities.add_participants(
                activities.get(activity_id), [person_id], actor=db.session.get(User, actor.id)
            )
            return added.id

    def indicator() -> int:
        with app.app_context():
            return indicators.create(
                {
                    "name": "Participants trained",
                    "unit": "people",
                    "metric": "participants_trained",
                    "baseline": 0,
                },
                actor=db.session.get(User, actor.id),
            ).id

    def topic() -> int:
        with app.app_context():
            return topics.create(
                "Social dialogue", "社会对话", actor=db.session.get(User, actor.id)
            ).id

    makers = {
        "activity": activity,
        "party": party,
        "participation": participation,
        "topic": topic,
        "indicator": indicator,
        "org": org,
        "org2": org2,
        "person": person,
        "user": user,
        "relationship": relationship,
        "affiliation": affiliation,
        "trashed": trashed,
        "interaction": interaction,
        "follow_up": follow_up,
    }

    def fill_url(url: str) -> str:
        names = set(PLACEHOLDER.findall(url))
        return url.format(**{name: makers[name]() for name in names})

    return fill_url


@pytest.mark.parametrize(
    ("role", "method", "url", "status"),
    [
        pytest.param(
            role,
            method,
            url,
            status,
            id=f"{_who(role)}-{method}-{url}",
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[role, method, url])]
            if (role, method, url) in KNOWN_GAPS
            else [],
        )
        for role, method, url, status in ACCESS
    ],
)
def test_each_role_can_do_only_what_the_access_table_allows(
    login_as, fill, role, method, url, status
):
    client = login_as(role)
    path = fill(url)
    response = client.open(path, method=method)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    if status == 302 and role is None:
        assert _login_target(response) == path
    elif status == 302 and url != "/logout":
        # A signed-in user who passed the permission check is never sent to sign in again.
        assert _login_target(response) is None, response.headers["Location"]


def _signed_in_routes(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(endpoint, method, path) for every route needing a user, variables filled with 1."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        _domain, path = rule.build(dict.fromkeys(rule.arguments, 1), append_unknown=False)
        routes.extend((rule.endpoint, method, path) for method in METHODS if method in rule.methods)
    return routes


def test_anonymous_cannot_reach_any_route_but_the_public_ones(app, client):
    routes = _signed_in_routes(app)
    assert len(routes) > 20  # the walk found the application's routes
    wrong = []
    for endpoint, method, path in routes:
        response = client.open(path, method=method)
        if path.startswith("/api/"):
            ok = response.status_code == 401 and response.is_json
        else:
            ok = _login_target(response) == path
        if not ok:
            wrong.append(
                f"{method} {path} ({endpoint}): {response.status_code} "
                f"{response.headers.get('Location', '')}"
            )
    assert wrong == []


def test_anonymous_can_reach_the_public_endpoints(client):
    page = client.get("/login")
    assert page.status_code == 200 and "Sign in" in page.get_data(as_text=True)
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/static/css/app.css").status_code == 200
    assert client.get("/bootstrap/static/css/bootstrap.min.css").status_code == 200


def test_anonymous_is_told_to_sign_in(client):
    response = client.get("/organisations", follow_redirects=True)
    assert response.request.path == "/login"
    assert "Please sign in to see this page." in response.get_data(as_text=True)


def test_deactivated_user_cannot_keep_using_an_open_session(login_as, in_app):
    client = login_as(Role.coordinator)
    assert client.get("/organisations").status_code == 200
    with in_app():
        # Only the flag changes, not the session token: the session itself must stop working.
        db.session.get(User, client.user.id).is_enabled = False
        db.session.commit()
    response = client.get("/organisations")
    assert response.status_code == 302
    assert _login_target(response) == "/organisations"
    assert client.post("/organisations/new", data={}).status_code == 302
    assert _login_target(client.get("/")) == "/"


def test_new_routes_cannot_escape_the_access_table(app):
    """Every route and method of the url_map has a row in ACCESS for each role."""
    adapter = app.url_map.bind("localhost")
    rows: dict[tuple[str, str], set[Role | None]] = {}
    for role, method, url, _status in ACCESS:
        path = PLACEHOLDER.sub("1", url).split("?")[0]
        rule, _args = adapter.match(path, method=method, return_rule=True)
        rows.setdefault((rule.rule, method), set()).add(role)
    missing = [
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule in app.url_map.iter_rules()
        for method in METHODS
        if method in rule.methods and rows.get((rule.rule, method)) != set(ROLES)
    ]
    assert missing == [], "add these routes to ROUTES in tests/test_access.py"
