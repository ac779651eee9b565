"""Personal data as PIPL and GDPR expect (issue #11): access, erasure, retention, the audit.

Callers use the package as one service (`personal_data.erase(...)`,
`personal_data.collect(...)`, `personal_data.run_retention(...)`); the rules live in one
module each:

* `subject_access`: everything held about one person, as plain values, audited ("access").
* `erasure`: a person anonymised irreversibly while every figure built on them stays the
  same; also what purging a person from the trash does.
* `retention`: who is past the retention period and why, the run that erases them, and the
  exemptions administrators grant.
* `audit_log`: the personal-data events administrators review on /admin/audit.

Consent by purpose is crm.services.consent.
"""

from __future__ import annotations

from crm.services.personal_data import audit_log, erasure, retention, subject_access
from crm.services.personal_data.erasure import (
    ERASED,
    anonymise,
    erase,
    erased_name,
    may_erase,
    purge,
)
from crm.services.personal_data.retention import (
    Due,
    RunReport,
    check_years,
    due,
    due_page,
    exempt,
)
from crm.services.personal_data.retention import run as run_retention
from crm.services.personal_data.subject_access import SubjectAccess, collect, may_export

__all__ = [
    "ERASED",
    "Due",
    "RunReport",
    "SubjectAccess",
    "anonymise",
    "audit_log",
    "check_years",
    "collect",
    "due",
    "due_page",
    "erase",
    "erased_name",
    "erasure",
    "exempt",
    "may_erase",
    "may_export",
    "purge",
    "retention",
    "run_retention",
    "subject_access",
]
