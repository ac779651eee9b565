"""Reading a page as a browser would: the values a form would send, the text of an element,
the attributes of a tag. Standard library only (html.parser)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


@dataclass
class Tag:
    name: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Tag] = field(default_factory=list)

    def find_all(self, match) -> list[Tag]:  # type: ignore[no-untyped-def]
        found = [self] if match(self) else []
        for child in self.children:
            found += child.find_all(match)
        return found

    def find(self, match) -> Tag | None:  # type: ignore[no-untyped-def]
        found = self.find_all(match)
        return found[0] if found else None

    @property
    def content(self) -> str:
        """The text inside, whitespace collapsed."""
        return " ".join(self.text.split())


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Tag("document", {})
        self.open: list[Tag] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Tag(tag, {k: v if v is not None else "" for k, v in attrs})
        self.open[-1].children.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open[-1].children.append(Tag(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].name == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        for node in self.open:
            node.text += data


def parse(html: str) -> Tag:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree.root


def by_testid(html: str, testid: str) -> Tag:
    found = parse(html).find(lambda t: t.attrs.get("data-testid") == testid)
    assert found is not None, f'no element with data-testid="{testid}"'
    return found


def by_id(html: str, element_id: str) -> Tag:
    found = parse(html).find(lambda t: t.attrs.get("id") == element_id)
    assert found is not None, f'no element with id="{element_id}"'
    return found


def form_values(form: Tag) -> list[tuple[str, str]]:
    """What the browser would send for `form` without a click on a named button."""
    values: list[tuple[str, str]] = []
    for tag in form.find_all(lambda t: t.name in ("input", "select", "textarea")):
        name = tag.attrs.get("name")
        if not name or "disabled" in tag.attrs:
            continue
        kind = tag.attrs.get("type", "text")
        if tag.name == "input":
            if kind in ("submit", "button", "file", "reset", "image"):
                continue
            if kind in ("checkbox", "radio") and "checked" not in tag.attrs:
                continue
            default = "on" if kind in ("checkbox", "radio") else ""
            values.append((name, tag.attrs.get("value", default)))
        elif tag.name == "textarea":
            values.append((name, tag.text.removeprefix("\n")))
        else:
            options = tag.find_all(lambda t: t.name == "option")
            chosen = [o for o in options if "selected" in o.attrs]
            if not chosen and "multiple" not in tag.attrs and options:
                chosen = options[:1]
            values += [(name, o.attrs.get("value", o.text)) for o in chosen]
    return values


def edit_form(html: str) -> dict[str, list[str]]:
    """The values of the page's form that carries a `version` (an edit form), by name."""
    forms = parse(html).find_all(lambda t: t.name == "form")
    for form in forms:
        values = form_values(form)
        if any(name == "version" for name, _value in values):
            data: dict[str, list[str]] = {}
            for name, value in values:
                data.setdefault(name, []).append(value)
            return data
    raise AssertionError("no form with a version on the page")
