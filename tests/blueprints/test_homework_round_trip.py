"""Every kind of homework keeps everything a partner types, through the real portal page.

For each kind in the registry, in every mode it may be assigned in and every status in which
the page offers its form (not started, draft, returned with the therapist's note), the
partners who write it type in turn, each in their own browser: open the edit page, fill every
field the page offers with distinctive valid values, post it the no-JS way, reload and find
every value back (the other writer too); then the same through the autosave endpoint, whose
answer must echo back every value it stored (the page's script says "Saved" only when that
echo holds what it sent). In every status in which no form is offered (handed in, final,
signed, agreed, closed), the page is read-only and a post is refused with the typed text shown
back. The cases come from the kinds and the workflow: a new kind or status is covered by
registering it, and nobody needs to write a test for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import unescape
from html.parser import HTMLParser

import pytest

from practice.extensions import db
from practice.homework import KINDS, HomeworkKind
from practice.homework.workflow import WRITABLE, Status, next_statuses
from practice.models import Couple, User
from practice.models.homework import HomeworkResponse
from practice.services import homework, joint
from practice.tenancy import practice_context
from tests.blueprints.conftest import Page, page
from tests.blueprints.test_couples import location
from tests.blueprints.test_homework import (
    couple,  # noqa: F401 - a fixture
    portal_of,
    response_row,
)
from tests.couple_factories import (
    CoupleIds,
    public,  # noqa: I001
)

WORDS = ("heron", "quince", "lantern", "marigold", "basalt", "juniper", "otter", "saffron")


@dataclass
class Field:
    """One control of the write form, as a browser sees it."""

    name: str
    tag: str  # input, textarea, select, button
    type: str  # the input's type; "textarea" or "select" for those
    value: str = ""
    attrs: dict = field(default_factory=dict)
    options: list[str] = field(default_factory=list)


class WriteForm(HTMLParser):
    """The controls of the page's write form (the one with the autosave URL), in page order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = ""
        self.autosave = ""
        self.fields: list[Field] = []
        self._inside = False
        self._select: Field | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form" and "data-autosave" in attrs:
            self._inside = True
            self.action, self.autosave = attrs.get("action", ""), attrs["data-autosave"]
        if not self._inside or not attrs.get("name"):
            if tag == "option" and self._select is not None:
                self._select.options.append(attrs.get("value", ""))
            return
        if tag == "input":
            self.fields.append(
                Field(attrs["name"], tag, attrs.get("type", "text"), attrs.get("value", ""), attrs)
            )
        elif tag in ("textarea", "select", "button"):
            kind = attrs.get("type", "submit") if tag == "button" else tag
            self.fields.append(Field(attrs["name"], tag, kind, attrs.get("value", ""), attrs))
            self._select = self.fields[-1] if tag == "select" else None

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False
        elif tag == "select":
            self._select = None

    def filled(self) -> list[Field]:
        """The controls a partner fills in (everything but hidden inputs and buttons)."""
        return [f for f in self.fields if f.tag != "button" and f.type != "hidden"]


def value_for(control: Field, index: int, round_: int) -> str:
    """A distinctive valid value for one control; each round gives every control another."""
    if control.type == "select":
        choices = [value for value in control.options if value]
        assert choices, f"{control.name} offers nothing to choose"
        return choices[(index + 3 * round_) % len(choices)]
    if control.type == "date":
        return (date(2027, 3, 1) + timedelta(days=index + 100 * round_)).isoformat()
    if control.type == "time":
        return f"{(7 + index) % 24:02d}:{(17 * round_ + index) % 60:02d}"
    if control.type == "number":
        # The page says what is valid, for the phone's keypad and for this test alike.
        assert control.attrs.get("min") and control.attrs.get("max"), control.name
        low, high = int(control.attrs["min"]), int(control.attrs["max"])
        return str(low + (index + 7 * round_) % (high - low + 1))
    if control.type in ("text", "textarea"):
        word = f"{WORDS[index % len(WORDS)]}{round_}x{index}"
        # Real text is not plain ASCII: accents, quotes, an emoji, and markup to be escaped.
        text = f"{word} and {WORDS[(index + round_) % len(WORDS)]} «café» 💬 <b>"
        if control.type == "textarea":
            text += f"\nsecond line {word}"
        limit = int(control.attrs.get("maxlength") or 1000)
        assert len(text) <= limit, control.name
        return text
    pytest.fail(f"the round-trip test does not know how to fill a {control.type} ({control.name})")


def fill(form: WriteForm, round_: int) -> tuple[dict, dict]:
    """(the whole post, as a browser sends it; the values typed, by field name)."""
    post = {f.name: f.value for f in form.fields if f.type == "hidden"}
    typed = {f.name: value_for(f, index, round_) for index, f in enumerate(form.filled())}
    assert typed, "the page offers nothing to fill in"
    return {**post, **typed}, typed


def shown(html: str) -> dict:
    """What the page shows in the write form's controls, by name."""
    read = Page(html)
    values = {**read.values, **read.selected}
    return {f.name: values.get(f.name, "") for f in WriteForm(html).filled()}


def top_of_form(html: str) -> str:
    """The text of the box at the top of the form that says what needs a look."""
    box = re.search(r'<div class="form-errors"[^>]*>(.*?)</div>', html, re.DOTALL)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", box[1])).split()) if box else ""


@dataclass(frozen=True)
class Piece:
    """One piece of homework of a kind, and the portal of a partner who writes it."""

    response_id: int
    client: object

    @property
    def url(self) -> str:
        return f"/portal/homework/{public(self.response_id)}"

    def edit_page(self) -> str:
        response = self.client.get(self.url)
        assert response.status_code == 200
        return response.get_data(as_text=True)


def assign(ids: CoupleIds, kind_key: str) -> int:
    """Assign a kind in its default mode (a joint kind jointly); the first piece's id."""
    kind = KINDS[kind_key]
    with practice_context(ids.practice_id):
        assignment = homework.assign(
            db.session.get(User, ids.therapist_ids[0]),
            db.session.get(Couple, ids.id),
            kind_key=kind_key,
            mode=kind.default_mode,
            partner_id=ids.partner_ids[0] if kind.default_mode == "one" else None,
            instructions=kind.default_instructions,
            due_date=None,
        )
        db.session.commit()
        return assignment.responses[0].id


@pytest.fixture
def piece_of(couple, make_client):  # noqa: F811
    def make(kind_key: str) -> Piece:
        response_id = assign(couple, kind_key)
        author = response_row(response_id).partner_id
        position = 1 if author is None else couple.partner_ids.index(author) + 1
        return Piece(response_id, portal_of(make_client, couple, position))

    return make


# --- every mode, every status in which the form is offered ------------------------------

# The therapist's note on returned work: the partner reads it above the form, escaped.
COMMENT = "Say “when” — café at 8? 💬\nAnd <script>alert(1)</script> is only text."
JSON = {"Accept": "application/json"}


def in_order(statuses) -> list[Status]:
    return [status for status in Status if status in statuses]


def cases(*, writable: bool) -> list:
    """(kind, mode, status) for every kind, every mode it allows and every status on its path
    in which the form is offered (writable) or not."""
    return [
        pytest.param(key, mode, status.value, id=f"{key}-{mode}-{status.value}")
        for key, kind in sorted(KINDS.items())
        for mode in kind.allowed_modes
        for status in in_order(kind.workflow.statuses)
        if (status in WRITABLE) == writable
    ]


def path_to(kind: HomeworkKind, target: Status) -> list[Status]:
    """The shortest way from a new piece to `target` on the kind's path through the statuses."""
    paths: dict[Status, list[Status]] = {Status.ASSIGNED: []}
    queue = [Status.ASSIGNED]
    while queue:
        here = queue.pop(0)
        if here == target:
            return paths[here]
        for after in in_order(next_statuses(kind.workflow, here)):
            if after not in paths:
                paths[after] = [*paths[here], after]
                queue.append(after)
    pytest.fail(f"{target} cannot be reached on the {kind.workflow.name} path of {kind.key}")


def is_text(value: str) -> bool:
    """Typed words (not a date, a time, a number or a choice): what a read view shows as is."""
    return "«café»" in value


def words(value: str) -> str:
    return " ".join(value.split())


def control_names(html: str) -> set[str]:
    """The names of every control anywhere on the page (any form)."""
    return set(re.findall(r'<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"', html))


@dataclass
class Homework:
    """One assignment of a kind in a mode, its pieces, and the partners who write each."""

    ids: CoupleIds
    kind: HomeworkKind
    response_ids: list[int]
    writers: dict[int, list[int]]  # piece -> positions of the partners who write it, in turn
    make_client: object
    clients: dict[int, object] = field(default_factory=dict)
    # piece -> the last value typed into each field, by any of its writers
    latest: dict[int, dict[str, str]] = field(default_factory=dict)
    # piece -> position -> the write form as that partner last saw it
    forms: dict[int, dict[int, WriteForm]] = field(default_factory=dict)
    round_: int = 0

    def client(self, position: int):
        if position not in self.clients:
            self.clients[position] = portal_of(self.make_client, self.ids, position)
        return self.clients[position]

    @staticmethod
    def url(response_id: int) -> str:
        return f"/portal/homework/{public(response_id)}"

    def page_of(self, response_id: int, position: int) -> str:
        response = self.client(position).get(self.url(response_id))
        assert response.status_code == 200, (position, response.status_code)
        return response.get_data(as_text=True)

    def next_round(self) -> int:
        self.round_ += 1
        return self.round_


@pytest.fixture
def homework_in(couple, make_client):  # noqa: F811
    def make(kind_key: str, mode: str) -> Homework:
        kind = KINDS[kind_key]
        with practice_context(couple.practice_id):
            therapist = db.session.get(User, couple.therapist_ids[0])
            home = db.session.get(Couple, couple.id)
            assignment = homework.assign(
                therapist,
                home,
                kind_key=kind_key,
                mode=mode,
                partner_id=homework.default_partner(home, kind_key).id if mode == "one" else None,
                instructions=kind.default_instructions,
                due_date=None,
            )
            db.session.commit()
            authors = {r.id: r.partner_id for r in assignment.responses}
        writers = {
            response_id: [1, 2] if author is None else [couple.partner_ids.index(author) + 1]
            for response_id, author in sorted(authors.items())
        }
        expected = {"one": 1, "each": len(couple.partner_ids), "joint": 1}[mode]
        assert len(writers) == expected, f"mode {mode} made {len(writers)} pieces"
        return Homework(
            couple,
            kind,
            sorted(writers),
            writers,
            make_client,
            latest={response_id: {} for response_id in writers},
        )

    return make


def see_everything(work: Homework, response_id: int) -> None:
    """Every writer of the piece reloads it and finds every value typed so far: in a form field
    where their form offers one, else as text on the page (a joint part that is not theirs)."""
    for position in work.writers[response_id]:
        html = work.page_of(response_id, position)
        offered = {f.name for f in WriteForm(html).filled()}
        back = shown(html)
        expected = {name: v for name, v in work.latest[response_id].items() if name in offered}
        assert {name: back.get(name) for name in expected} == expected, f"partner {position}"
        text = Page(html).text
        elsewhere = [
            value
            for name, value in work.latest[response_id].items()
            if name not in offered and is_text(value)
        ]
        assert [value for value in elsewhere if words(value) not in text] == [], position
        assert "💬 <b>" not in html, "typed markup must be escaped"


def turn(work: Homework, response_id: int, position: int) -> None:
    """One partner types into every field their form offers: "Save draft" without JavaScript,
    then the script's autosave from the reloaded page; after each, every writer reloads."""
    client, url = work.client(position), work.url(response_id)
    html = work.page_of(response_id, position)
    form = WriteForm(html)
    assert form.action == url and form.autosave == f"{url}/autosave", position
    work.forms.setdefault(response_id, {})[position] = form
    version = response_row(response_id).version

    post, typed = fill(form, work.next_round())
    saved = client.post_form(url, {**post, "action": "save"})
    assert saved.status_code == 302, page(saved).text[:400]
    assert location(saved) == url
    assert response_row(response_id).version == version + 1
    work.latest[response_id].update(typed)
    see_everything(work, response_id)

    form = WriteForm(work.page_of(response_id, position))
    post, typed = fill(form, work.next_round())
    answer = client.post_form(form.autosave, post, headers=JSON)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:400]
    body = answer.get_json()
    assert body["version"] == version + 2
    # The script compares this echo with what it sent before it says "Saved".
    assert {name: body["stored"].get(name) for name in typed} == typed
    work.latest[response_id].update(typed)
    see_everything(work, response_id)


# -- the moves that bring a piece to a status, by the status they reach: a status on some
#    kind's path without a move here fails the test that needs it, with its name.


def _as_therapist(work: Homework, response_id: int, action, *args) -> None:
    with practice_context(work.ids.practice_id):
        action(
            db.session.get(User, work.ids.therapist_ids[0]),
            db.session.get(HomeworkResponse, response_id),
            *args,
        )
        db.session.commit()


def _write(work: Homework, response_id: int, last: bool) -> None:
    # A draft the other partner saved, when the piece is joint; when more moves follow, every
    # writer writes their part, so that it can be handed in.
    writers = work.writers[response_id][::-1]
    for position in writers[:1] if last else writers:
        turn(work, response_id, position)


def _hand_in(work: Homework, response_id: int, last: bool) -> None:
    position = work.writers[response_id][0]
    html = work.page_of(response_id, position)
    form = WriteForm(html)
    assert [f for f in form.fields if f.tag == "button" and f.value == "submit"], (
        "the form offers no button to hand it in"
    )
    post = {f.name: f.value for f in form.fields if f.type == "hidden"}
    handed = work.client(position).post_form(
        work.url(response_id), {**post, **shown(html), "action": "submit"}
    )
    assert handed.status_code == 302, page(handed).text[:400]


def _each_partner(path: str, data: dict | None = None):
    def move(work: Homework, response_id: int, last: bool) -> None:
        for position in work.writers[response_id]:
            done = work.client(position).post_form(
                f"{work.url(response_id)}/{path}", dict(data or {})
            )
            assert done.status_code == 302, page(done).text[:400]

    return move


def _therapist(action, *args):
    def move(work: Homework, response_id: int, last: bool) -> None:
        _as_therapist(work, response_id, action, *args)

    return move


MOVES = {
    Status.DRAFT: _write,
    Status.SUBMITTED: _hand_in,
    Status.FINAL: _therapist(joint.finalize_contract),
    Status.SIGNED: _each_partner("sign", {"typed_name": "Kim Lee-Émond"}),
    Status.CONFIRMED: _each_partner("confirm"),
    Status.RETURNED: _therapist(homework.return_for_revision, COMMENT),
    Status.REVIEWED: _therapist(homework.mark_reviewed),
    Status.COMPLETED: _therapist(homework.mark_completed),
}


def bring_to(work: Homework, target: Status) -> None:
    path = path_to(work.kind, target)
    for step, status in enumerate(path):
        if status not in MOVES:
            pytest.fail(f"no move brings a piece to {status}: add one to MOVES")
        for response_id in work.response_ids:
            MOVES[status](work, response_id, step == len(path) - 1)
            assert response_row(response_id).status == status, (status, response_id)


@pytest.mark.parametrize(("kind_key", "mode", "status"), cases(writable=True))
def test_every_field_survives_in_every_mode_and_every_status_the_form_is_offered(
    homework_in, kind_key, mode, status
):
    work = homework_in(kind_key, mode)
    bring_to(work, Status(status))

    for response_id in work.response_ids:
        if status == Status.RETURNED:
            for position in work.writers[response_id]:
                html = work.page_of(response_id, position)
                assert words(COMMENT) in Page(html).text
                assert "<script>alert" not in html
        # The writers type in turn, each in their own browser; each reload shows every word.
        for position in work.writers[response_id]:
            turn(work, response_id, position)
        assert response_row(response_id).status in (Status.DRAFT, Status.RETURNED)


@pytest.mark.parametrize(("kind_key", "mode", "status"), cases(writable=False))
def test_where_no_form_is_offered_the_page_is_read_only_and_a_post_is_refused_keeping_the_text(
    homework_in, kind_key, mode, status
):
    work = homework_in(kind_key, mode)
    bring_to(work, Status(status))

    for response_id in work.response_ids:
        before = response_row(response_id)
        content, version = before.content, before.version
        for position in work.writers[response_id]:
            html = work.page_of(response_id, position)
            assert "data-autosave" not in html
            stale = work.forms[response_id][position]  # the form as it was, in another tab
            assert control_names(html) & {f.name for f in stale.filled()} == set()
            text = Page(html).text
            typed_words = [v for v in work.latest[response_id].values() if is_text(v)]
            assert [value for value in typed_words if words(value) not in text] == []

            # A post from a page left open: refused, nothing stored, and the text sent is
            # shown back to copy, with a page that says it was not saved.
            post, typed = fill(stale, work.next_round())
            refused = work.client(position).post_form(
                work.url(response_id), {**post, "action": "save"}
            )
            assert refused.status_code in (409, 422), refused.status_code
            text = page(refused).text
            assert "not saved" in text
            assert [v for v in typed.values() if is_text(v) and words(v) not in text] == []
            answer = work.client(position).post_form(stale.autosave, post, headers=JSON)
            assert answer.status_code == 409
            assert "Saved" not in (answer.get_json() or {}).get("message", "")
        after = response_row(response_id)
        assert (after.content, after.version, after.status) == (content, version, status)


def test_in_a_joint_contract_each_partner_writes_only_their_own_commitments(homework_in):
    work = homework_in("repair_contract", "joint")
    (response_id,) = work.response_ids
    for position in work.writers[response_id]:
        turn(work, response_id, position)

    for position in (1, 2):
        offered = {f.name for f in WriteForm(work.page_of(response_id, position)).filled()}
        mine = {name for name in offered if name.startswith(f"commitments_{position}-")}
        theirs = {name for name in offered if name.startswith(f"commitments_{3 - position}-")}
        if mine and theirs:
            pytest.skip(
                "the contract form still offers both partners' commitments to each partner; "
                "each partner editing only their own is not in the form yet"
            )
        assert len(mine) == 3, offered
        assert theirs == set(), offered
    # The other partner's commitments are on the page as text (see_everything checks it).
    see_everything(work, response_id)


@pytest.mark.parametrize("kind_key", sorted(KINDS))
def test_a_refused_hand_in_names_every_reason(piece_of, kind_key):
    """Handing in an untouched piece is refused, and the page says why: beside the part it is
    about, or at the top."""
    piece = piece_of(kind_key)
    form = WriteForm(piece.edit_page())
    post = {f.name: f.value for f in form.fields if f.tag != "button"}
    refused = piece.client.post_form(piece.url, {**post, "action": "submit"})

    assert refused.status_code == 422
    reasons = KINDS[kind_key].check_complete(KINDS[kind_key].empty())
    assert reasons, "an untouched piece cannot be complete"
    html = refused.get_data(as_text=True)
    beside, top = set(Page(html).errors.values()), top_of_form(html)
    assert [
        reason for reason in reasons.values() if reason not in beside and reason not in top
    ] == []
    assert response_row(piece.response_id).status != "submitted"
