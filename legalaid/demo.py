"""Demo data for `make run`: a station, one account per role, a law firm with six lawyers, closures,
a roster from eight weeks ago to twelve weeks ahead, and a swap waiting for an answer.

Loading twice changes nothing. The demo does not confirm years the holiday data lacks (2027 today):
the administrator meets that message when generating further ahead, as in real use.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from legalaid.access import ADMIN, LAWYER, STAFF
from legalaid.auth import services as accounts
from legalaid.auth.models import User
from legalaid.bookings.models import Booking
from legalaid.dates import local_today
from legalaid.extensions import db
from legalaid.lawyers import services as lawyers
from legalaid.lawyers.models import Lawyer
from legalaid.reminders.models import OutboxMessage
from legalaid.roster import services as roster
from legalaid.roster.models import DutyShift
from legalaid.stations import services as stations
from legalaid.stations.models import Station
from legalaid.swaps import services as swaps

DEMO_STATION = "解放区退役军人法律服务站"
DEMO_ADDRESS = "焦作市解放区退役军人服务中心服务大厅"
DEMO_FIRM = ("河南怀川律师事务所", "李主任", "0391-3920000")
LAWYER_PASSWORD = "lawyer-demo-2026"  # noqa: S105  (demo only, printed on purpose)
# (username, full name, role, password): printed by `make run`, so never use these for real.
DEMO_ACCOUNTS = (
    ("admin", "局管理员", ADMIN, "admin-demo-2026"),
    ("staff", "大厅工作人员", STAFF, "staff-demo-2026"),
    ("lawyer", "张明", LAWYER, LAWYER_PASSWORD),
    ("lawyer2", "王芳", LAWYER, LAWYER_PASSWORD),
    ("lawyer3", "李强", LAWYER, LAWYER_PASSWORD),
    ("lawyer4", "赵静", LAWYER, LAWYER_PASSWORD),
    ("lawyer5", "刘洋", LAWYER, LAWYER_PASSWORD),
    ("lawyer6", "陈磊", LAWYER, LAWYER_PASSWORD),
)
SPECIALTIES = (
    ["labour", "employment"],
    ["family", "housing"],
    ["pensions", "resettlement"],
    ["social_insurance", "disability"],
    ["contracts", "injury"],
    ["petitions", "other"],
)


def has_data() -> bool:
    """Whether the database already holds any station or account."""
    return bool(
        db.session.scalar(sa.select(sa.func.count()).select_from(User))
        or db.session.scalar(sa.select(sa.func.count()).select_from(Station))
    )


def load(today: date | None = None) -> list[str]:
    """Add whatever part of the demo data is missing; returns what was added. Flushes only."""
    added: list[str] = []
    station = db.session.scalar(sa.select(Station).where(Station.name == DEMO_STATION))
    if station is None:
        station = stations.create_station(stations.StationSettings(name=DEMO_STATION, address=DEMO_ADDRESS))
        added.append(f"station {DEMO_STATION}")
    today = today or local_today(station.timezone)
    users = {}
    for username, name, role, password in DEMO_ACCOUNTS:
        user = accounts.find_by_username(username)
        if user is None:
            user = accounts.create_user(
                username,
                name,
                role,
                password,
                station_id=None if role == ADMIN else station.id,
                email="admin@example.org" if role == ADMIN else "",
            )
            added.append(f"user {username}")
        users[username] = user

    firm = lawyers.find_firm(DEMO_FIRM[0]) or lawyers.save_firm(None, *DEMO_FIRM)
    demo_lawyers = []
    for index, (username, name, _role, _password) in enumerate(a for a in DEMO_ACCOUNTS if a[2] == LAWYER):
        lawyer = db.session.scalar(sa.select(Lawyer).where(Lawyer.user_id == users[username].id))
        if lawyer is None:
            lawyer = lawyers.create_lawyer(
                station,
                lawyers.LawyerData(
                    name=name,
                    firm_id=firm.id,
                    licence_no=f"141082019{index + 1:08d}",
                    contract_start=date(today.year - 1, 1, 1),
                    contract_end=date(today.year + 1, 12, 31),
                    mobile=f"1390391{index + 1:04d}",
                    email=f"{username}@example.org",
                    specialties=SPECIALTIES[index],
                    user_id=users[username].id,
                ),
            )
            added.append(f"lawyer {name}")
        demo_lawyers.append(lawyer)

    if not roster.shifts_between(station, today - timedelta(weeks=8), today + timedelta(weeks=12)):
        _load_roster(station, demo_lawyers, today)
        added.append("roster")
    if not db.session.scalar(sa.select(sa.func.count()).select_from(Booking)):
        _load_bookings(station, today)
        added.append("bookings")
    from legalaid.consultations.models import Consultation

    if not db.session.scalar(sa.select(sa.func.count()).select_from(Consultation)):
        _load_consultations(station, today)
        added.append("consultations")
    if not db.session.scalar(
        sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key.startswith("demo:")).limit(1)
    ):
        _load_messages(station, today)
        added.append("messages")
    return added


def _load_roster(station: Station, demo_lawyers: list[Lawyer], today: date) -> None:
    # A hall event closes one Tuesday, and one lawyer has a week off.
    event_day = next(
        d for d in roster.duty_days(station, today + timedelta(weeks=5), today + timedelta(weeks=6))
    )
    roster.set_closure(station, event_day, True, "服务大厅场地活动")
    off = today + timedelta(weeks=3)
    lawyers.add_unavailability(
        demo_lawyers[3],
        off - timedelta(days=off.weekday()),
        off + timedelta(days=6 - off.weekday()),
        "外地开庭",
    )
    start = today - timedelta(weeks=8)
    last_covered = date(max(roster.holiday_years()), 12, 31)
    end = min(today + timedelta(weeks=12), last_covered)
    # Generated "as of" the first day, so the eight past weeks are filled as they would have been.
    roster.apply_rotation(station, start, end, today=start - timedelta(days=1))
    for index, shift in enumerate(roster.shifts_between(station, start, today - timedelta(days=1))):
        if index != 2:  # one forgotten check-in, for the administrator to notice
            shift.checked_in_at = _morning(shift)
    future = roster.shifts_between(station, today + timedelta(days=1), end)
    if len(future) >= 2:
        shift: DutyShift = future[1]
        colleague = next(lw for lw in demo_lawyers if lw.id != shift.lawyer_id)
        swaps.request_swap(shift, shift.lawyer, colleague, "家中有事，请帮忙替班", today=today)
    db.session.flush()


VETERANS = (
    ("李卫国", "13803910001", "labour"),
    ("王建军", "13803910002", "pensions"),
    ("赵秀英", "13803910003", "family"),
    ("孙志强", "13803910004", "social_insurance"),
    ("周海峰", "13803910005", "housing"),
    ("吴国庆", "13803910006", "resettlement"),
    ("郑红梅", "13803910007", "contracts"),
    ("冯德胜", "13803910008", "disability"),
)


def _load_bookings(station: Station, today: date) -> None:
    """Bookings on the last four and the next four duty days; some cancelled; walk-ins on past days."""
    import secrets

    from legalaid.bookings import services as bookings
    from legalaid.bookings.models import CHECKED_IN, NO_SHOW, WalkIn
    from legalaid.dates import local_to_utc

    past = roster.shifts_between(station, today - timedelta(weeks=4), today - timedelta(days=1))
    coming = roster.shifts_between(station, today, today + timedelta(weeks=4))
    for shift in past + coming:
        slots = bookings.ensure_slots(shift)
        db.session.commit()
        # As if booked a week before the day, through the kiosk, online and the hotline.
        then = local_to_utc(shift.duty_on - timedelta(days=7), slots[0].starts_at.time(), "UTC")
        for index, (name, mobile, category) in enumerate(VETERANS[: 3 + shift.id % 4]):
            channel = ("kiosk", "online", "hotline")[index % 3]
            booking = bookings.place_booking(
                bookings.BookingRequest(
                    slot_id=slots[index * 2].id,
                    name=name,
                    mobile=mobile,
                    category=category,
                    channel=channel,
                    idempotency_key=secrets.token_hex(16),
                    consent=True,
                    description="",
                ),
                now=then,
            )
            if shift.duty_on < today:
                booking.status = CHECKED_IN if index % 4 else NO_SHOW
                if booking.status == CHECKED_IN:
                    booking.checked_in_at = booking.slot.starts_at - timedelta(minutes=10)
            elif index == 1:
                bookings.cancel(booking, "临时有事", now=then)
        if shift.duty_on < today:
            for number in (1, 2):
                db.session.add(
                    WalkIn(
                        station_id=station.id,
                        day=shift.duty_on,
                        number=number,
                        shift_id=shift.id,
                        category="other",
                        status="called",
                        called_at=slots[number].starts_at,
                    )
                )
        db.session.commit()


OUTCOME_SETS = (
    ["advice"],
    ["advice", "mediation"],
    ["legal_aid"],
    ["counselling", "advice"],
    ["drafting"],
    ["referral"],
    ["petition", "advice"],
)


def _load_consultations(station: Station, today: date) -> None:
    """Consultations for the past arrivals: every outcome; open, overdue and closed matters; a
    legal-aid referral in progress."""
    from legalaid.bookings.models import CHECKED_IN
    from legalaid.consultations import services as consultations

    arrived = db.session.scalars(
        sa.select(Booking).where(Booking.status == CHECKED_IN).order_by(Booking.shift_id, Booking.id)
    ).all()
    for index, booking in enumerate(arrived):
        shift = booking.shift
        outcomes = OUTCOME_SETS[index % len(OUTCOME_SETS)]
        follow = index % 3 != 2
        record = consultations.Record(
            category=booking.category,
            summary="当事人反映的问题（演示数据）",
            advice="已告知相关法律规定和办理途径（演示数据）",
            outcomes=outcomes,
            counselling_notes="情绪较激动，已做疏导（演示数据）" if "counselling" in outcomes else "",
            follow_up=follow,
            due_on=shift.duty_on + timedelta(days=14 if index % 2 else 45),
        )
        consultation = consultations.record_consultation(
            station, shift.lawyer.user, record, booking=booking, today=shift.duty_on
        )
        matter = consultation.matter
        if matter is None:
            continue
        owner = shift.lawyer.user
        if "legal_aid" in outcomes:
            consultations.add_note(
                matter, owner, "材料已递交", milestone="submitted", on=shift.duty_on + timedelta(days=2)
            )
            consultations.add_note(
                matter, owner, "", milestone="accepted", on=shift.duty_on + timedelta(days=6)
            )
        elif index % 4 == 1:
            consultations.add_note(matter, owner, "已电话回访当事人")
            consultations.close_matter(
                matter,
                owner,
                "mediation_agreement" if "mediation" in outcomes else "resolved",
                money_saved=8000 if "mediation" in outcomes else None,
            )
    db.session.commit()


def _load_messages(station: Station, today: date) -> None:
    """The outbox as after some weeks of use: the bookings' confirmations sent, and one message in each
    other status (waiting, sending, failed, expired, unknown) for the administrator to look at."""
    from legalaid.dates import now_utc
    from legalaid.reminders import rules, timing
    from legalaid.reminders.models import (
        EXPIRED,
        FAILED,
        LOST_CLAIM,
        PENDING,
        SENDING,
        SENT,
        STALE,
        UNKNOWN,
        OutboxEvent,
    )

    now = now_utc()
    # The demo's bookings were made "a week before" their day; their confirmations went out then.
    for message in db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.status == PENDING, OutboxMessage.kind.startswith("booking_")
        )
    ):
        message.due_at = min(message.due_at, now)
        message.status, message.attempts, message.sent_at = SENT, 1, message.due_at + timedelta(seconds=20)
        message.claimed_at, message.claimed_by = message.due_at, "demo"
        db.session.add(
            OutboxEvent(message_id=message.id, at=message.sent_at, status=SENT, detail="attempt 1")
        )
    db.session.flush()
    coming = roster.shifts_between(station, today + timedelta(days=1), today + timedelta(weeks=4))
    past = roster.shifts_between(station, today - timedelta(weeks=4), today - timedelta(days=1))
    booked_before = db.session.scalars(
        sa.select(Booking).where(Booking.shift_id.in_([s.id for s in past]))
    ).all()
    booked_ahead = db.session.scalars(
        sa.select(Booking).where(Booking.shift_id.in_([s.id for s in coming]), Booking.status == "booked")
    ).all()
    if not booked_before:
        return
    # Near the end of the holiday data's last year there may be no coming shift: use the last one.
    shift = (coming or past)[-1]
    lawyer, tz = shift.lawyer, station.timezone
    earlier, later = booked_before[0], (booked_ahead[-1] if booked_ahead else None)
    samples = (
        # (status, kind, booking or None, due, attempts, last error)
        (PENDING, "duty_morning", None, timing.at(shift.duty_on, "duty_morning_at", tz), 0, ""),
        (SENDING, "duty_week", None, now - timedelta(minutes=1), 0, ""),
        (
            FAILED,
            "booking_confirmed" if later else "duty_eve",
            later,
            now - timedelta(hours=3),
            5,
            "sms: HTTP 503",
        ),
        (EXPIRED, "booking_day", earlier, earlier.slot.starts_at - timedelta(hours=1), 0, STALE),
        (UNKNOWN, "duty_eve", None, now - timedelta(hours=2), 1, LOST_CLAIM),
    )
    duty_params = {
        "station": station.name,
        "day": f"{shift.duty_on:%Y-%m-%d}",
        "count": 3,
        "address": station.address,
    }
    for status, kind, booking, due, attempts, error in samples:
        contact = rules.veteran_contact(booking) if booking else rules.lawyer_contact(lawyer)
        message = OutboxMessage(
            kind=kind,
            **contact._asdict(),
            template="booking_reminder" if kind == "booking_day" else kind,
            params=rules.booking_params(booking) if booking else duty_params,
            due_at=due,
            expires_at=booking.slot.starts_at if booking else None,
            status=status,
            attempts=attempts,
            last_error=error,
            claimed_at=due if status in (SENDING, UNKNOWN) else None,
            claimed_by="demo" if status in (SENDING, UNKNOWN) else None,
            created_at=min(due, now) - timedelta(minutes=1),
            dedupe_key=f"demo:{kind}:{status}",
        )
        db.session.add(message)
        db.session.flush()
        for attempt in range(1, attempts + 1) if status == FAILED else ():
            at = due + timedelta(minutes=2**attempt)
            detail = f"attempt {attempt}: {error}"
            status_then = PENDING if attempt < attempts else FAILED
            db.session.add(OutboxEvent(message_id=message.id, at=at, status=status_then, detail=detail))
        if status in (EXPIRED, UNKNOWN):
            at = due + timedelta(minutes=11) if status == UNKNOWN else booking.slot.starts_at
            db.session.add(OutboxEvent(message_id=message.id, at=at, status=status, detail=error))
    db.session.commit()


def _morning(shift: DutyShift):
    from datetime import time

    from legalaid.dates import local_to_utc

    return local_to_utc(shift.duty_on, time(8, 52), shift.station.timezone)
