"""Who hears of each swap step, through the outbox, exactly once; a refusal stays refused; the badge."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.errors import NotAllowed
from legalaid.extensions import db
from legalaid.lawyers.services import add_unavailability
from legalaid.reminders.forms import KIND_LABELS
from legalaid.reminders.models import EXPIRED, PENDING, SENT, OutboxMessage
from legalaid.reminders.senders import TEMPLATES, render
from legalaid.roster import services as roster
from legalaid.roster.models import DutyShift
from legalaid.stations.services import StationSettings, update_station
from legalaid.swaps import notices
from legalaid.swaps import services as swaps
from legalaid.swaps.models import ACCEPTED, APPROVED, REJECTED
from tests.conftest import csrf_token, login

TODAY = date(2026, 3, 1)
MORNING = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in the station's zone, outside the quiet hours


@pytest.fixture
def clock():
    """The swaps happen on the morning of 1 March 2026, station time."""
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def setting(app, clock, make_station, make_lawyer, make_user):
    """A station with three lawyers and a generated March; two administrators and a deactivated one."""
    station = make_station("调班站")
    trio = [make_lawyer(station, name=n) for n in ("甲", "乙", "丙")]
    roster.apply_rotation(station, date(2026, 3, 3), date(2026, 3, 31), today=TODAY)
    db.session.commit()
    chief = make_user("admin", username="chief", email="chief@example.org")
    bureau = make_user("admin", username="bureau")
    gone = make_user("admin", username="gone", email="gone@example.org")
    gone.active = False
    db.session.commit()
    return station, trio, chief, bureau


def _shift_of(station, lawyer):
    return next(
        s
        for s in roster.shifts_between(station, date(2026, 3, 2), date(2026, 3, 31))
        if s.lawyer_id == lawyer.id
    )


def _sent(kind: str | None = None) -> list[tuple[str, str, int | None, str]]:
    """(kind, recipient type, recipient id, template) of the swap messages queued, in order."""
    query = sa.select(OutboxMessage).where(OutboxMessage.kind.startswith("swap_")).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return [(m.kind, m.recipient_type, m.recipient_id, m.template) for m in db.session.scalars(query)]


def _message(kind: str, recipient_id: int) -> OutboxMessage:
    return db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.kind == kind, OutboxMessage.recipient_id == recipient_id)
    )


def test_the_colleague_asked_hears_once(setting):
    station, (a, b, _c), _chief, _bureau = setting
    shift = _shift_of(station, a)
    swap = swaps.request_swap(shift, a, b, "家中有事", today=TODAY)
    db.session.commit()
    assert _sent() == [("swap_asked", "lawyer", b.id, "swap_asked")]
    message = _message("swap_asked", b.id)
    assert message.channel == "sms" and message.address == b.mobile
    assert message.due_at == MORNING and message.status == PENDING
    link = message.params.pop("link")
    assert link.endswith("/me/swaps")
    assert message.params == {
        "day": f"{shift.duty_on:%Y-%m-%d}",
        "station": "调班站",
        "from": "甲",
        "to": "乙",
    }
    assert message.dedupe_key == f"swap-asked:{swap.id}:{b.id}"
    subject, body = render(message)
    assert subject and "甲" in body and "调班站" in body and f"{shift.duty_on:%Y-%m-%d}" in body
    with pytest.raises(NotAllowed):
        swaps.request_swap(shift, a, b, today=TODAY)  # asked again: refused, nobody hears twice
    db.session.rollback()
    assert len(_sent()) == 1


def test_an_offer_to_anyone_reaches_each_colleague_who_could_take_it(setting, make_lawyer):
    station, (a, b, c), _chief, _bureau = setting
    shift = _shift_of(station, a)
    add_unavailability(c, shift.duty_on, shift.duty_on, "出差")
    retired = make_lawyer(station, name="丁")
    retired.active = False
    db.session.commit()
    swaps.request_swap(shift, a, None, today=TODAY)
    db.session.commit()
    assert _sent() == [("swap_offered", "lawyer", b.id, "swap_offered")]


def test_acceptance_tells_the_administrators_of_the_station(setting):
    station, (a, b, _c), chief, bureau = setting
    swap = swaps.request_swap(_shift_of(station, a), a, b, today=TODAY)
    swaps.accept_swap(swap, b, today=TODAY)
    db.session.commit()
    assert _sent("swap_accepted") == [
        ("swap_accepted", "user", chief.id, "swap_accepted"),
        ("swap_accepted", "user", bureau.id, "swap_accepted"),
    ]  # not a deactivated one
    assert _message("swap_accepted", chief.id).address == "chief@example.org"
    assert _message("swap_accepted", bureau.id).channel == "log"  # no e-mail: the outbox page shows it
    assert _message("swap_accepted", chief.id).params["link"].endswith("/admin/swaps")
    # Answered before it was sent, the question is no longer worth sending.
    assert _message("swap_asked", b.id).status == EXPIRED


def test_approval_tells_both_lawyers_and_a_replay_tells_nobody_again(setting):
    station, (a, b, _c), chief, bureau = setting
    swap = swaps.request_swap(_shift_of(station, a), a, b, today=TODAY)
    swaps.accept_swap(swap, b, today=TODAY)
    swaps.approve_swap(swap, chief, today=TODAY)
    db.session.commit()
    assert _sent("swap_approved") == [
        ("swap_approved", "lawyer", a.id, "swap_approved"),
        ("swap_approved", "lawyer", b.id, "swap_approved"),
    ]
    assert _message("swap_approved", a.id).params["to"] == "乙"
    assert _message("swap_accepted", chief.id).status == EXPIRED  # decided before it went out
    before = _sent()
    with pytest.raises(NotAllowed):
        swaps.approve_swap(swap, bureau, today=TODAY)
    db.session.rollback()
    assert _sent() == before


def test_rejection_tells_both_lawyers(setting):
    station, (a, b, _c), chief, _bureau = setting
    swap = swaps.request_swap(_shift_of(station, a), a, b, today=TODAY)
    swaps.accept_swap(swap, b, today=TODAY)
    swaps.reject_swap(swap, chief, "人手不足")
    db.session.commit()
    assert _sent("swap_rejected") == [
        ("swap_rejected", "lawyer", a.id, "swap_rejected"),
        ("swap_rejected", "lawyer", b.id, "swap_rejected"),
    ]


def test_a_decline_tells_the_requester_and_a_withdrawal_the_colleague(setting):
    station, (a, b, c), _chief, _bureau = setting
    declined = swaps.request_swap(_shift_of(station, a), a, b, today=TODAY)
    swaps.decline_swap(declined, b)
    assert _sent("swap_declined") == [("swap_declined", "lawyer", a.id, "swap_declined")]
    # Accepted, then withdrawn: the colleague who had agreed to come hears.
    withdrawn = swaps.request_swap(_shift_of(station, a), a, c, today=TODAY)
    swaps.accept_swap(withdrawn, c, today=TODAY)
    swaps.cancel_swap(withdrawn, a)
    db.session.commit()
    assert _sent("swap_withdrawn") == [("swap_withdrawn", "lawyer", c.id, "swap_withdrawn")]


def test_a_request_withdrawn_before_its_message_went_out_tells_nobody(setting):
    station, (a, b, c), _chief, _bureau = setting
    unsent = swaps.request_swap(_shift_of(station, a), a, b, today=TODAY)
    swaps.cancel_swap(unsent, a)
    assert _message("swap_asked", b.id).status == EXPIRED
    assert _sent("swap_withdrawn") == []
    # Once the question has reached the colleague, the withdrawal does too.
    told = swaps.request_swap(_shift_of(station, a), a, c, today=TODAY)
    _message("swap_asked", c.id).status = SENT
    swaps.cancel_swap(told, a)
    db.session.commit()
    assert _sent("swap_withdrawn") == [("swap_withdrawn", "lawyer", c.id, "swap_withdrawn")]


def test_automatic_approval_tells_both_lawyers_and_not_the_administrators(setting):
    station, (a, b, _c), _chief, _bureau = setting
    settings = StationSettings.of(station)
    settings.swap_auto_approve = True
    update_station(station, settings)
    swap = swaps.request_swap(_shift_of(station, a), a, b, today=TODAY)
    swaps.accept_swap(swap, b, today=TODAY)
    db.session.commit()
    assert swap.status == APPROVED
    assert [kind for kind, *_rest in _sent()] == ["swap_asked", "swap_approved", "swap_approved"]


def test_asked_in_the_quiet_hours_the_message_waits_for_the_morning(app, make_station, make_lawyer):
    station = make_station("夜站")
    a, b = make_lawyer(station, name="甲"), make_lawyer(station, name="乙")
    shift = roster.set_shift_lawyer(station, date(2026, 3, 10), a, "排班", today=TODAY)
    db.session.commit()
    with time_machine.travel(datetime(2026, 3, 1, 14, 30, tzinfo=UTC), tick=False):  # 22:30 there
        swaps.request_swap(shift, a, b, today=TODAY)
    assert _message("swap_asked", b.id).due_at == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00


def _change_hands_behind_the_swap(shift: DutyShift, lawyer_id: int) -> None:
    """The shift's lawyer changes by a path that left the swap open (a concurrent hand change)."""
    db.session.execute(sa.update(DutyShift).where(DutyShift.id == shift.id).values(lawyer_id=lawyer_id))
    db.session.commit()
    db.session.expire_all()


def test_a_swap_whose_shift_changed_hands_is_refused_and_stays_refused(app_factory, setting):
    station, (a, b, c), chief, _bureau = setting
    shift = _shift_of(station, a)
    swap = swaps.request_swap(shift, a, b, today=TODAY)
    swaps.accept_swap(swap, b, today=TODAY)
    db.session.commit()
    _change_hands_behind_the_swap(shift, c.id)
    client = app_factory().test_client()
    login(client, "chief")
    page = client.get("/admin/swaps").get_data(as_text=True)
    response = client.post(
        f"/admin/swaps/{swap.id}/approve", data={"csrf_token": csrf_token(page)}, follow_redirects=True
    )
    assert "alert-warning" in response.get_data(as_text=True)
    db.session.expire_all()
    swap = swaps.get_swap(swap.id)
    assert swap.status == REJECTED and swap.decided_by_id == chief.id  # committed, not rolled back
    assert roster.get_shift(shift.id).lawyer_id == c.id  # the shift stays where it went
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "swap.refuse"))
    assert entry.target_id == swap.id and entry.details["why"] == swaps.CHANGED_HANDS
    assert swaps.refused_because_changed_hands([swap.id]) == {swap.id}
    assert _sent("swap_refused") == [
        ("swap_refused", "lawyer", a.id, "swap_refused"),
        ("swap_refused", "lawyer", b.id, "swap_refused"),
    ]
    assert _message("swap_refused", a.id).params["lawyer"] == "丙"
    # It no longer waits for anybody, and the administrator cannot approve it later.
    assert swap not in swaps.swaps_awaiting_approval(station.id)
    with pytest.raises(NotAllowed):
        swaps.approve_swap(swap, chief, today=TODAY)
    db.session.rollback()
    # The requester's page says why.
    lawyer = app_factory().test_client()
    login(lawyer, a.user.username)
    assert 'data-reason="changed-hands"' in lawyer.get("/me/swaps").get_data(as_text=True)
    assert len(_sent("swap_refused")) == 2


def test_accepting_a_request_whose_shift_changed_hands_refuses_it(setting):
    station, (a, b, c), _chief, _bureau = setting
    shift = _shift_of(station, a)
    swap = swaps.request_swap(shift, a, b, today=TODAY)
    db.session.commit()
    _change_hands_behind_the_swap(shift, c.id)
    swap = swaps.get_swap(swap.id)
    swaps.accept_swap(swap, b, today=TODAY)
    db.session.commit()
    assert swaps.get_swap(swap.id).status == REJECTED
    assert {r[2] for r in _sent("swap_refused")} == {a.id, b.id}


def test_each_step_replayed_through_the_pages_queues_its_messages_once(app_factory, setting):
    station, (a, b, _c), chief, bureau = setting
    shift = _shift_of(station, a)
    app = app_factory()
    asker, colleague, admin = app.test_client(), app.test_client(), app.test_client()
    login(asker, a.user.username)
    login(colleague, b.user.username)
    login(admin, "chief")
    form = asker.get(f"/me/shifts/{shift.id}/swap").get_data(as_text=True)
    for _ in range(2):
        asker.post(
            f"/me/shifts/{shift.id}/swap",
            data={"csrf_token": csrf_token(form), "to_lawyer_id": str(b.id), "note": ""},
        )
    swap = swaps.open_swap_for(shift)
    token = csrf_token(colleague.get("/me/swaps").get_data(as_text=True))
    for _ in range(2):
        colleague.post(f"/me/swaps/{swap.id}/accept", data={"csrf_token": token})
    assert swaps.get_swap(swap.id).status == ACCEPTED
    token = csrf_token(admin.get("/admin/swaps").get_data(as_text=True))
    for _ in range(2):
        admin.post(f"/admin/swaps/{swap.id}/approve", data={"csrf_token": token})
    db.session.expire_all()
    assert swaps.get_swap(swap.id).status == APPROVED
    assert _sent() == [
        ("swap_asked", "lawyer", b.id, "swap_asked"),
        ("swap_accepted", "user", chief.id, "swap_accepted"),
        ("swap_accepted", "user", bureau.id, "swap_accepted"),
        ("swap_approved", "lawyer", a.id, "swap_approved"),
        ("swap_approved", "lawyer", b.id, "swap_approved"),
    ]
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.target_type == "swap_requests").order_by(AuditEntry.id)
    ).all()
    assert actions == ["swap.request", "swap.accept", "swap.approve"]


def _badge(html: str) -> int | None:
    match = re.search(r'id="nav-swaps-waiting">(\d+)', html)
    return int(match.group(1)) if match else None


def test_the_badge_counts_the_requests_waiting_for_the_lawyers_answer(app_factory, setting):
    station, (a, b, c), _chief, _bureau = setting
    asked = swaps.request_swap(_shift_of(station, a), a, b, today=TODAY)
    swaps.request_swap(_shift_of(station, c), c, None, today=TODAY)  # offered to a and b
    db.session.commit()
    assert swaps.waiting_count(b) == 2 and swaps.waiting_count(a) == 1 and swaps.waiting_count(c) == 0
    # Once its day has come nobody can answer a request any more: it no longer counts.
    first_day = min(_shift_of(station, a).duty_on, _shift_of(station, c).duty_on)
    assert swaps.waiting_count(b, today=first_day) == 1
    client = app_factory().test_client()
    login(client, b.user.username)
    shifts_page = client.get("/me/shifts").get_data(as_text=True)
    assert _badge(shifts_page) == 2 and 'id="swaps-waiting"' in shifts_page
    swaps.decline_swap(swaps.get_swap(asked.id), b)
    db.session.commit()
    assert _badge(client.get("/me/shifts").get_data(as_text=True)) == 1
    other = app_factory().test_client()
    login(other, c.user.username)
    page = other.get("/me/shifts").get_data(as_text=True)
    assert _badge(page) is None and 'id="swaps-waiting"' not in page


def test_every_swap_message_has_a_label_and_a_text_using_only_its_parameters(app):
    params = {"day": "2026-03-10", "station": "调班站", "from": "甲", "to": "乙", "link": "/me/swaps"}
    for kind in notices.SWAP_KINDS:
        assert kind in KIND_LABELS
        for locale in ("zh_Hans_CN", "zh_Hant_TW", "en"):
            message = OutboxMessage(template=kind, params={**params, "lawyer": "丙"}, locale=locale)
            subject, body = render(message)
            assert subject and "%(" not in body and "调班站" in body and "2026-03-10" in body, (kind, body)
    assert set(notices.SWAP_KINDS) <= set(TEMPLATES)
