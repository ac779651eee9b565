"""Issue 16, item 9: an upload error looks like an error.

Every file field (the import page, an activity's sign-in sheet) says what is wrong with the
file at the field, in red (Bootstrap's is-invalid and invalid-feedback), and tells a screen
reader (aria-invalid, aria-describedby pointing at the message); never as grey help text.
What the page says is read from its HTML, element by element.
"""

from __future__ import annotations

import io
from datetime import date

import pytest

from crm.access import Role
from crm.extensions import db
from crm.models import User
from crm.services import activities
from tests.markup import Tag, by_id, parse

PDF = (b"%PDF-1.4 not a sheet", "attendance.pdf")
EMPTY_CSV = (b"", "attendance.csv")
BINARY_CSV = (bytes(range(256)) * 8, "attendance.csv")


def _post_file(client, url: str, name: str, upload: tuple[bytes, str] | None, **data: str):
    if upload is not None:
        data[name] = (io.BytesIO(upload[0]), upload[1])  # type: ignore[assignment]
    return client.post(url, data=data, content_type="multipart/form-data")


def _field_error(html: str, field_id: str) -> str:
    """The error shown at the file field `field_id`, checked to be shown as an error."""
    page = parse(html)
    field = page.find(lambda t: "data-file-field" in t.attrs and _has(t, field_id))
    assert field is not None, f"no file field #{field_id}"
    box = field.find(lambda t: t.attrs.get("id") == field_id)
    assert box is not None and box.attrs.get("type") == "file"
    assert "is-invalid" in box.attrs.get("class", "").split()
    assert box.attrs.get("aria-invalid") == "true"
    error_id = f"{field_id}-error"
    assert error_id in box.attrs.get("aria-describedby", "").split()
    # The message is the field's own invalid-feedback, in the field, after the input.
    error = field.find(lambda t: t.attrs.get("id") == error_id)
    assert error is not None
    assert "invalid-feedback" in error.attrs.get("class", "").split()
    assert field.children.index(error) > field.children.index(box)
    # Never grey help text: no muted or form-text styling on the message.
    assert not {"form-text", "text-body-secondary", "text-muted"} & set(
        error.attrs.get("class", "").split()
    )
    assert error.content, "the error gives no reason"
    assert len(page.find_all(lambda t: t.attrs.get("id") == error_id)) == 1
    return error.content


def _has(tag: Tag, element_id: str) -> bool:
    return any(child.attrs.get("id") == element_id for child in tag.children)


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        (PDF, "not a .pdf file"),
        (None, "Choose a file to upload."),
        (EMPTY_CSV, ""),
        (BINARY_CSV, ""),
    ],
)
def test_a_bad_import_file_is_an_error_at_the_field(login_as, upload, reason):
    client = login_as(Role.coordinator)
    response = _post_file(client, "/imports", "file", upload, kind="people")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    message = _field_error(html, "file")
    assert reason in message
    # The help stays, as help, beside the error.
    help_text = by_id(html, "file-help")
    assert "form-text" in help_text.attrs["class"] and "CSV" in help_text.content
    assert by_id(html, "file").attrs["aria-describedby"] == "file-error file-help"


@pytest.mark.parametrize(
    ("upload", "reason"),
    [(PDF, "not a .pdf file"), (None, "Choose a file to upload."), (EMPTY_CSV, "")],
)
def test_a_bad_sign_in_sheet_is_an_error_at_the_field(login_as, in_app, actor, upload, reason):
    with in_app():
        training = {"type": "training", "title": "OSH training", "start_on": date(2026, 3, 4)}
        activity_id = activities.create(training, actor=db.session.get(User, actor.id)).id
    client = login_as(Role.coordinator)
    response = _post_file(client, f"/activities/{activity_id}/attendance", "sheet-file", upload)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert reason in _field_error(html, "sheet-file")
    sheet = by_id(html, "sign-in-sheet")
    assert "open" in sheet.attrs  # the form with the error is shown, not folded away


def test_a_file_field_without_an_error_is_not_marked_invalid(login_as):
    html = login_as(Role.coordinator).get("/imports").get_data(as_text=True)
    box = by_id(html, "file")
    assert "is-invalid" not in box.attrs["class"] and "aria-invalid" not in box.attrs
    assert box.attrs["aria-describedby"] == "file-help"  # the help, read with the field
    assert by_id(html, "file-error").content == ""  # empty, ready for the upload script
