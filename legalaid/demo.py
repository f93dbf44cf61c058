"""Demo data for `make run`: a station, one account per role, a law firm with six lawyers, a year of
history and twelve weeks ahead, so that every page, chart and report shows something real.

The history covers the twelve months before `today` (from the first of that month a year back), as the
station would have lived them: the rotation generated as of the first day, the lawyers' check-ins (two
forgotten), two swaps approved; bookings through every channel, some cancelled, some not come; walk-in
numbers; a consultation for nearly every visit, with every outcome and every category, a few people
coming back; matters open, in progress, overdue and closed with every result, some money recovered;
legal-aid applications submitted, accepted and concluded. Ahead: bookings on the next four duty days,
a swap waiting for an answer, a hall event and a lawyer's week of leave; the outbox holds one message
in every status.

Everything goes through the services, each step at the moment it plays (`today=`, `now=`), and what
the services would stamp with the real clock (audit entries, created and updated times, notes, closings,
check-ins, the confirmations sent) gets that moment instead (see `_Clock`): the audit log, the outbox
and the matters read as a year of use. The real clock is read only for `today` when none is given.

Loading twice changes nothing. The demo does not confirm years the holiday data lacks (2027 today):
the roster, and so the history, stop at the end of the last covered year; the administrator meets
that message when generating further ahead, as in real use.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified

from legalaid.access import ADMIN, LAWYER, STAFF
from legalaid.auth import services as accounts
from legalaid.auth.models import User
from legalaid.bookings import calling, planning
from legalaid.bookings.models import Booking, WalkIn
from legalaid.bookings.validation import clean_prose
from legalaid.dates import local_to_utc, local_today
from legalaid.extensions import db
from legalaid.lawyers import services as lawyers
from legalaid.lawyers.models import Lawyer
from legalaid.reminders.models import OutboxMessage
from legalaid.roster import services as roster
from legalaid.roster.models import DutyShift
from legalaid.stations import services as stations
from legalaid.stations.models import Station
from legalaid.swaps import services as swaps

if TYPE_CHECKING:
    from legalaid.consultations.models import Matter

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
    """Add whatever part of the demo data is missing; returns what was added. Flushes: the caller
    commits (`flask demo load` is one unit of work)."""
    with _clock:
        return _load(today)


def _load(today: date | None) -> list[str]:
    added: list[str] = []
    station = db.session.scalar(sa.select(Station).where(Station.name == DEMO_STATION))
    today = today or local_today(station.timezone if station else None)
    start, end = _history_start(today), _roster_end(today)
    # The station was set up some weeks before the history starts.
    _clock(local_to_utc(start - timedelta(days=35), time(9, 30), station.timezone if station else None))
    if station is None:
        station = stations.create_station(stations.StationSettings(name=DEMO_STATION, address=DEMO_ADDRESS))
        added.append(f"station {DEMO_STATION}")
    now = _at(station, today, time(8, 0))  # the demo's present: the morning of `today`
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

    if not roster.shifts_between(station, start, end) and not roster.closures(
        station, start, today + timedelta(weeks=12)
    ):
        _load_roster(station, demo_lawyers, users["admin"], today, now)
        added.append("roster")
    if not db.session.scalar(sa.select(sa.func.count()).select_from(Booking)):
        _load_bookings(station, users["staff"], today, now)
        added.append("bookings")
    from legalaid.consultations.models import Consultation

    if not db.session.scalar(sa.select(sa.func.count()).select_from(Consultation)):
        _load_consultations(station, today)
        _lead_oldest_overdue(station, users["admin"], today, now)
        _confirmations_sent(now)  # the thank-you messages with the rating link, too
        added.append("consultations")
    from legalaid.ratings.models import Rating

    if not db.session.scalar(sa.select(sa.func.count()).select_from(Rating)):
        _load_ratings(station, users["admin"], today, now)
        added.append("ratings")
    if not db.session.scalar(
        sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key.startswith("demo:")).limit(1)
    ):
        _load_messages(station, today, now)
        added.append("messages")
    return added


def _history_start(today: date) -> date:
    """The first day of the history: the first of today's month, a year back."""
    return date(today.year - 1, today.month, 1)


def _roster_end(today: date) -> date:
    """Twelve weeks ahead, or the end of the last year the holiday data covers if that comes first."""
    return min(today + timedelta(weeks=12), date(max(roster.holiday_years()), 12, 31))


def _at(station: Station, day: date, at: time) -> datetime:
    """The instant of a wall-clock time at the station on a date."""
    return local_to_utc(day, at, station.timezone)


class _Clock:
    """The demo's clock. While a load runs, the rows the services add or change take the moment the
    demo is playing wherever they would take the real clock's: created and updated times, an audit
    entry's or a note's time. Times the services set from the clock themselves (a check-in, a
    closing) are set by the demo after the call."""

    def __init__(self) -> None:
        self.now: datetime | None = None
        self._listeners = (("before_insert", self._inserting), ("before_update", self._updating))

    def __call__(self, at: datetime) -> datetime:
        """From now on it is `at` (what was done before is written with the time it was done at)."""
        db.session.flush()
        self.now = at
        return at

    def __enter__(self) -> _Clock:
        for name, listener in self._listeners:
            sa.event.listen(db.Model, name, listener, propagate=True)
        return self

    def __exit__(self, *_exc: object) -> None:
        for name, listener in self._listeners:
            sa.event.remove(db.Model, name, listener)
        self.now = None

    def _inserting(self, mapper: sa.orm.Mapper, _connection: object, target: object) -> None:
        if self.now is None:
            return
        for name in ("created_at", "updated_at", "at"):
            if name in mapper.column_attrs and getattr(target, name) is None:
                setattr(target, name, self.now)

    def _updating(self, mapper: sa.orm.Mapper, _connection: object, target: Any) -> None:
        if self.now is None or "updated_at" not in mapper.column_attrs:
            return
        state = sa.inspect(target)
        if state.session.is_modified(target) and not state.attrs.updated_at.history.has_changes():
            target.updated_at = self.now
            flag_modified(target, "updated_at")  # written even when unchanged, or onupdate takes the clock


_clock = _Clock()


# -- the roster ------------------------------------------------------------------------------------------

SWAP_NOTES = ("单位临时安排出差，请帮忙替班", "家中老人住院，需要陪护")


def _load_roster(
    station: Station, demo_lawyers: list[Lawyer], admin: User, today: date, now: datetime
) -> None:
    """Closures and leave, the rotation generated as of the history's first day, two swaps and the
    check-ins of the past shifts, and a swap waiting for an answer."""
    start, end = _history_start(today), _roster_end(today)
    _clock(_at(station, start - timedelta(days=28), time(10, 0)))  # planned a month ahead
    # A hall event closes one duty day ahead, an inspection closed one about five months ago, and one
    # lawyer has a week off.
    roster.set_closure(
        station,
        roster.duty_days(station, today + timedelta(weeks=5), today + timedelta(weeks=6))[0],
        True,
        "服务大厅场地活动",
    )
    inspection = roster.duty_days(station, today - timedelta(days=150), today - timedelta(days=144))[0]
    roster.set_closure(station, inspection, True, "服务大厅消防设施检修，暂停接待")
    off = today + timedelta(weeks=3)
    lawyers.add_unavailability(
        demo_lawyers[3],
        off - timedelta(days=off.weekday()),
        off + timedelta(days=6 - off.weekday()),
        "外地开庭",
    )
    if start <= end:  # else the holiday data ended before the history would start: no rotation
        # Generated "as of" the first day, so the past months are filled as they would have been.
        roster.apply_rotation(station, start, end, today=start - timedelta(days=1))
    _duty_today(station, demo_lawyers, today)
    past = roster.shifts_between(station, start, today - timedelta(days=1))
    if len(past) >= 8:
        swapped = (past[len(past) // 4], past[3 * len(past) // 4 + 1])
        for offset, (shift, note) in enumerate(zip(swapped, SWAP_NOTES, strict=True), start=1):
            _past_swap(station, shift, demo_lawyers[offset:] + demo_lawyers[:offset], admin, note)
    # One check-in forgotten some weeks ago (for the administrator to notice), one in the middle of the year.
    forgotten = {past[-6].id, past[len(past) // 2].id} if len(past) >= 8 else set()
    for index, shift in enumerate(past):
        if shift.id not in forgotten:
            arrived = _clock(_at(station, shift.duty_on, time(8, 40 + index % 17)))
            roster.check_in(shift, today=shift.duty_on)
            shift.checked_in_at = arrived
    future = roster.shifts_between(station, today + timedelta(days=1), end)
    if len(future) >= 2:
        waiting = future[1]
        colleague = next(lw for lw in demo_lawyers if lw.id != waiting.lawyer_id)
        _clock(now)
        swaps.request_swap(waiting, waiting.lawyer, colleague, "家中有事，请帮忙替班", today=today, now=now)


def _duty_today(station: Station, demo_lawyers: list[Lawyer], today: date) -> None:
    """Whatever the weekday, the demo has a duty day today, held by the first demo lawyer (`lawyer`,
    张明) — an extra one planned a week ahead when today is not a Tuesday, re-opened when it is a
    holiday — so the walk-ins, the desk, the console and the hall display can be tried at once."""
    lawyer = demo_lawyers[0]
    shift = roster.shift_on(station, today)
    if shift is not None and shift.lawyer_id == lawyer.id:
        return
    planned = today - timedelta(days=7)
    _clock(_at(station, planned, time(10, 0)))
    if roster.closed_days(station, today, today):
        roster.set_closure(station, today, False, "演示：今日照常接待")
    reason = "演示：今日值班" if shift else "加开值班日"
    roster.set_shift_lawyer(station, today, lawyer, reason, today=planned)


def _past_swap(station: Station, shift: DutyShift, colleagues: list[Lawyer], admin: User, note: str) -> None:
    """A swap asked nine days before the shift, accepted the next day and approved the day after; the
    first of the colleagues who is not the shift's lawyer takes it."""
    from legalaid.roster.models import ShiftChange

    colleague = next(lw for lw in colleagues if lw.id != shift.lawyer_id)
    asked = shift.duty_on - timedelta(days=9)
    asked_at = _clock(_at(station, asked, time(20, 15)))
    swap = swaps.request_swap(shift, shift.lawyer, colleague, note, today=asked, now=asked_at)
    accepted = _clock(_at(station, asked + timedelta(days=1), time(7, 50)))
    swaps.accept_swap(swap, colleague, today=asked + timedelta(days=1), now=accepted)
    approved = _clock(_at(station, asked + timedelta(days=2), time(9, 5)))
    swaps.approve_swap(swap, admin, today=asked + timedelta(days=2), now=approved)
    change = db.session.scalars(
        sa.select(ShiftChange)
        .where(ShiftChange.shift_id == shift.id)
        .order_by(ShiftChange.id.desc())
        .limit(1)
    ).one()
    change.processed_at = approved  # the reminders job saw it that morning


# -- who comes, and about what -----------------------------------------------------------------------------

# People are named surname + given name; 24 and 25 are coprime, so the first 600 are all different.
SURNAMES = "李王赵孙周吴郑冯陈刘杨黄张马朱胡郭何高林罗宋韩唐"
GIVEN_NAMES = (
    "卫国", "建军", "秀英", "志强", "海峰", "国庆", "红梅", "德胜", "建华", "桂兰", "振东", "玉珍", "保国",
    "春生", "立新", "淑芬", "永刚", "宏伟", "爱民", "秀珍", "长江", "晓东", "凤英", "铁军", "学军",
)  # fmt: skip


def _person(number: int) -> tuple[str, str]:
    """The demo's n-th person: (name, mobile); 李卫国 13803910001, 王建军 13803910002 …"""
    name = SURNAMES[number % len(SURNAMES)] + GIVEN_NAMES[number % len(GIVEN_NAMES)]
    return name, f"1380391{number + 1:04d}"


def _id_number(number: int) -> str | None:
    """Every third demo person gave their resident ID number (valid, born 1950–1975 in 焦作市解放区)."""
    if number % 3:
        return None
    from stdnum.cn import ric

    body = f"410802{1950 + number % 26}{1 + number % 12:02d}{1 + number % 28:02d}{number % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # the check digit of the first 17


class Step(NamedTuple):
    """A step in a matter's follow-up, some days after the consultation: a note, a legal-aid
    milestone, or the closing with its result."""

    days: int
    text: str = ""
    milestone: str | None = None
    result: str | None = None
    money: int | None = None


class Case(NamedTuple):
    """A kind of visit: what the person writes when booking, what the lawyer records, and how the
    matter goes on (nothing to follow up when due_days is 0)."""

    category: str
    description: str
    summary: str
    advice: str
    outcomes: tuple[str, ...]
    counselling: str = ""
    due_days: int = 0
    steps: tuple[Step, ...] = ()


def _close(days: int, result: str, money: int | None = None) -> Step:
    """The closing step: its result and the money recovered or saved, if any."""
    return Step(days, result=result, money=money)


# The visits take these cases in turn, so each comes back about every four weeks, in every month.
# Most matters close before they fall due; the petition and the housing certificate stall: overdue for
# some weeks, then closed as unresolved. Legal aid goes submitted → accepted → concluded → granted.
CASES = (
    Case(
        "labour",
        "单位拖欠三个月工资，讨要无果",
        "当事人退役后在一家物流公司当货车司机，公司以经营困难为由拖欠三个月工资共一万二千元，多次催要无果。",
        "告知可向劳动保障监察大队投诉，也可申请劳动仲裁，仲裁时效为一年；请保存考勤记录、工资条和催要工资的微信记录。",
        ("advice", "drafting"),
        due_days=40,
        steps=(
            Step(5, "已协助起草劳动仲裁申请书，当事人已向区劳动人事争议仲裁院递交。"),
            _close(35, "resolved", 12000),
        ),
    ),
    Case(
        "pensions",
        "抚恤金今年少发了，没有收到通知",
        "当事人为六级残疾军人，反映今年起伤残抚恤金每月少发三百余元，事先没有收到任何书面通知。",
        "已讲解抚恤金标准调整的有关规定，建议携带残疾军人证到区退役军人事务局核对发放记录；确属错发的，可以申请补发。",
        ("advice", "referral"),
        due_days=20,
        steps=(_close(12, "referred"),),
    ),
    Case(
        "injury",
        "骑电动车被汽车撞伤，保险公司赔得太少",
        "当事人骑电动车被小轿车撞伤，住院二十天，对方保险公司只同意赔偿三万元，当事人认为远低于实际损失。",
        "已初步计算医疗费、误工费、护理费、营养费等损失约八万元；当事人经济困难，符合法律援助条件，已协助申请法律援助。",
        ("legal_aid", "advice"),
        due_days=90,
        steps=(
            Step(3, "已向区法律援助中心递交申请材料。", "submitted"),
            Step(10, "法律援助中心已受理。", "accepted"),
            Step(16, "已指派承办律师。", "lawyer_assigned"),
            Step(70, "经法院主持调解结案。", "concluded"),
            _close(72, "legal_aid_granted", 52000),
        ),
    ),
    Case(
        "family",
        "离婚后对方一直不给孩子抚养费",
        "当事人两年前协议离婚，约定对方每月支付抚养费一千五百元，对方已连续八个月未付，电话也不接。",
        "对方拖欠抚养费的，可以先申请人民调解；调解不成可向法院起诉追索，判决生效后仍不履行的可申请强制执行。",
        ("advice", "mediation"),
        due_days=30,
        steps=(
            Step(6, "社区人民调解委员会已受理，约定下周组织双方调解。"),
            _close(21, "mediation_agreement", 12000),
        ),
    ),
    Case(
        "social_insurance",
        "服役年限没有算进养老保险缴费年限",
        "当事人1998年入伍、2003年退役，安置到企业工作，服役期间的军龄未被认定为视同缴费年限，影响今后的退休待遇。",
        "军龄依法视同缴费年限，与实际缴费年限合并计算。已开具办理指引，请携带退伍证和个人档案到社保中心申请核定。",
        ("advice",),
    ),
    Case(
        "petitions",
        "多年反映的待遇问题一直没有解决",
        "当事人多年反映参战人员待遇认定问题，曾多次到市里上访，对答复不满意，来访时情绪激动。",
        "讲解依法逐级信访的程序和办理时限，建议通过书面信访渠道提出并保存答复意见书；对答复不服的可以申请复查。",
        ("petition", "counselling"),
        counselling="当事人情绪激动，反复说“没人管”；经耐心倾听和疏导后情绪平复，同意按程序书面反映。",
        due_days=21,
        steps=(Step(7, "已电话联系当事人，建议准备的书面材料还没有整理好。"), _close(90, "unresolved")),
    ),
    Case(
        "contracts",
        "借给战友五万元，到期不还",
        "当事人三年前借给战友五万元，没有借条，只有微信转账记录和聊天记录，对方到期后拒不归还。",
        "转账记录和聊天记录可以证明借贷关系；诉讼时效自约定还款日起算三年。建议先发律师函催告，仍不归还再起诉。",
        ("advice", "drafting"),
        due_days=30,
        steps=(Step(4, "已代为起草催款律师函并寄出。"), _close(26, "resolved", 50000)),
    ),
    Case(
        "housing",
        "老家宅基地被邻居盖房占了",
        "当事人老家的宅基地被邻居建房占用约二十平方米，村委会两次调解未果，双方矛盾越来越深。",
        "讲解宅基地使用权确权和排除妨害的救济途径；建议申请乡镇人民调解委员会调解，调解不成可向法院起诉。",
        ("advice", "mediation"),
        due_days=45,
        steps=(Step(8, "乡镇司法所已受理调解申请，正在组织现场测量。"), _close(40, "mediation_agreement")),
    ),
    Case(
        "employment",
        "想开汽修店，问问有什么扶持政策",
        "当事人准备开一家汽车修理店，咨询退役军人创业担保贷款、贴息和税费减免政策。",
        "介绍了创业担保贷款及贴息、税费减免等扶持政策，建议到区退役军人服务中心就业创业窗口登记办理。",
        ("advice",),
    ),
    Case(
        "resettlement",
        "一次性经济补助金还有一部分没发",
        "当事人为自主就业退役士兵，反映一次性经济补助金中由地方发放的部分还有八千元至今未到账。",
        "已讲解补助金的发放标准和时限，协助起草书面申请，建议向区退役军人事务局提交并留存回执。",
        ("drafting", "advice"),
        due_days=30,
        steps=(Step(10, "已电话回访，当事人已提交申请，事务局答复正在核查。"), _close(28, "resolved", 8000)),
    ),
    Case(
        "labour",
        "在工地摔伤，包工头不管",
        "当事人在建筑工地干活时从脚手架上摔下，腰椎骨折，没有签劳动合同，包工头拒绝承担医疗费。",
        "应先申请确认劳动关系，再申请工伤认定；当事人符合法律援助条件，已协助填写法律援助申请表。",
        ("legal_aid", "drafting"),
        due_days=120,
        steps=(
            Step(5, "申请材料已递交区法律援助中心。", "submitted"),
            Step(14, "法律援助中心已受理。", "accepted"),
            Step(40, "确认劳动关系的仲裁已开庭。"),
            Step(100, "仲裁裁决确认劳动关系，工伤待遇得到支持。", "concluded"),
            _close(105, "legal_aid_granted", 86000),
        ),
    ),
    Case(
        "disability",
        "申请评残，被告知材料不全",
        "当事人服役期间训练受伤，申请评定残疾等级时被告知缺少当年的医疗记录，不清楚去哪里调取。",
        "告知评残所需的材料清单；当年病历可向原部队或军队医院申请调取，建议请区退役军人事务局出函协助查档。",
        ("advice", "referral"),
        due_days=30,
        steps=(_close(14, "referred"),),
    ),
    Case(
        "family",
        "子女不给赡养费",
        "当事人年过七十，两个子女互相推诿，都不给赡养费，老人独自生活，身体也不好。",
        "子女有赡养父母的法定义务，不因分家或其他理由免除。建议先由村委会调解，调解不成可以起诉要求支付赡养费。",
        ("advice", "mediation", "counselling"),
        counselling="当事人说到子女时多次落泪，已安抚情绪，并告知可以随时来站里求助。",
        due_days=30,
        steps=(
            Step(9, "村委会已约双方见面。"),
            Step(18, "当事人来电说家里已经商量好，不再需要调解。"),
            _close(19, "withdrawn"),
        ),
    ),
    Case(
        "other",
        "想立遗嘱，不知道怎么写才有效",
        "当事人想把自己的房子留给小女儿，咨询自书遗嘱怎么写才有效、是否必须公证。",
        "讲解了自书、代书、打印、录音录像和公证遗嘱的形式要求；建议全文亲笔书写、签名，并注明年、月、日。",
        ("advice", "drafting"),
    ),
    Case(
        "housing",
        "单位集资房一直办不了房产证",
        "当事人二十年前购买原单位的集资房，单位改制后至今无法办理不动产权证，同小区还有三十多户情况相同。",
        "属于历史遗留问题，建议与其他住户联名向不动产登记中心书面申请，同时通过信访渠道向区政府反映。",
        ("referral", "petition", "advice"),
        due_days=30,
        steps=(
            Step(12, "已陪同当事人到不动产登记中心咨询，需等待区里统一的处理方案。"),
            _close(100, "unresolved"),
        ),
    ),
    Case(
        "social_insurance",
        "外地住院回来，医保不给报销",
        "当事人在外地看望子女时突发疾病住院，回来报销时被告知没有办理异地就医备案，医保拒绝报销。",
        "急诊住院可以补办异地就医备案后按规定报销；已告知补办所需材料，请在三个月内办理。",
        ("advice",),
        due_days=45,
        steps=(Step(15, "当事人已补办备案，报销材料已经递交。"), _close(30, "resolved", 6800)),
    ),
)
# A person coming back about the same problem says so when booking; the lawyer notes what is new.
REVISIT = "再次咨询："
REVISIT_SUMMARY = "再次来访，带来了上次要求补充的材料。"
REVISIT_ADVICE = "已审阅补充的材料，意见同前："
# The channels bookings come through, in turn (the desk takes telephone and counter bookings).
CHANNEL_CYCLE = (
    "online",
    "kiosk",
    "hotline",
    "phone",
    "online",
    "staff",
    "kiosk",
    "online",
    "hotline",
    "phone",
)
DESK_CHANNELS = ("hotline", "phone", "staff")
SLOT_ORDER = (0, 7, 2, 9, 4, 11)  # the slots booked on a day, mornings and afternoons in turn
CANCEL_REASONS = ("临时有事，改天再来", "问题已经自己解决了", "身体不舒服，去不了", "要去外地，来不了")


class _Visits:
    """Counters that make the history varied yet the same on every load: bookings, cases, people and
    walk-ins so far, and who came about what (for people coming back)."""

    def __init__(self) -> None:
        self.bookings = self.cases = self.people = self.walkins = 0
        self.seen: list[tuple[int, Case]] = []

    def next_case(self) -> Case:
        self.cases += 1
        return CASES[(self.cases - 1) % len(CASES)]

    def new_person(self) -> int:
        self.people += 1
        return self.people - 1

    def returning(self, busy: set[int], turn: int) -> tuple[int, Case] | None:
        """Someone who came a few weeks ago (and is not here today already), with their case."""
        earlier = self.seen[: -8 - turn % 5]
        return next(((p, c) for p, c in reversed(earlier) if p not in busy), None)


def _load_bookings(station: Station, staff: User, today: date, now: datetime) -> None:
    """The past duty days as they happened, and bookings on the next four duty days (one cancelled
    on each); the confirmations all went out when the bookings were made."""
    visits = _Visits()
    past = roster.shifts_between(station, _history_start(today), today - timedelta(days=1))
    for number, shift in enumerate(past):
        _play_day(station, shift, number, visits, staff.id)
    coming = roster.shifts_between(station, today, today + timedelta(days=27))
    for number, shift in enumerate(coming):
        _book_ahead(station, shift, number, visits, staff.id, today)
    _confirmations_sent(now)
    _veterans_since_first_contact()


def _book(
    slot_id: int, person: int, case: Case, channel: str, at: datetime, staff_id: int, again: bool = False
) -> Booking:
    from legalaid.bookings import services as bookings

    name, mobile = _person(person)
    _clock(at)
    booking = bookings.place_booking(
        bookings.BookingRequest(
            slot_id=slot_id,
            name=name,
            mobile=mobile,
            category=case.category,
            channel=channel,
            idempotency_key=secrets.token_hex(16),
            consent=True,
            description=REVISIT + case.description if again else case.description,
            id_number=_id_number(person),
        ),
        now=at,
        actor_id=staff_id if channel in ("phone", "staff") else None,
    )
    _notices(at)
    return booking


def _notices(at: datetime) -> None:
    """The reminders read what happened to the booking at that minute (the scheduler would)."""
    from legalaid.reminders.rules import booking_notices

    booking_notices(at)


def _cancel(booking: Booking, number: int, at: datetime) -> None:
    from legalaid.bookings import services as bookings

    by_staff = booking.channel in DESK_CHANNELS
    _clock(at)
    bookings.cancel(booking, CANCEL_REASONS[number % len(CANCEL_REASONS)], by_staff=by_staff, now=at)
    booking.updated_at = at
    _notices(at)


def _play_day(station: Station, shift: DutyShift, number: int, visits: _Visits, staff_id: int) -> None:
    """One past duty day: bookings made days before (some cancelled), arrivals checked in, walk-in
    numbers given out, everyone called in turn; in the evening who did not come becomes a no-show."""
    from legalaid.bookings import services as bookings

    day = shift.duty_on
    slots = [slot.id for slot in planning.plan_slots(shift)]
    busy: set[int] = set()
    arrivals, stayed_away = [], []
    for index in range(2 + (number % 2 == 0) + (number % 5 == 1)):
        turn = visits.bookings
        visits.bookings += 1
        again = visits.returning(busy, turn) if turn % 11 == 7 else None
        person, case = again or (visits.new_person(), visits.next_case())
        busy.add(person)
        channel = CHANNEL_CYCLE[turn % len(CHANNEL_CYCLE)]
        booked = _at(station, day - timedelta(days=1 + turn * 5 % 20), time(9 + turn % 10, turn * 7 % 60))
        booking = _book(slots[SLOT_ORDER[index]], person, case, channel, booked, staff_id, again is not None)
        if turn % 9 == 4:
            _cancel(
                booking, turn, min(booked + timedelta(days=1), booking.slot.starts_at - timedelta(hours=3))
            )
        elif turn % 7 == 3:
            stayed_away.append(booking)
        else:
            arrivals.append(booking)
            visits.seen.append((person, case))
    for booking in arrivals:
        arrived = _clock(booking.slot.starts_at - timedelta(minutes=5 + booking.id % 11))
        bookings.check_in(booking, now=arrived)
    walkins, late = [], []
    for index in range((number % 2 == 1) + (number % 7 == 3)):
        turn = visits.walkins
        visits.walkins += 1
        if turn % 6 == 5:
            late.append(turn)  # comes at the end of the day and leaves before being called
        else:
            at = _at(station, day, (time(9, 12), time(14, 41))[index])
            walkins.append(_walk_in(station, visits, turn, at, busy, seen=True))
    calls = [b.slot.starts_at for b in arrivals] + [w.created_at + timedelta(minutes=4) for w in walkins]
    for at in sorted(calls):
        calling.call_next(station, now=_clock(at))
    for turn in late:
        _walk_in(station, visits, turn, _at(station, day, time(16, 45)), busy, seen=False)
    evening = _clock(_at(station, day, time(18, 0)))
    bookings.mark_no_shows(now=evening)
    for booking in stayed_away:
        booking.updated_at = evening


def _walk_in(
    station: Station, visits: _Visits, turn: int, at: datetime, busy: set[int], seen: bool
) -> WalkIn:
    """A walk-in number: someone who came before, a newcomer who leaves a mobile number, or one who
    gives only a name; `seen` if they stay until called."""
    from legalaid.bookings import services as bookings

    _clock(at)
    case = visits.next_case()
    again = visits.returning(busy, turn) if turn % 3 == 0 else None
    veteran, name = None, ""
    if again is not None:
        person = again[0]
        veteran = bookings.veteran_for(*_person(person))
    elif turn % 3 == 1:
        person = visits.new_person()
        veteran = bookings.veteran_for(*_person(person))
        veteran.created_at = veteran.updated_at = at
    else:
        person = visits.new_person()
        name = _person(person)[0]
    busy.add(person)
    walkin = calling.issue_walkin(station, case.category, veteran, now=at, name=name)
    if seen and veteran is not None:
        visits.seen.append((person, case))
    return walkin


def _book_ahead(
    station: Station, shift: DutyShift, number: int, visits: _Visits, staff_id: int, today: date
) -> None:
    """Bookings on a coming duty day, made in the days before today; the first is someone coming back,
    the second was cancelled."""

    slots = [slot.id for slot in planning.plan_slots(shift)]
    busy: set[int] = set()
    for index in range(3 + (number + 1) % 4):
        turn = visits.bookings
        visits.bookings += 1
        again = visits.returning(busy, turn) if index == 0 else None
        person, case = again or (visits.new_person(), visits.next_case())
        busy.add(person)
        # A week or so before the day, but before today, and within the booking window.
        booked_on = max(
            min(shift.duty_on - timedelta(days=7 + index), today - timedelta(days=1 + index % 3)),
            shift.duty_on - timedelta(days=station.booking_window_days),
        )
        booked = _at(station, booked_on, time(9 + turn % 10, turn * 7 % 60))
        channel = CHANNEL_CYCLE[turn % len(CHANNEL_CYCLE)]
        booking = _book(slots[SLOT_ORDER[index]], person, case, channel, booked, staff_id, again is not None)
        if index == 1:
            _cancel(booking, turn, booked + timedelta(hours=2))


def _confirmations_sent(now: datetime) -> None:
    """The bookings' messages (confirmations, cancellations) went out when they were queued."""
    from legalaid.reminders.models import PENDING, SENT, OutboxEvent

    messages = db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.status == PENDING,
            sa.or_(
                OutboxMessage.kind.startswith("booking_"),
                OutboxMessage.kind.startswith("swap_"),
                OutboxMessage.kind == "consultation_done",
            ),
        )
    ).all()
    for message in messages:
        message.due_at = min(message.due_at, now)
        message.created_at = min(message.created_at, message.due_at)
        message.status, message.attempts, message.sent_at = SENT, 1, message.due_at + timedelta(seconds=20)
        message.claimed_at, message.claimed_by = message.due_at, "demo"
        db.session.add(
            OutboxEvent(message_id=message.id, at=message.sent_at, status=SENT, detail="attempt 1")
        )
    db.session.flush()


# The demo's ratings (好差评), newest consultation first: level, reasons, comment, and a reply if any.
DEMO_RATINGS: tuple[tuple[int, list[str], str, str], ...] = (
    (1, ["long_wait", "unsolved"], "等了一个多小时，问题也没说清楚。", ""),
    (5, ["warm", "expert"], "律师很耐心，讲得明白。", ""),
    (4, ["expert"], "", ""),
    (2, ["unclear"], "", "已电话回访，由值班律师补充说明了仲裁时效，当事人表示理解。"),
    (5, ["warm", "short_wait", "efficient"], "", ""),
    (3, [], "", ""),
    (5, ["expert", "efficient"], "", ""),
)


def _load_ratings(station: Station, admin: User, today: date, now: datetime) -> None:
    """A few ratings of the latest consultations, one of them poor and still waiting for a reply (so the
    administrator sees the flag on the first start), one poor and answered."""
    from legalaid.consultations.models import Consultation
    from legalaid.ratings.models import KIOSK, PHONE, Rating

    latest = db.session.scalars(
        sa.select(Consultation)
        .where(Consultation.station_id == station.id, Consultation.held_on < today)
        .order_by(Consultation.held_on.desc(), Consultation.id.desc())
        .limit(len(DEMO_RATINGS))
    ).all()
    pairs = zip(latest, DEMO_RATINGS, strict=False)  # fewer consultations than ratings: rate those there are
    for index, (consultation, (level, reasons, comment, reply)) in enumerate(pairs):
        rated_at = min(now, _at(station, consultation.held_on, time(16, 0)) + timedelta(hours=index))
        db.session.add(
            Rating(
                consultation_id=consultation.id,
                level=level,
                reasons=reasons,
                comment=comment,
                channel=PHONE if index % 2 else KIOSK,
                rated_at=rated_at,
                reply=reply,
                replied_at=min(now, rated_at + timedelta(days=1)) if reply else None,
                replied_by_id=admin.id if reply else None,
            )
        )
    db.session.flush()


def _veterans_since_first_contact() -> None:
    """A person's record dates from their first booking (or the walk-in that made it, if earlier)."""
    from legalaid.bookings.models import Veteran

    first = (
        sa.select(sa.func.min(Booking.consent_at)).where(Booking.veteran_id == Veteran.id).scalar_subquery()
    )
    since = sa.case((first < Veteran.created_at, first), else_=Veteran.created_at)
    db.session.execute(
        sa.update(Veteran)
        .where(Veteran.id.in_(sa.select(Booking.veteran_id)))
        .values(created_at=since, updated_at=since)
        .execution_options(synchronize_session=False)
    )


# -- consultations and matters ---------------------------------------------------------------------------

_BY_DESCRIPTION = {clean_prose(case.description): case for case in CASES}
_REVISIT_STORED = clean_prose(REVISIT)


def _lead_oldest_overdue(station: Station, admin: User, today: date, now: datetime) -> None:
    """领导包案: the administrator leads the matter overdue the longest (it shows in the monthly review)."""
    from legalaid.consultations import services as consultations
    from legalaid.consultations.models import CLOSED, Matter

    matter = db.session.scalar(
        sa.select(Matter)
        .where(Matter.station_id == station.id, Matter.status != CLOSED, Matter.due_on < today)
        .order_by(Matter.due_on, Matter.id)
        .limit(1)
    )
    if matter is not None:
        _clock(now)
        consultations.lead(matter, admin, admin, now=now)


def _load_consultations(station: Station, today: date) -> None:
    """A consultation for every person called on a past day, in the order they were seen; matters
    followed up as far as they have got by today."""
    from legalaid.bookings.models import CHECKED_IN
    from legalaid.consultations import services as consultations

    arrived = db.session.scalars(
        sa.select(Booking)
        .join(DutyShift, DutyShift.id == Booking.shift_id)
        .where(
            DutyShift.station_id == station.id, Booking.status == CHECKED_IN, Booking.called_at.is_not(None)
        )
    ).all()
    called = db.session.scalars(
        sa.select(WalkIn).where(WalkIn.station_id == station.id, WalkIn.status == "called")
    ).all()
    seen: list[tuple[datetime, int, Booking | WalkIn]] = [(b.called_at, 0, b) for b in arrived if b.called_at]
    seen += [(w.called_at, 1, w) for w in called if w.called_at]
    for called_at, _kind, visit in sorted(seen, key=lambda v: (v[0], v[1], v[2].id)):
        booking = visit if isinstance(visit, Booking) else None
        walkin = visit if isinstance(visit, WalkIn) else None
        shift = db.session.get(DutyShift, visit.shift_id)
        if shift is None or shift.duty_on >= today:
            continue
        case, again = _case_of(visit)
        held_on, author = shift.duty_on, shift.lawyer.user
        if again:
            record = consultations.Record(
                category=case.category,
                summary=REVISIT_SUMMARY + case.summary,
                advice=REVISIT_ADVICE + case.advice,
                outcomes=["advice"],
            )
        else:
            record = consultations.Record(
                category=case.category,
                summary=case.summary,
                advice=case.advice,
                outcomes=list(case.outcomes),
                counselling_notes=case.counselling,
                follow_up=bool(case.due_days),
                due_on=held_on + timedelta(days=case.due_days) if case.due_days else None,
            )
        at = _clock(called_at + timedelta(minutes=20 + visit.id % 4 * 5))
        consultation = consultations.record_consultation(
            station, author, record, booking=booking, walkin=walkin, today=held_on
        )
        if booking is not None:
            booking.updated_at = at
        if consultation.matter is not None:
            _follow_up(station, consultation.matter, author, case, held_on, today)


def _case_of(visit: Booking | WalkIn) -> tuple[Case, bool]:
    """The case a visit was about (found by what the person wrote), and whether they came back."""
    if isinstance(visit, Booking):
        text = visit.description
        again = text.startswith(_REVISIT_STORED)
        case = _BY_DESCRIPTION.get(text.removeprefix(_REVISIT_STORED))
        if case is not None:
            return case, again
    same = [case for case in CASES if case.category == visit.category] or list(CASES)
    return same[visit.id % len(same)], False


def _follow_up(station: Station, matter: Matter, owner: User, case: Case, held_on: date, today: date) -> None:
    """The matter's steps that have come by today: notes, legal-aid milestones, the closing."""
    from legalaid.consultations import services as consultations

    for step in case.steps:
        on = held_on + timedelta(days=step.days)
        if on >= today:
            break
        at = _clock(_at(station, on, time(10, 30)))
        if step.result:
            consultations.close_matter(matter, owner, step.result, money_saved=step.money)
            matter.closed_at = at
        else:
            milestone_on = on if step.milestone else None
            consultations.add_note(matter, owner, step.text, milestone=step.milestone, on=milestone_on)


# -- the outbox ----------------------------------------------------------------------------------------------


def _load_messages(station: Station, today: date, now: datetime) -> None:
    """The outbox as after some use: besides the bookings' messages (sent), one message in each
    other status (waiting, sending, failed, expired, unknown) for the administrator to look at."""
    from legalaid.reminders import queueing, rules, timing
    from legalaid.reminders.models import (
        EXPIRED,
        FAILED,
        LOST_CLAIM,
        PENDING,
        SENDING,
        STALE,
        UNKNOWN,
        OutboxEvent,
    )

    _clock(now)
    coming = roster.shifts_between(station, today + timedelta(days=1), today + timedelta(weeks=4))
    past = roster.shifts_between(station, today - timedelta(weeks=4), today - timedelta(days=1))
    booked_before = db.session.scalars(
        sa.select(Booking).where(Booking.shift_id.in_([s.id for s in past])).order_by(Booking.id)
    ).all()
    booked_ahead = db.session.scalars(
        sa.select(Booking)
        .where(Booking.shift_id.in_([s.id for s in coming]), Booking.status == "booked")
        .order_by(Booking.id)
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
        contact = queueing.veteran_contact(booking) if booking else queueing.lawyer_contact(lawyer)
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
            at = (
                due + timedelta(minutes=11)
                if status == UNKNOWN or booking is None
                else booking.slot.starts_at
            )
            db.session.add(OutboxEvent(message_id=message.id, at=at, status=status, detail=error))
