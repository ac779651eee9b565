"""Organisations and people (stakeholders): their records, lists and links.

Callers use the package as one service (`stakeholders.create_person(...)`,
`stakeholders.list_people(...)`, `stakeholders.add_affiliation(...)`); the rules live in one
module each:

* `records`: the fields of each kind and the columns derived from them, create, update,
  delete (to the trash), restore and purge, and `get`. `insert` and `apply_changes` are the
  flush-only building blocks that the import pipeline and participant quick-create share
  with the forms.
* `listing`: the list pages' criteria and queries (also read by the exports and vCards),
  and the small lookups of forms and filters.
* `links`: positions of people at organisations and relationships between records;
  `attach` is the flush-only building block for a new position.

Every public function that writes checks the actor's permission, records its audit events
and commits once; `insert`, `apply_changes` and `attach` only flush, and their caller
commits.
"""

from __future__ import annotations

from crm.services.stakeholders.links import (
    RelationshipView,
    add_affiliation,
    add_relationship,
    affiliations_of_organisation,
    affiliations_of_person,
    attach,
    current_organisation,
    end_affiliation,
    end_relationship,
    relationships_of,
)
from crm.services.stakeholders.listing import (
    ORGANISATION_SORTS,
    PERSON_SORTS,
    OrganisationCriteria,
    PersonCriteria,
    display_name_of,
    display_names,
    list_organisations,
    list_people,
    organisation_choices,
    organisation_type_counts,
    organisations_listing,
    organisations_query,
    people_listing,
    people_query,
    stakeholder_choices,
    tag_names,
    unknown_provinces,
)
from crm.services.stakeholders.records import (
    AUDITED,
    COMMON_FIELDS,
    LIFECYCLE,
    ORGANISATION_FIELDS,
    PERSON_FIELDS,
    apply_changes,
    create_organisation,
    create_person,
    delete,
    derive,
    fields_of,
    get,
    insert,
    person_display_name,
    purge,
    refresh_derived,
    restore,
    state,
    update,
)

__all__ = [
    "AUDITED",
    "COMMON_FIELDS",
    "LIFECYCLE",
    "ORGANISATION_FIELDS",
    "ORGANISATION_SORTS",
    "PERSON_FIELDS",
    "PERSON_SORTS",
    "OrganisationCriteria",
    "PersonCriteria",
    "RelationshipView",
    "add_affiliation",
    "add_relationship",
    "affiliations_of_organisation",
    "affiliations_of_person",
    "apply_changes",
    "attach",
    "create_organisation",
    "create_person",
    "current_organisation",
    "delete",
    "derive",
    "display_name_of",
    "display_names",
    "end_affiliation",
    "end_relationship",
    "fields_of",
    "get",
    "insert",
    "list_organisations",
    "list_people",
    "organisation_choices",
    "organisation_type_counts",
    "organisations_listing",
    "organisations_query",
    "people_listing",
    "people_query",
    "person_display_name",
    "purge",
    "refresh_derived",
    "relationships_of",
    "restore",
    "stakeholder_choices",
    "state",
    "tag_names",
    "unknown_provinces",
    "update",
]
