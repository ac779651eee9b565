from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.access import Permission, permission_required
from crm.blueprints.activities import bp
from crm.blueprints.activities.forms import (
    ActivityForm,
    AddParticipantsForm,
    BulkForm,
    HeadcountForm,
    NewParticipantForm,
    PartyForm,
    SignInSheetForm,
    TopicForm,
)
from crm.blueprints.common import attach_error, list_args, save_edit
from crm.blueprints.history import history_names
from crm.blueprints.reports import downloads
from crm.forms import BaseForm, id_choices
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    ActivityStatus,
    ActivityType,
    AgreementStatus,
    Gender,
    ImportKind,
    ParticipationRole,
    ParticipationStatus,
    Sector,
    Topic,
)
from crm.services import (
    accounts,
    activities,
    audit,
    calendars,
    clock,
    consent,
    imports,
    interactions,
    stakeholders,
    topics,
)
from crm.services.errors import Conflict, ServiceError
from crm.services.reporting import exports

FIRST_YEAR, LAST_YEAR = 1990, 2100


@bp.app_template_filter("topic")
def topic_name(topic: Topic) -> str:
    """A topic in the reader's language: the Chinese name for zh when there is one."""
    if str(get_locale()) == "zh" and topic.name_zh:
        return topic.name_zh
    return topic.name


def _form(*, keep: list[int] | None = None, **kwargs: Any) -> ActivityForm:
    form = ActivityForm(**kwargs)
    form.lead_id.choices = id_choices(accounts.active_user_choices(), blank="—")
    chosen = [*(keep or []), *(form.topic_ids.data or [])]
    form.topic_ids.choices = [(t.id, topic_name(t)) for t in topics.choices(keep=chosen)]
    return form


def _year(value: int | None) -> int | None:
    return value if value is not None and FIRST_YEAR <= value <= LAST_YEAR else None


@bp.route("")
def index():
    args = list_args()
    criteria = activities.Criteria(
        q=args.text("q"),
        type=args.choice("type", ActivityType),
        status=args.choice("status", ActivityStatus),
        sector=args.choice("sector", Sector),
        topic_id=args.integer("topic"),
        year=_year(args.integer("year")),
        city=args.text("city"),
        sort=args.sort(activities.SORTS, default="start"),
        descending=args.text("dir") != "asc",
    )
    fmt = downloads.requested_format()
    if fmt:
        rows = exports.iterate(activities.listing(criteria))
        sheet = exports.Sheet(_("Activities"), _activity_columns(), rows)
        return downloads.send(fmt, "activities", [sheet])
    page = activities.list_activities(criteria, page=args.page(), per_page=args.per_page())
    return render_template(
        "activities/index.html",
        page=page,
        criteria=criteria,
        topic_list=topics.all_topics(),
        cities=activities.cities(),
        years=activities.years(),
        attended=activities.attended_counts([a.id for a in page.items]),
    )


@bp.route("/calendar")
def calendar():
    first = activities.parse_month(request.args.get("month"), today=clock.today())
    if not FIRST_YEAR <= first.year <= LAST_YEAR:
        first = clock.today().replace(day=1)
    return render_template(
        "activities/calendar.html", month=activities.month(first), today=clock.today()
    )


@bp.route("/mous")
def mous():
    return render_template(
        "activities/mous.html",
        board=activities.mou_board(today=clock.today()),
        statuses=list(activities.MouStatus),
        warning_days=activities.EXPIRY_WARNING_DAYS,
    )


def _ics(
    body: bytes, filename: str, disposition: str = "attachment"
) -> tuple[bytes, int, dict[str, str]]:
    return (
        body,
        200,
        {
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, max-age=300",
        },
    )


@bp.route("/feed.ics")
def feed():
    """Upcoming activities for signed-in users. Calendar apps cannot sign in: they subscribe
    to the personal feed (/calendar/<token>.ics), which carries the same activities."""
    return _ics(calendars.activities_feed(today=clock.today()), "rbc-activities.ics", "inline")


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.EDIT_ACTIVITIES)
def new():
    form = _form()
    if request.method == "GET":
        form.version.data = "0"
        form.lead_id.data = current_user.id
        preset = request.args.get("type", "")
        if preset in {t.value for t in ActivityType}:
            form.type.data = preset
    if form.validate_on_submit():
        try:
            activity = activities.create(form.changes(), actor=current_user)
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("Activity “%(title)s” created.", title=activity.title), "success")
            return redirect(url_for(".detail", activity_id=activity.id))
    status = 400 if request.method == "POST" else 200
    return render_template("activities/edit.html", form=form, activity=None), status


def render_detail(activity: Activity, *, status: int = 200, **forms: BaseForm):
    """The activity page; a form that failed comes back in `forms` with its errors."""
    counts = forms.get("counts") or HeadcountForm(
        prefix="count", formdata=None, obj=activity, data={"version": str(activity.version)}
    )
    listed = interactions.list_interactions(
        interactions.Criteria(activity_id=activity.id), per_page=20
    )
    events = audit.history("activities", activity.id, limit=50)
    mou = None
    if activity.type == ActivityType.mou:
        mou = activities.mou_status(
            activity.agreement_status, activity.expires_on, today=clock.today()
        )
    return render_template(
        "activities/detail.html",
        activity=activity,
        parties=activities.parties(activity),
        participants=activities.participants(activity),
        reach=activities.reach(activity),
        mou_status=mou,
        party_form=forms.get("party") or PartyForm(prefix="party", formdata=None),
        add_form=forms.get("add") or AddParticipantsForm(prefix="add", formdata=None),
        new_form=forms.get("new") or NewParticipantForm(prefix="new", formdata=None),
        bulk_form=forms.get("bulk") or BulkForm(prefix="bulk", formdata=None),
        sheet_form=forms.get("sheet") or SignInSheetForm(prefix="sheet", formdata=None),
        count_form=counts,
        interaction_page=listed,
        can_see=lambda i: interactions.can_see_details(i, current_user),
        history=events,
        names=history_names(events),
    ), status


@bp.route("/<int:activity_id>/participants")
@permission_required(Permission.EXPORT_PERSONAL)
def export_participants(activity_id: int):
    """The participants of an activity as CSV or Excel (`?format=`; CSV when not given)."""
    activity = activities.get(activity_id)
    fmt = downloads.requested_format() or "csv"
    listed = activities.participants(activity)
    audit = downloads.check_personal(
        "participants",
        {"activity": activity.id, "format": fmt} | request.args.to_dict(),
        people=[p.person_id for p in listed],
    )
    sheet = exports.Sheet(_("Participants"), _participant_columns(), listed)
    return downloads.send(fmt, f"participants-{activity.id}", [sheet], audit=audit)


@bp.route("/<int:activity_id>")
def detail(activity_id: int):
    return render_detail(activities.get(activity_id))


@bp.route("/<int:activity_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.EDIT_ACTIVITIES)
def edit(activity_id: int):
    activity = activities.get(activity_id)
    if request.method == "GET":
        form = _loaded(activity)
    else:
        form = _form(obj=activity, keep=_topics(activity))
    return save_edit(
        form,
        activity,
        lambda: activities.update(
            activity, form.changes(), version=form.version_number, actor=current_user
        ),
        template="activities/edit.html",
        context={"activity": activity},
        saved=lambda: _loaded(activity),
        done=url_for(".detail", activity_id=activity.id),
    )


def _topics(activity: Activity) -> list[int]:
    return [t.id for t in activity.topics]


def _loaded(activity: Activity) -> ActivityForm:
    """The edit form as the saved activity fills it."""
    form = _form(obj=activity, keep=_topics(activity), formdata=None)
    form.topic_ids.data = _topics(activity)
    return form


@bp.route("/<int:activity_id>/delete", methods=["GET", "POST"])
@permission_required(Permission.DELETE)
def delete(activity_id: int):
    activity = activities.get(activity_id)
    if request.method == "POST":
        activities.delete(activity, actor=current_user)
        flash(_("“%(title)s” moved to the trash.", title=activity.title), "success")
        return redirect(url_for(".index"))
    return render_template("activities/delete.html", activity=activity)


@bp.route("/<int:activity_id>/activity.ics")
def download_ics(activity_id: int):
    activity = activities.get(activity_id)
    return _ics(calendars.activity_file(activity), f"activity-{activity.id}.ics")


# ---------------------------------------------------------------------------------------------
# Parties and participants (forms on the activity page)
# ---------------------------------------------------------------------------------------------


def _back(activity: Activity, anchor: str) -> Response:
    return redirect(url_for(".detail", activity_id=activity.id) + f"#{anchor}")


def _refused(
    activity: Activity, name: str, form: BaseForm, status: int = 400
) -> ResponseReturnValue:
    flash(_("Nothing was changed: see the form below."), "danger")
    return render_detail(activity, status=status, **{name: form})


@bp.route("/<int:activity_id>/parties", methods=["POST"])
@permission_required(Permission.EDIT_ACTIVITIES)
def add_party(activity_id: int):
    activity = activities.get(activity_id)
    form = PartyForm(prefix="party")
    if form.validate():
        try:
            party = activities.add_party(
                activity,
                organisation_id=form.organisation_id.data,
                role=form.role.data,
                actor=current_user,
            )
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(
                _("%(name)s added to the activity.", name=party.organisation.display_name),
                "success",
            )
            return _back(activity, "parties")
    return _refused(activity, "party", form)


@bp.route("/<int:activity_id>/parties/<int:party_id>/remove", methods=["POST"])
@permission_required(Permission.EDIT_ACTIVITIES)
def remove_party(activity_id: int, party_id: int):
    activity = activities.get(activity_id)
    party = activities.get_party(activity, party_id)
    name = party.organisation.display_name
    activities.remove_party(party, actor=current_user)
    flash(_("%(name)s removed from the activity.", name=name), "success")
    return _back(activity, "parties")


@bp.route("/<int:activity_id>/participants", methods=["POST"])
@permission_required(Permission.EDIT_ACTIVITIES)
def add_participants(activity_id: int):
    activity = activities.get(activity_id)
    form = AddParticipantsForm(prefix="add")
    form.people.labels = stakeholders.display_names(form.people.data or [])
    if form.validate():
        try:
            added = activities.add_participants(
                activity,
                form.people.data,
                status=form.status.data,
                role=form.role.data,
                actor=current_user,
            )
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("%(count)d added to the participants.", count=len(added)), "success")
            return _back(activity, "participants")
    return _refused(activity, "add", form)


@bp.route("/<int:activity_id>/attendance", methods=["POST"])
@permission_required(Permission.IMPORT)
def import_attendance(activity_id: int):
    """Stage a sign-in sheet; its rows are reviewed on the import pages, then committed."""
    activity = activities.get(activity_id)
    form = SignInSheetForm(prefix="sheet")
    if form.validate():
        upload = form.file.data
        limits = imports.Limits.from_config(current_app.config)
        try:
            table = imports.read_upload(
                upload.read(), upload.filename or "", kind=ImportKind.attendance, limits=limits
            )
            batch = imports.stage(
                table,
                kind=ImportKind.attendance,
                filename=upload.filename or "",
                actor=current_user,
                options={"activity_id": activity.id},
            )
        except ServiceError as err:
            form.file.errors = [*form.file.errors, str(err)]
        else:
            return redirect(url_for("imports.preview", batch_id=batch.id))
    return _refused(activity, "sheet", form)


@bp.route("/<int:activity_id>/participants/new", methods=["POST"])
@permission_required(Permission.EDIT_ACTIVITIES)
def new_participant(activity_id: int):
    activity = activities.get(activity_id)
    form = NewParticipantForm(prefix="new")
    if form.organisation_id.data and not form.organisation_id.display:
        form.organisation_id.display = stakeholders.display_name_of(form.organisation_id.data) or ""
    if form.validate():
        try:
            participation = activities.create_participant(
                activity,
                form.person_data(),
                organisation_id=form.organisation_id.data,
                status=form.status.data,
                role=form.role.data,
                allow_duplicates=form.create_anyway.data,
                actor=current_user,
            )
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(
                _(
                    "“%(name)s” created and added to the participants.",
                    name=participation.person.display_name,
                ),
                "success",
            )
            return _back(activity, "participants")
    return _refused(activity, "new", form)


@bp.route("/<int:activity_id>/participants/bulk", methods=["POST"])
@permission_required(Permission.EDIT_ACTIVITIES)
def bulk(activity_id: int):
    activity = activities.get(activity_id)
    form = BulkForm(prefix="bulk")
    if form.validate():
        try:
            count = activities.change_participants(
                activity,
                form.ids.data or [],
                status=form.status.data or None,
                role=form.role.data or None,
                actor=current_user,
            )
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(
                ngettext("%(num)d participant updated.", "%(num)d participants updated.", count),
                "success",
            )
            return _back(activity, "participants")
    return _refused(activity, "bulk", form)


@bp.route("/<int:activity_id>/participants/<int:participation_id>/remove", methods=["POST"])
@permission_required(Permission.EDIT_ACTIVITIES)
def remove_participant(activity_id: int, participation_id: int):
    activity = activities.get(activity_id)
    participation = activities.get_participation(activity, participation_id)
    name = participation.person.display_name
    activities.remove_participant(participation, actor=current_user)
    flash(_("%(name)s removed from the participants.", name=name), "success")
    return _back(activity, "participants")


@bp.route("/<int:activity_id>/headcounts", methods=["POST"])
@permission_required(Permission.EDIT_ACTIVITIES)
def headcounts(activity_id: int):
    activity = activities.get(activity_id)
    form = HeadcountForm(prefix="count")
    if form.validate():
        try:
            activities.update(
                activity,
                {name: form[name].data for name in activities.HEADCOUNTS},
                version=form.version_number,
                actor=current_user,
            )
        except Conflict as err:
            form.form_errors.append(str(err))
            form.version.data = str(activity.version)
            return _refused(activity, "counts", form, status=409)
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("Headcounts saved."), "success")
            return _back(activity, "reach")
    return _refused(activity, "counts", form)


# ---------------------------------------------------------------------------------------------
# Topics (administrators)
# ---------------------------------------------------------------------------------------------


def _topics_page(
    *, new_form: TopicForm | None = None, failed: TopicForm | None = None
) -> tuple[str, int]:
    rows = []
    for topic in topics.all_topics():
        prefix = f"t{topic.id}"
        if failed is not None and failed._prefix == f"{prefix}-":
            rows.append((topic, failed))
        else:
            rows.append((topic, TopicForm(prefix=prefix, formdata=None, obj=topic)))
    status = 400 if new_form is not None or failed is not None else 200
    return render_template(
        "activities/topics.html",
        rows=rows,
        new_form=new_form or TopicForm(prefix="new", formdata=None),
        missing=topics.missing_defaults(),
    ), status


@bp.route("/topics")
@permission_required(Permission.MANAGE_TOPICS)
def topic_list():
    return _topics_page()


@bp.route("/topics", methods=["POST"])
@permission_required(Permission.MANAGE_TOPICS)
def new_topic():
    form = TopicForm(prefix="new")
    if form.validate():
        try:
            topic = topics.create(form.name.data, form.name_zh.data, actor=current_user)
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("Topic “%(name)s” added.", name=topic.name), "success")
            return redirect(url_for(".topic_list"))
    return _topics_page(new_form=form)


@bp.route("/topics/<int:topic_id>", methods=["POST"])
@permission_required(Permission.MANAGE_TOPICS)
def edit_topic(topic_id: int):
    topic = topics.get(topic_id)
    form = TopicForm(prefix=f"t{topic.id}")
    if form.validate():
        try:
            topics.update(
                topic,
                name=form.name.data,
                name_zh=form.name_zh.data,
                is_active=form.is_active.data,
                actor=current_user,
            )
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("Topic “%(name)s” saved.", name=topic.name), "success")
            return redirect(url_for(".topic_list"))
    return _topics_page(failed=form)


@bp.route("/topics/defaults", methods=["POST"])
@permission_required(Permission.MANAGE_TOPICS)
def default_topics():
    added = topics.add_defaults(actor=current_user)
    flash(
        ngettext("%(num)d default topic added.", "%(num)d default topics added.", added),
        "success",
    )
    return redirect(url_for(".topic_list"))


def _activity_columns() -> list[exports.Column]:
    """The activity list as a file: what the page shows, dates, MoU terms, headcounts."""
    Col = exports.Column
    # Labels translated once per file, not once per row.
    kind, status = exports.labels(ActivityType), exports.labels(ActivityStatus)
    sector, agreement = exports.labels(Sector), exports.labels(AgreementStatus)
    return [
        Col(_("Start"), lambda a: a.start_on, "date"),
        Col(_("End"), lambda a: a.end_on, "date"),
        Col(_("Type"), lambda a: kind(a.type), width=14),
        Col(_("Title"), lambda a: a.title, width=40),
        Col(_("Chinese title"), lambda a: a.title_zh, width=30),
        Col(_("Status"), lambda a: status(a.status), width=12),
        Col(_("City"), lambda a: a.city, width=14),
        Col(_("Sector"), lambda a: sector(a.sector), width=20),
        Col(_("Topics"), lambda a: ", ".join(topic_name(t) for t in a.topics), width=40),
        Col(_("Lead"), lambda a: a.lead.name if a.lead else None, width=20),
        Col(_("Signed on"), lambda a: a.signed_on, "date"),
        Col(_("Expires on"), lambda a: a.expires_on, "date"),
        Col(_("Agreement status"), lambda a: agreement(a.agreement_status), width=14),
        Col(_("Unnamed women"), lambda a: a.unnamed_women, "int"),
        Col(_("Unnamed men"), lambda a: a.unnamed_men, "int"),
        Col(_("Unnamed, sex not recorded"), lambda a: a.unnamed_unspecified, "int"),
    ]


def _participant_columns() -> list[exports.Column]:
    """An activity's participants as a file (personal data: coordinators and up)."""
    Col = exports.Column
    gender = exports.labels(Gender)
    status, role = exports.labels(ParticipationStatus), exports.labels(ParticipationRole)
    return [
        Col(_("Name"), lambda p: consent.shown_name(p.person), width=28),
        Col(
            _("Chinese name"),
            lambda p: p.person.chinese_name if consent.is_named(p.person) else None,
            width=16,
        ),
        Col(_("Gender"), lambda p: gender(p.person.gender), width=12),
        Col(
            _("Organisation at the time"),
            lambda p: p.organisation.display_name if p.organisation else None,
            width=36,
        ),
        Col(_("Job title"), lambda p: p.person.job_title, width=24),
        Col(_("Email"), lambda p: exports.contact_detail(p.person, p.person.email), width=30),
        Col(_("Phone"), lambda p: exports.contact_detail(p.person, p.person.phone), width=18),
        Col(_("Status"), lambda p: status(p.status), width=12),
        Col(_("Role"), lambda p: role(p.role), width=12),
    ]


# The JSON API (crm.api) fills the same form, with the same choices, from a JSON body.
def api_form(activity: Activity | None = None, **kwargs: Any) -> ActivityForm:
    """The activity form with its choices; an activity's own topics stay offered."""
    return _form(keep=_topics(activity) if activity is not None else None, **kwargs)


def api_loaded(activity: Activity) -> ActivityForm:
    """The edit form as the saved activity fills it."""
    return _loaded(activity)
