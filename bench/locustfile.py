"""The simulated team of `make loadtest` (run by bench/load.py as its own locust process).

Each simulated user signs in with its own account (bench/load.py wrote them to the file
named by LOAD_TEAM) and works as its role does: coordinators log interactions, members
complete their follow-ups, managers open the reports and export; everyone searches and
browses. Requests are grouped under stable names so the table reads per endpoint.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from locust import HttpUser, between, task

TEAM = json.loads(Path(os.environ["LOAD_TEAM"]).read_text(encoding="utf-8"))
_accounts = {
    role: itertools.cycle([u["email"] for u in TEAM["users"] if u["role"] == role])
    for role in ("coordinator", "member", "manager")
}
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
_COMPLETE = re.compile(r'action="(/follow-ups/(\d+)/complete)"')
SEARCHES = ("华为", "huawei", "hw", "王", "wang", "textile", "深圳", "shenzhen")
ZONE = ZoneInfo("Asia/Shanghai")  # the programme's, as the form expects local times
YEAR = datetime.now(ZONE).year


def _attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return found.group(1) if found else None


def _hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in _HIDDEN.findall(html):
        name, value = _attribute(tag, "name"), _attribute(tag, "value")
        if name:
            fields[name] = value or ""
    return fields


class TeamMember(HttpUser):
    abstract = True
    role = ""
    wait_time = between(1, 4)

    def on_start(self) -> None:
        email = next(_accounts[self.role])
        page = self.client.get("/login", name="sign in form")
        token = _CSRF.search(page.text)
        data = {"email": email, "password": TEAM["password"]}
        if token:
            data["csrf_token"] = token.group(1)
        with self.client.post(
            "/login", data=data, name="sign in", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in answered {response.status_code}")

    def _get(self, path: str, name: str) -> Any:
        return self.client.get(path, name=name)

    @task(3)
    def dashboard(self) -> None:
        self._get("/", "dashboard")

    @task(2)
    def organisations(self) -> None:
        page = random.randint(1, 3)
        self._get(f"/organisations?page={page}", "organisations")

    @task(2)
    def people(self) -> None:
        self._get("/people", "people")

    @task(3)
    def search(self) -> None:
        self._get(f"/search?q={random.choice(SEARCHES)}", "search")

    @task(3)
    def typeahead(self) -> None:
        self._get(f"/search.json?q={random.choice(SEARCHES)}&type=organisation", "typeahead")

    @task(2)
    def organisation(self) -> None:
        self._get(f"/organisations/{random.choice(TEAM['organisations'])}", "organisation")

    @task(1)
    def person(self) -> None:
        self._get(f"/people/{random.choice(TEAM['people'])}", "person")


class Coordinator(TeamMember):
    role = "coordinator"
    weight = 4

    @task(4)
    def log_interaction(self) -> None:
        form = self._get("/interactions/new", "interaction form")
        data = _hidden_fields(form.text)
        data.update(
            occurred_at=datetime.now(ZONE).strftime("%Y-%m-%dT%H:%M"),
            channel=random.choice(("meeting", "call", "wechat", "email")),
            direction="outbound",
            stakeholders=str(random.choice(TEAM["stakeholders"])),
            subject="Follow-up on supplier audit",
            summary="Discussed the training plan and the next visit.",
        )
        with self.client.post(
            "/interactions/new",
            data=data,
            name="log interaction",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"logging answered {response.status_code}")

    @task(2)
    def interactions(self) -> None:
        self._get("/interactions", "interactions")

    @task(1)
    def activity(self) -> None:
        self._get(f"/activities/{random.choice(TEAM['activities'])}", "activity")


class Member(TeamMember):
    role = "member"
    weight = 4

    @task(4)
    def complete_follow_up(self) -> None:
        mine = self._get("/follow-ups/mine", "my follow-ups")
        actions = _COMPLETE.findall(mine.text)
        token = _CSRF.search(mine.text)
        if not actions or not token:
            return
        path, _ = random.choice(actions)
        with self.client.post(
            path,
            data={"csrf_token": token.group(1), "done-note": "Done by phone."},
            name="complete follow-up",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"completing answered {response.status_code}")

    @task(1)
    def calendar(self) -> None:
        self._get("/activities/calendar", "activity calendar")


class Manager(TeamMember):
    role = "manager"
    weight = 2

    @task(3)
    def report(self) -> None:
        year = YEAR - random.randint(0, 1)
        self._get(f"/reports?start={year}-01-01&end={year}-12-31", "engagement report")

    @task(2)
    def indicators(self) -> None:
        self._get(f"/reports/indicators?year={YEAR}", "donor indicators")

    @task(1)
    def export(self) -> None:
        fmt = random.choice(("csv", "xlsx"))
        self._get(f"/organisations?format={fmt}", f"export organisations {fmt}")
