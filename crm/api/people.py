"""/api/v1/people: the people list's filters and sorts, detail with positions, create (with
an optional current employer; likely duplicates answer 409 unless `force`), partial update
with the version, delete to the trash."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from crm.access import Permission
from crm.api import auth, bp, forms, schemas
from crm.api.common import (
    FORCE,
    READ_ERRORS,
    WRITE_ERRORS,
    Extended,
    conflict,
    documented,
    writing,
)
from crm.api.organisations import one_of, rating
from crm.blueprints.people import views as web
from crm.blueprints.people.forms import NewPersonForm, PersonForm
from crm.models import EngagementLevel, Gender, Person, Sector
from crm.services import clock, stakeholders
from crm.services.errors import Conflict

TAGS = ["people"]


class PersonQuery(schemas.PageQuery):
    q = fields.String(validate=validate.Length(max=200))
    organisation = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1, error=forms.RANGE))
    gender = fields.String(validate=one_of(Gender))
    tag = fields.String(validate=validate.Length(max=200))
    level = fields.String(validate=one_of(EngagementLevel))
    owner = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1, error=forms.RANGE))
    influence = rating()
    interest = rating()
    quiet = fields.Boolean()
    sector = fields.String(validate=one_of(Sector))
    sort = fields.String(
        validate=validate.OneOf(list(stakeholders.PERSON_SORTS), error=forms.CHOICE)
    )


PersonPage = schemas.page_schema(schemas.Person, "PersonPage")
CREATE = forms.body_schema(NewPersonForm, extra={"force": FORCE}, name="PersonCreate")
UPDATE = forms.body_schema(PersonForm, partial=True, name="PersonUpdate")


def detail_json(person: Person) -> Extended:
    return Extended(person, positions=stakeholders.affiliations_of_person(person))


@bp.route("/people", methods=["GET"], tags=TAGS)
@bp.arguments(PersonQuery, location="query", as_kwargs=False)
@bp.response(200, PersonPage)
@documented(*READ_ERRORS)
def people_index(args: dict[str, Any]) -> Any:
    """The people, filtered and sorted as on the list page, a page at a time."""
    auth.require(Permission.READ)
    criteria = stakeholders.PersonCriteria(
        q=args.get("q", "").strip(),
        organisation_id=args.get("organisation"),
        gender=args.get("gender", ""),
        tag=args.get("tag", "").strip(),
        engagement_level=args.get("level", ""),
        owner_id=args.get("owner"),
        sort=args.get("sort", "name"),
        descending=args.get("dir") == "desc",
        influence=args.get("influence"),
        interest=args.get("interest"),
        quiet_on=clock.today() if args.get("quiet") else None,
        sector=args.get("sector", ""),
    )
    return stakeholders.list_people(criteria, page=args["page"], per_page=args["per_page"])


@bp.route("/people/<int:person_id>", methods=["GET"], tags=TAGS)
@bp.response(200, schemas.PersonDetail)
@documented(*READ_ERRORS)
def people_detail(person_id: int) -> Any:
    """A person with their positions (current ones have no end date)."""
    auth.require(Permission.READ)
    return detail_json(stakeholders.get(Person, person_id))


@bp.route("/people", methods=["POST"], tags=TAGS)
@bp.arguments(CREATE)
@bp.response(201, schemas.PersonDetail)
@documented(*WRITE_ERRORS)
def people_create(body: dict[str, Any]) -> Any:
    """Create a person (`employer_id`: their current organisation); likely duplicates answer
    409 with the candidates (send `"force": true` to create the person anyway)."""
    force = body.pop("force", False)
    with writing(Permission.EDIT_STAKEHOLDERS):
        form = forms.submit(web.api_new_form, body)
        person = stakeholders.create_person(
            form.changes(),
            actor=auth.user(),
            allow_duplicate=force,
            employer_id=form.employer_id.data,
        )
    return detail_json(person)


@bp.route("/people/<int:person_id>", methods=["PATCH"], tags=TAGS)
@bp.arguments(UPDATE)
@bp.response(200, schemas.PersonDetail)
@documented(*WRITE_ERRORS)
def people_update(body: dict[str, Any], person_id: int) -> Any:
    """Change the fields sent; a stale `version` answers 409 with the person as saved now."""
    with writing(Permission.EDIT_STAKEHOLDERS):
        person = stakeholders.get(Person, person_id)
        form = forms.submit(web.api_form, body, loaded=web.api_loaded(person), obj=person)
        try:
            stakeholders.update(
                person, form.changes(), version=form.version_number, actor=auth.user()
            )
        except Conflict as err:
            return conflict(err, person, schemas.Person)
    return detail_json(person)


@bp.route("/people/<int:person_id>", methods=["DELETE"], tags=TAGS)
@bp.response(204)
@documented(*WRITE_ERRORS)
def people_delete(person_id: int) -> None:
    """Move the person to the trash."""
    with writing(Permission.DELETE):
        stakeholders.delete(stakeholders.get(Person, person_id), actor=auth.user())
