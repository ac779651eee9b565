from typing import Any, TypeVar
from urllib.parse import quote

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from crm.access import Permission, permission_required
from crm.blueprints import submissions
from crm.blueprints.common import ListArgs, attach_error, list_args, save_edit
from crm.blueprints.history import timeline_names
from crm.blueprints.people import bp
from crm.blueprints.people.forms import ConsentForm, NewPersonForm, PersonForm
from crm.blueprints.reports import downloads, list_exports
from crm.blueprints.stakeholders.forms import AffiliationForm, RelationshipForm
from crm.blueprints.stakeholders.helpers import affiliation_form, relationship_form
from crm.forms import chinese_first, id_choices
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.models import (
    Consent,
    EngagementLevel,
    Gender,
    Language,
    Person,
    Sector,
    User,
)
from crm.services import (
    accounts,
    activities,
    clock,
    consent,
    contacts,
    cross_border,
    interactions,
    stakeholders,
    timeline,
)
from crm.services.errors import LikelyDuplicate, ServiceError
from crm.services.reporting import exports

F = TypeVar("F", bound=PersonForm)


def _form(**kwargs: Any) -> PersonForm:
    return _with_choices(PersonForm(**kwargs))


def _with_choices(form: F) -> F:
    form.owner_id.choices = id_choices(accounts.active_user_choices(), blank="—")
    return form


def _new_form() -> NewPersonForm:
    form = _with_choices(NewPersonForm())
    if form.employer_id.data is not None:
        # The picked employer by its name in the interface's language, not as it was posted.
        names = stakeholders.display_names([form.employer_id.data], chinese_first=chinese_first())
        form.employer_id.display = names.get(form.employer_id.data, form.employer_id.display)
    return form


def _criteria(args: ListArgs) -> stakeholders.PersonCriteria:
    return stakeholders.PersonCriteria(
        q=args.text("q"),
        organisation_id=args.integer("organisation"),
        gender=args.choice("gender", Gender),
        tag=args.text("tag"),
        engagement_level=args.choice("level", EngagementLevel),
        owner_id=args.integer("owner"),
        sort=args.sort(stakeholders.PERSON_SORTS),
        descending=args.descending(),
        influence=args.rating("influence"),
        interest=args.rating("interest"),
        quiet_on=clock.today() if args.text("quiet") == "1" else None,
        sector=args.choice("sector", Sector),
        consent_communication=args.choice("consent_communication", Consent),
        consent_reports=args.choice("consent_reports", Consent),
        consent_publication=args.choice("consent_publication", Consent),
    )


@list_exports.register("people", title=_l("People"), personal=True)
def _export(args: ListArgs, actor: User) -> list_exports.Built:
    listing = stakeholders.people_listing(_criteria(args))
    sheet = exports.query_sheet(_("People"), listing, _export_fields())
    people = cross_border.ids_in(listing, "id")
    return list_exports.Built("people", sheet, listing, people=people)


@bp.route("")
def index():
    args = list_args()
    criteria = _criteria(args)
    fmt = downloads.requested_format()
    if fmt:
        return list_exports.respond("people", fmt)
    # The page asked for, however large: past the end, the last page shows with a note.
    requested = request.args.get("page", 1, type=int) or 1
    page = stakeholders.list_people(criteria, page=requested, per_page=args.per_page())
    return render_template(
        "people/index.html",
        page=page,
        criteria=criteria,
        organisation_label=stakeholders.display_name_of(criteria.organisation_id),
        tags=stakeholders.tag_names(),
        owners=accounts.active_user_choices(),
        requested=requested,
        today=clock.today(),
    )


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def new():
    form = _new_form()
    if request.method == "GET":
        form.version.data = "0"
        form.owner_id.data = current_user.id
    sent = request.form.get(submissions.FIELD)
    token = submissions.token_for(sent)
    if form.validate_on_submit():
        try:
            person = stakeholders.create_person(
                form.changes(),
                allow_duplicate=bool(request.form.get("create_anyway")),
                actor=current_user,
                employer_id=form.employer_id.data,
                form_opened_at=submissions.opened_at(sent),  # sent twice: one record
            )
        except LikelyDuplicate as err:  # shown above the form, with "create anyway"
            return render_template(
                "people/edit.html",
                form=form,
                person=None,
                candidates=err.candidates,
                form_token=token,
            )
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("“%(name)s” created.", name=person.display_name), "success")
            return redirect(url_for(".detail", person_id=person.id))
    status = 400 if request.method == "POST" else 200
    return render_template("people/edit.html", form=form, person=None, form_token=token), status


def render_detail(
    person: Person,
    *,
    relationship: RelationshipForm | None = None,
    affiliation: AffiliationForm | None = None,
    consent_form: ConsentForm | None = None,
    status: int = 200,
):
    stream = timeline.timeline(person, page=list_args().page())
    consent_history = consent.history(person)
    return render_template(
        "people/detail.html",
        person=person,
        affiliations=stakeholders.affiliations_of_person(person),
        relationships=stakeholders.relationships_of(person),
        relationship_form=relationship or relationship_form(person),
        affiliation_form=affiliation_form(person, affiliation),
        timeline=stream,
        names=timeline_names(stream),
        activity_list=activities.for_person(person),
        can_see=lambda i: interactions.can_see_details(i, current_user),
        consent_form=consent_form or ConsentForm(prefix="consent", formdata=None),
        consent_states=consent.current(person, consent_history),
        consent_history=consent_history,
        may_contact=consent.may_contact(person),
    ), status


@bp.route("/<int:person_id>")
def detail(person_id: int):
    return render_detail(stakeholders.get(Person, person_id))


@bp.route("/<int:person_id>/consent", methods=["POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def record_consent(person_id: int):
    person = stakeholders.get(Person, person_id)
    form = ConsentForm(prefix="consent")
    if form.validate_on_submit():
        try:
            consent.record(person, form.changes(), actor=current_user)
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("Consent recorded."), "success")
            return redirect(url_for(".detail", person_id=person.id, _anchor="consent"))
    return render_detail(person, consent_form=form, status=400)


@bp.route("/<int:person_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def edit(person_id: int):
    person = stakeholders.get(Person, person_id)
    form = _loaded(person) if request.method == "GET" else _form(obj=person)
    return save_edit(
        form,
        person,
        lambda: stakeholders.update(
            person, form.changes(), version=form.version_number, actor=current_user
        ),
        template="people/edit.html",
        context={"person": person},
        saved=lambda: _loaded(person),
        done=url_for(".detail", person_id=person.id),
    )


def _loaded(person: Person) -> PersonForm:
    """The edit form as the saved person fills it."""
    form = _form(obj=person, formdata=None)
    form.tags.data = [t.name for t in person.tags]
    return form


@bp.route("/<int:person_id>/delete", methods=["GET", "POST"])
@permission_required(Permission.DELETE)
def delete(person_id: int):
    person = stakeholders.get(Person, person_id)
    if request.method == "POST":
        stakeholders.delete(person, actor=current_user)
        flash(_("“%(name)s” moved to the trash.", name=person.display_name), "success")
        return redirect(url_for(".index"))
    return render_template(
        "stakeholders/confirm_delete.html",
        stakeholder=person,
        cancel_url=url_for(".detail", person_id=person.id),
    )


def _download(body, name: str, ascii_name: str) -> Response:
    """A .vcf attachment; `filename*` (RFC 5987) carries a Chinese name, `filename` ASCII."""
    response = Response(body, mimetype="text/vcard")
    response.headers.set(
        "Content-Disposition",
        "attachment",
        filename=ascii_name,
        **{"filename*": f"UTF-8''{quote(name, safe='')}"},
    )
    # Personal data: no shared or browser cache keeps a copy.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:person_id>/vcard")
@permission_required(Permission.EXPORT_PERSONAL)
def download_vcard(person_id: int):
    person = stakeholders.get(Person, person_id)
    text = contacts.export_person(person, actor=current_user)
    return _download(text.encode("utf-8"), *contacts.vcard_filenames(person))


@bp.route("/export.vcf")
@permission_required(Permission.EXPORT_PERSONAL)
def export_vcards():
    # The same filters as the list page (index), so a filtered list exports as shown.
    args = list_args()
    criteria = stakeholders.PersonCriteria(
        q=args.text("q"),
        organisation_id=args.integer("organisation"),
        gender=args.choice("gender", Gender),
        tag=args.text("tag"),
        engagement_level=args.choice("level", EngagementLevel),
        owner_id=args.integer("owner"),
    )
    chunks = contacts.export_people(criteria, actor=current_user._get_current_object())
    body = stream_with_context(chunk.encode("utf-8") for chunk in chunks)
    day = clock.today().isoformat()
    return _download(body, _("people-%(day)s.vcf", day=day), f"people-{day}.vcf")


def _export_fields() -> list[exports.Field]:
    """The people list as a file (personal data: coordinators and up, recorded), read as one
    row of values per person. Contact details are left out once consent to communication or
    reports is withdrawn, names once consent to reports is (crm.services.consent)."""
    Field = exports.Field
    return [
        Field(_("Name"), exports.person_name(), width=28, shown=exports.anonymous),
        Field(_("Chinese name"), exports.person_detail(Person.chinese_name), width=16),
        Field(_("Family name"), exports.person_detail(Person.family_name), width=16),
        Field(_("Given name"), exports.person_detail(Person.given_name), width=16),
        Field(_("Gender"), Person.gender, width=12, shown=exports.labels(Gender)),
        Field(_("Job title"), Person.job_title, width=24),
        Field(_("Organisation"), exports.employer_names(), width=36),
        Field(_("Email"), exports.contact_column(Person.email), width=30),
        Field(_("Phone"), exports.contact_column(Person.phone), width=18),
        Field(_("WeChat ID"), exports.contact_column(Person.wechat_id), width=18),
        Field(
            _("Preferred language"),
            Person.preferred_language,
            width=12,
            shown=exports.labels(Language),
        ),
        Field(_("Consent"), Person.consent, width=12, shown=exports.labels(Consent)),
        Field(
            _("Engagement level"),
            Person.engagement_level,
            width=14,
            shown=exports.labels(EngagementLevel),
        ),
        Field(_("Influence"), Person.influence, "int"),
        Field(_("Interest"), Person.interest, "int"),
        Field(_("Owner"), exports.owner_name(Person), width=20),
        Field(_("Tags"), exports.tag_names(Person), width=24),
        Field(_("Updated"), Person.updated_at, "datetime"),
    ]


# The JSON API (crm.api) fills the same forms, with the same choices, from a JSON body.
def api_form(**kwargs: Any) -> PersonForm:
    """The person form with its choices (`formdata`, `obj` as for any form)."""
    return _form(**kwargs)


def api_new_form(**kwargs: Any) -> NewPersonForm:
    """The new-person form (with the employer) and its choices."""
    return _with_choices(NewPersonForm(**kwargs))


def api_loaded(person: Person) -> PersonForm:
    """The edit form as the saved person fills it."""
    return _loaded(person)
