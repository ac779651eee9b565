"""Programme activities: trainings, forums, MoUs and research, their parties and participants.

Callers use the package as one service (`activities.create(...)`, `activities.enrol(...)`,
`activities.reach(...)`); the rules live in one module each:

* `records`: the activity itself: its fields and their validation, create, update, delete
  (to the trash), restore and purge, the list page's criteria and filters, and its search
  document.
* `parties`: organisations linked to an activity with a role (host, signatory, ...).
* `participants`: people on the activity's list; `enrol` is the flush-only building block
  that the participant forms and the attendance-sheet import (crm.services.imports) share.
* `reach`: who an activity reached, counted in the database; the definition is written
  once more as a pure function (`compute_reach`) that the tests compare it with.
* `mous`: where an MoU stands on a given day, and the MoU board.
* `calendar`: the month calendar.

Every public function that writes checks the actor's permission, validates everything before
writing, records its audit event on the activity and commits once; `enrol` only flushes.

Three modules share a name with a function they hold (`parties`, `participants`, `reach`):
the package attribute is the function. Import from the module by its full path
(`from crm.services.activities.reach import compute_reach`), never `import ... as`.
"""

from __future__ import annotations

from crm.services.activities.calendar import Day, Month, build_month, month, parse_month
from crm.services.activities.mous import (
    EXPIRY_WARNING_DAYS,
    MouBoard,
    MouRow,
    MouStatus,
    mou_board,
    mou_status,
)
from crm.services.activities.participants import (
    PERSON_CONTACT,
    PERSON_ON_THE_SPOT,
    Enrolment,
    PersonActivity,
    add_participants,
    change_participants,
    create_participant,
    current_organisations,
    enrol,
    for_organisation,
    for_person,
    get_participation,
    participants,
    remove_participant,
)
from crm.services.activities.parties import add_party, get_party, parties, remove_party
from crm.services.activities.reach import (
    Attendee,
    Headcounts,
    OrgFacts,
    Reach,
    attended_counts,
    compute_reach,
    reach,
)
from crm.services.activities.records import (
    FIELDS,
    HEADCOUNTS,
    LIFECYCLE,
    MAX_DESCRIPTION,
    MAX_HEADCOUNT,
    MOU_FIELDS,
    SORTS,
    Criteria,
    cities,
    create,
    delete,
    document,
    filtered,
    get,
    index,
    list_activities,
    listing,
    purge,
    register_index,
    restore,
    state,
    update,
    years,
)

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "FIELDS",
    "HEADCOUNTS",
    "LIFECYCLE",
    "MAX_DESCRIPTION",
    "MAX_HEADCOUNT",
    "MOU_FIELDS",
    "PERSON_CONTACT",
    "PERSON_ON_THE_SPOT",
    "SORTS",
    "Attendee",
    "Criteria",
    "Day",
    "Enrolment",
    "Headcounts",
    "Month",
    "MouBoard",
    "MouRow",
    "MouStatus",
    "OrgFacts",
    "PersonActivity",
    "Reach",
    "add_participants",
    "add_party",
    "attended_counts",
    "build_month",
    "change_participants",
    "cities",
    "compute_reach",
    "create",
    "create_participant",
    "current_organisations",
    "delete",
    "document",
    "enrol",
    "filtered",
    "for_organisation",
    "for_person",
    "get",
    "get_participation",
    "get_party",
    "index",
    "list_activities",
    "listing",
    "month",
    "mou_board",
    "mou_status",
    "parse_month",
    "participants",
    "parties",
    "purge",
    "reach",
    "register_index",
    "remove_participant",
    "remove_party",
    "restore",
    "state",
    "update",
    "years",
]
