"""Province-scale data (`flask --app wsgi demo generate`): stations with years of history, written by bulk
inserts so a million consultations take minutes, not hours.

The demo (`legalaid.demo`) plays a year through the services, row by row; that is far too slow here. This
module computes every row itself — ids included, after each table's current maximum — and writes them
station by station in foreign-key order: PostgreSQL through binary COPY (psycopg) from a second thread
while the next station is made, other databases through executemany inserts. On PostgreSQL the big
tables' plain indexes are built once at the end, and the foreign keys are checked once per key at the
end (one anti-join each, as pg_restore does) where the role may set session_replication_role; the
unique indexes and check constraints work row by row as always. All of it is one transaction.

It keeps the rules the services keep, by construction (`check()` counts what breaks them):

- a booking's slot belongs to the booking's shift; no slot holds more bookings that are not cancelled than
  its capacity, nor the public channels more than the shift's quota; `Slot.booked`,
  `ShiftQuota.public_booked` and `DailyCounter` equal the rows they count (computed from the rows written);
- a consultation is held on its shift's date, at its station, by the shift's lawyer (after any swap),
  written by that lawyer's account; a completed booking has exactly one consultation, a walk-in seen too;
- one active booking per person and day; booking codes unique (an affine permutation of the id);
- the past holds checked-in, completed, no-show and cancelled bookings; the future only booked (and
  cancelled) ones; statutory holidays and 调休 (`chinesecalendar`) and a few closures have no shift;
  dates off fall in weeks the lawyer holds no shift.

Personal data is stored as the app stores it: mobiles, ID numbers, counselling notes and the outbox's
addresses and parameters are Fernet tokens in `legalaid.crypto`'s format and keys, mobiles found by their
blind index. A person's mobile is encrypted once and reused for their messages, counselling notes once per
station and case, and messages older than the outbox's keeping time are stored emptied, as the retention
job leaves them: encryption grows with the people, not with the rows. The stations keep their records for
`years + 1` years, so nothing generated is due for erasure yet.

Every run is reproducible from `--seed` (and the clock). A second run is refused (the generator's
accounts, `gen-…`, exist): it would only add a copy. Its accounts have random, unknown passwords.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import secrets
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import chinese_calendar
import sqlalchemy as sa
from flask import current_app
from werkzeug.security import generate_password_hash

from legalaid import crypto
from legalaid.access import ADMIN, LAWYER, STAFF
from legalaid.crypto import blind_index
from legalaid.dates import DEFAULT_TIMEZONE, local_to_utc, local_today, now_utc, to_local
from legalaid.db import UTCDateTime
from legalaid.demo import CASES, GIVEN_NAMES, REVISIT, REVISIT_ADVICE, REVISIT_SUMMARY, SURNAMES, Case
from legalaid.extensions import db
from legalaid.privacy import mask_mobile
from legalaid.privacy.retention import outbox_keep_days
from legalaid.stations.models import TUESDAY_ONLY

PREFIX = "gen-"  # every account the generator makes; its presence means "already generated"
CITIES = (
    "焦作", "新乡", "洛阳", "开封", "安阳", "鹤壁", "濮阳", "许昌", "漯河",
    "三门峡", "南阳", "商丘", "信阳", "周口", "驻马店", "郑州", "平顶山", "济源",
)  # fmt: skip
PARTS = ("东城区", "西城区", "南城区", "北城区", "新区", "高新区", "经开区")
FIRM_WORDS = ("正义", "公信", "明德", "中原", "金盾", "华夏", "诚信", "天平", "长城")
SESSIONS = ((time(9, 0), time(12, 0)), (time(14, 30), time(17, 30)))
SLOT_MINUTES = 30
WALKIN_RESERVE = 2
# The channels bookings come through, with their shares (a walk-in is not a booking).
CHANNEL_WEIGHTS = {"online": 35, "kiosk": 25, "hotline": 15, "phone": 10, "staff": 15}
PUBLIC = ("kiosk", "online")
CONSENT = {"kiosk": "kiosk", "online": "online", "hotline": "phone", "phone": "phone", "staff": "read_aloud"}
CANCEL_REASONS = ("临时有事，改天再来", "问题已经自己解决了", "身体不舒服，去不了", "要去外地，来不了")
LEAVE_REASONS = ("外地开庭", "年休假", "参加律师协会培训", "身体原因请假")
CLOSURE_REASON = "服务大厅场地活动，暂停接待"
SWAP_NOTES = ("单位临时安排出差，请帮忙替班", "家中老人住院，需要陪护", "外地开庭，请帮忙替班")
RATING_LEVELS = (5, 4, 3, 2, 1)
RATING_WEIGHTS = (55, 25, 10, 6, 4)
RATING_COMMENTS = {
    5: "律师很耐心，讲得很清楚",
    4: "解答专业，谢谢",
    3: "",
    2: "等的时间太长了",
    1: "问题没有解决",
}
RATING_REPLY = "感谢您的反馈，我们已与值班律师沟通，将进一步改进服务，并已电话回访。"
_CHANNELS = tuple(CHANNEL_WEIGHTS)
_CHANNEL_CUMULATIVE = tuple(itertools.accumulate(CHANNEL_WEIGHTS.values()))
_RATING_CUMULATIVE = tuple(itertools.accumulate(RATING_WEIGHTS))
REVIEW_TEXT = "本月咨询量平稳；逾期事项逐件明确责任人和办结时限，疑难事项提请领导包案。"
# The code alphabet and length of legalaid.bookings.services; codes are an affine permutation of the id.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_SPACE = len(CODE_ALPHABET) ** 6
CODE_FACTOR, CODE_OFFSET = 387_420_489, 123_456_789  # 3**18: coprime with 31**6, so codes never repeat


class GenerateError(RuntimeError):
    """The generator cannot run on this database (already generated, sizes out of range)."""


@dataclass
class Sizes:
    """What to generate: stations, years of history, consultations per station and year, the seed."""

    stations: int = 2
    years: int = 1
    per_station_year: int = 200
    seed: int = 2026
    weeks_ahead: int = 4


# -- writing rows in bulk ---------------------------------------------------------------------------------


class Writer:
    """Writes rows (tuples in a fixed column order) into tables in bulk, within the session's transaction:
    COPY on PostgreSQL, executemany elsewhere; allocates ids after each table's current maximum."""

    def __init__(self) -> None:
        self.conn = db.session.connection()
        self.postgres = self.conn.dialect.name == "postgresql"
        self.counts: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self._next: dict[str, int] = {}
        self._tables: dict[str, sa.TableClause] = {}
        self._dropped: list[sa.Index] = []
        self.keys_deferred = False

    def next_id(self, table: str, reserve: bool = False) -> int:
        """A fresh primary key of a table (the tables' ids are allocated here, not by the database);
        `reserve`: only read where the table's ids go on."""
        if table not in self._next:
            query = f"SELECT coalesce(max(id), 0) FROM {table}"  # noqa: S608 (a name from the models)
            self._next[table] = int(self.conn.scalar(sa.text(query))) + 1
        if reserve:
            return self._next[table]
        value = self._next[table]
        self._next[table] = value + 1
        return value

    def write(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        """Insert the rows; values are in the database's form (tokens encrypted, JSON as text)."""
        if not rows:
            return
        started = clock.perf_counter()
        if self.postgres:
            raw = self.conn.connection.driver_connection
            # Binary COPY: a third of the time of text on both sides (no formatting and parsing of values).
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
            with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
                copy.set_types(_binary_types(table, columns))
                for row in rows:
                    copy.write_row(row)
        else:
            target = self._table(table, columns)
            for start in range(0, len(rows), 5000):
                batch = [dict(zip(columns, _naive(row), strict=True)) for row in rows[start : start + 5000]]
                self.conn.execute(sa.insert(target), batch)
        self.counts[table] += len(rows)
        self.seconds[table] += clock.perf_counter() - started

    def write_all(self, rows: dict[str, list[tuple]]) -> None:
        """Write one station's rows, table by table in foreign-key order."""
        for table in ORDER:
            if rows.get(table):
                self.write(table, COLUMNS[table], rows[table])

    def _table(self, name: str, columns: Sequence[str]) -> sa.TableClause:
        """A typeless view of the table (values are ready), with date and time types SQLite needs."""
        key = name + ":" + ",".join(columns)
        if key not in self._tables:
            real = db.metadata.tables[name]
            typed: list[sa.ColumnClause[Any]] = []
            for column in columns:
                kind = real.c[column].type
                if isinstance(kind, UTCDateTime):
                    typed.append(sa.column(column, sa.DateTime()))
                elif isinstance(kind, sa.Date):
                    typed.append(sa.column(column, sa.Date()))
                elif isinstance(kind, sa.Time):
                    typed.append(sa.column(column, sa.Time()))
                else:
                    typed.append(sa.column(column))
            self._tables[key] = sa.table(name, *typed)
        return self._tables[key]

    def drop_indexes(self) -> None:
        """PostgreSQL: set the big tables' plain indexes aside while they fill, and build them once at the
        end (`finish`) — much cheaper than updating them row by row, the trigram index above all. The
        unique ones stay: they are rules. It is DDL inside the transaction: a failed run gets them back."""
        if not self.postgres:
            return
        existing = set(
            self.conn.scalars(sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"))
        )
        for table in BIG_TABLES:
            for index in sorted(db.metadata.tables[table].indexes, key=lambda i: str(i.name)):
                if not index.unique and index.name in existing:
                    self.conn.execute(sa.text(f'DROP INDEX "{index.name}"'))
                    self._dropped.append(index)

    def defer_foreign_keys(self) -> None:
        """PostgreSQL: check the foreign keys once per table at the end (`finish`) instead of once per row
        (a third of the load's time), as pg_restore does; needs the right to set session_replication_role
        (a superuser, or one granted it): without it, the keys are checked row by row as usual."""
        if not self.postgres:
            return
        try:
            with self.conn.begin_nested():
                self.conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        except sa.exc.DBAPIError:
            return
        self.keys_deferred = True

    def _check_foreign_keys(self) -> None:
        """Every reference written points at a row (one anti-join per foreign key, instead of a lookup per
        row); a broken one stops the run, and the transaction takes everything back."""
        self.conn.execute(sa.text("SET LOCAL session_replication_role = origin"))
        broken = []
        for name in self.counts:
            for key in db.metadata.tables[name].foreign_key_constraints:
                (column,) = key.column_keys
                parent = key.referred_table.name
                (element,) = key.elements
                found = self.conn.scalar(
                    sa.text(
                        f"SELECT count(*) FROM {name} c WHERE c.{column} IS NOT NULL AND NOT EXISTS "  # noqa: S608
                        f"(SELECT 1 FROM {parent} p WHERE p.{element.column.name} = c.{column})"
                    )
                )
                if found:
                    broken.append(f"{name}.{column} → {parent}: {found}")
        if broken:
            raise GenerateError("Rows point at rows that do not exist: " + "; ".join(broken))

    def finish(self) -> None:
        """Check the deferred foreign keys, build the indexes set aside, and move PostgreSQL's id
        sequences past the ids written here."""
        if not self.postgres:
            return
        started = clock.perf_counter()
        if self.keys_deferred:
            self._check_foreign_keys()
            self.seconds["(foreign keys)"] += clock.perf_counter() - started
            started = clock.perf_counter()
        self.conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        for index in self._dropped:
            index.create(self.conn)
        self.seconds["(indexes)"] += clock.perf_counter() - started
        for table in self._next:
            self.conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table} "  # noqa: S608
                    "HAVING max(id) IS NOT NULL"
                )
            )


def _binary_types(table: str, columns: Sequence[str]) -> list[str]:
    """The PostgreSQL types binary COPY sends the columns as (JSON and encrypted text go as text: the
    json type's binary form is its text)."""
    names = []
    for column in columns:
        kind = db.metadata.tables[table].c[column].type
        if isinstance(kind, UTCDateTime):
            names.append("timestamptz")
        elif isinstance(kind, sa.Boolean):
            names.append("bool")
        elif isinstance(kind, sa.SmallInteger):
            names.append("int2")
        elif isinstance(kind, sa.BigInteger):
            names.append("int8")
        elif isinstance(kind, sa.Integer):
            names.append("int4")
        elif isinstance(kind, sa.Date):
            names.append("date")
        elif isinstance(kind, sa.Time):
            names.append("time")
        else:
            names.append("text")
    return names


def _naive(row: tuple) -> tuple:
    """SQLite keeps UTC without a zone (as legalaid.db.UTCDateTime writes it)."""
    return tuple(v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v for v in row)


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # made once: json.dumps with options makes one a call


def _json(value: Any) -> str:
    """A JSON column's stored text."""
    return _ENCODER.encode(value)


# -- the columns written, per table -----------------------------------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "stations": (
        "id", "name", "address", "timezone", "duty_weekdays", "slot_minutes", "places_per_slot",
        "walkin_reserve", "booking_window_days", "booking_cutoff_hours", "retention_years",
        "queue_opens_minutes", "swap_auto_approve", "active", "created_at", "updated_at",
    ),
    "station_sessions": ("id", "station_id", "start_time", "end_time"),
    "users": (
        "id", "username", "display_name", "email", "role", "password_hash", "active", "station_id",
        "created_at", "password_changed_at",
    ),
    "law_firms": ("id", "name", "contact_person", "phone", "created_at"),
    "lawyers": (
        "id", "station_id", "firm_id", "user_id", "name", "licence_no", "mobile", "email", "specialties",
        "contract_start", "contract_end", "active", "calendar_token", "created_at",
    ),
    "unavailabilities": ("id", "lawyer_id", "start_on", "end_on", "reason", "created_by_id", "created_at"),
    "closures": ("id", "station_id", "closed_on", "closed", "reason", "created_by_id", "created_at"),
    "duty_shifts": (
        "id", "station_id", "duty_on", "lawyer_id", "source", "reason", "checked_in_at", "checked_in_by_id",
        "created_at", "updated_at",
    ),
    "shift_quotas": ("shift_id", "public_capacity", "public_booked"),
    "slots": ("id", "shift_id", "starts_at", "ends_at", "capacity", "booked"),
    "swap_requests": (
        "id", "shift_id", "from_lawyer_id", "to_lawyer_id", "accepted_by_id", "status", "note",
        "decided_by_id", "created_at", "updated_at",
    ),
    "shift_changes": (
        "id", "shift_id", "station_id", "duty_on", "old_lawyer_id", "new_lawyer_id", "cause", "created_at",
        "processed_at",
    ),
    "veterans": (
        "id", "name", "mobile", "mobile_hash", "id_number", "id_number_hash", "created_at", "updated_at",
    ),
    "bookings": (
        "id", "code", "idempotency_key", "slot_id", "shift_id", "veteran_id", "channel", "name", "category",
        "description", "status", "uses_public_quota", "consent_at", "consent_how", "consent_by_id",
        "cancel_reason", "created_by_id", "created_at", "checked_in_at", "called_at", "queue_number",
        "announced_at", "updated_at",
    ),
    "booking_events": ("id", "booking_id", "kind", "cause", "created_at", "processed_at"),
    "walk_ins": (
        "id", "station_id", "day", "number", "shift_id", "veteran_id", "name", "category", "status",
        "created_at", "called_at", "announced_at", "passed_at",
    ),
    "daily_counters": ("station_id", "day", "last_number", "last_booking_number"),
    "consultations": (
        "id", "station_id", "shift_id", "lawyer_id", "author_id", "booking_id", "walkin_id", "veteran_id",
        "name", "held_on", "channel", "category", "summary", "advice", "counselling_notes", "created_at",
        "updated_at",
    ),
    "consultation_outcomes": ("consultation_id", "outcome", "position"),
    "matters": (
        "id", "consultation_id", "station_id", "owner_id", "leader_id", "status", "due_on", "result",
        "money_saved", "closed_at", "created_at",
    ),
    "matter_notes": ("id", "matter_id", "at", "author_id", "text", "milestone", "milestone_on"),
    "ratings": (
        "id", "consultation_id", "level", "reasons", "comment", "channel", "rated_at", "reply", "replied_at",
        "replied_by_id",
    ),
    "outbox_messages": (
        "id", "kind", "channel", "recipient_type", "recipient_id", "address", "locale", "template", "params",
        "due_at", "expires_at", "status", "attempts", "last_error", "claimed_at", "claimed_by", "sent_at",
        "dedupe_key", "created_at",
    ),
    "outbox_events": ("id", "message_id", "at", "status", "detail"),
    "audit_entries": (
        "id", "at", "actor_id", "actor_name", "action", "target_type", "target_id", "station_id", "ip",
        "details",
    ),
    "monthly_reviews": (
        "id", "station_id", "month_on", "held_on", "attendees", "conclusions", "actions", "recorded_by_id",
        "updated_at",
    ),
}  # fmt: skip
# The tables that grow with the consultations (their plain indexes are built after the load).
BIG_TABLES = (
    "slots", "veterans", "bookings", "booking_events", "walk_ins", "consultations", "consultation_outcomes",
    "matters", "matter_notes", "ratings", "outbox_messages", "outbox_events", "audit_entries",
)  # fmt: skip
# Foreign-key order: a station's rows are written table by table in this order.
ORDER = tuple(COLUMNS)


# -- the generator -----------------------------------------------------------------------------------------


@dataclass
class _Person:
    """A veteran of one station: id, name, masked mobile and the mobile's token (for the outbox)."""

    id: int
    name: str
    masked: str
    address: str


@dataclass
class _Station:
    """One station's rows, collected before they are written."""

    id: int
    name: str
    address: str
    places: int
    staff_id: int
    staff_name: str
    lawyers: list[tuple[int, int, str, str, str]] = field(
        default_factory=list
    )  # id, user id, name, username, token
    rows: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    people: list[_Person] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # counselling notes, encrypted once
    lawyer_name: str = ""  # the lawyer of the day being generated (for the messages)


class Generator:
    """Generates the stations one by one and writes each as soon as it is made."""

    def __init__(
        self, sizes: Sizes, now: datetime | None = None, say: Callable[[str], object] = print
    ) -> None:
        self.sizes = sizes
        self.now = now or now_utc()
        self.say = say
        self.tz = DEFAULT_TIMEZONE
        self.today = to_local(self.now, self.tz).date()
        self.rng = random.Random(sizes.seed)
        self.out = Writer()
        covered = {d.year for d in chinese_calendar.constants.holidays}
        first = date(max(self.today.year - sizes.years, min(covered)), self.today.month, 1)
        # Holidays are known only for the years the data covers: do not plan a day the data cannot judge.
        self.start = first
        self.end = min(self.today + timedelta(weeks=sizes.weeks_ahead), date(max(covered), 12, 31))
        self.password_hash = generate_password_hash(
            secrets.token_urlsafe(24), method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        )
        self.ratings = sa.inspect(self.out.conn).has_table("ratings")
        self.encrypt_seconds = 0.0
        self._fernet = crypto._fernet()
        self.hash_key = str(current_app.config["DATA_HASH_KEY"])
        self._midnights: dict[date, datetime] = {}
        self.payload_kept_from = self.now - timedelta(days=outbox_keep_days())
        self.empty_params = self._encrypt("{}")  # EncryptedJSON's {} (one token serves every emptied message)
        self.people_total = 0
        self.code_taken = set(db.session.scalars(sa.text("SELECT code FROM bookings")).all())
        self.hash_taken = set(db.session.scalars(sa.text("SELECT mobile_hash FROM veterans")).all())

    # -- helpers ----------------------------------------------------------------------------------------

    def _encrypt(self, value: str) -> str:
        """The stored token of a value: what `legalaid.crypto.encrypt` makes, with its keys read once
        (reading them on every call costs a quarter of the time)."""
        started = clock.perf_counter()
        token = crypto._PREFIX + self._fernet.encrypt(value.encode()).decode()
        self.encrypt_seconds += clock.perf_counter() - started
        return token

    def _at(self, day: date, minutes: float) -> datetime:
        """The UTC instant `minutes` after local midnight of a day at the station."""
        midnight = self._midnights.get(day)
        if midnight is None:
            midnight = self._midnights[day] = local_to_utc(day, time(0, 0), self.tz)
        return midnight + timedelta(minutes=minutes)

    def _name(self) -> str:
        """A person's name: surname and given name, as the demo's people are named."""
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES)

    def _code(self, booking_id: int) -> str:
        """A booking code in the app's alphabet, unique by construction (a permutation of the id)."""
        value = (booking_id * CODE_FACTOR + CODE_OFFSET) % CODE_SPACE
        code = ""
        for _ in range(6):
            value, digit = divmod(value, len(CODE_ALPHABET))
            code += CODE_ALPHABET[digit]
        if code in self.code_taken:  # a code the app gave at random earlier: take one far from ours
            return self._code(booking_id + CODE_SPACE // 2)
        return code

    def _audit(
        self,
        st: _Station,
        at: datetime,
        actor: tuple[int | None, str],
        action: str,
        target: str | None,
        target_id: int | None,
        details: dict,
    ) -> None:
        st.rows["audit_entries"].append(
            (
                self.out.next_id("audit_entries"),
                at,
                actor[0],
                actor[1],
                action,
                target,
                target_id,
                st.id,
                None,
                _json(details),
            )
        )

    # -- the run ----------------------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        """Generate and write everything; returns the rows written per table."""
        taken = db.session.scalar(
            sa.text("SELECT count(*) FROM users WHERE username LIKE :prefix"), {"prefix": PREFIX + "%"}
        )
        if taken:
            raise GenerateError(
                f"This database already holds generated data ({taken} '{PREFIX}…' accounts): "
                "generate into an empty database (or one with only other data)."
            )
        started = clock.perf_counter()
        # Every id is read now: from here on, on PostgreSQL, the writer thread alone uses the connection.
        for table, columns in COLUMNS.items():
            if columns[0] == "id":
                self.out.next_id(table, reserve=True)
        self.out.drop_indexes()
        self.out.defer_foreign_keys()
        self.admin = (self.out.next_id("users"), f"{PREFIX}admin")
        self.out.write("users", COLUMNS["users"], [self._user(self.admin, "局管理员（生成）", ADMIN, None)])
        made: Counter[str] = Counter()
        # PostgreSQL writes one station while the next is made (the server works on the other core);
        # SQLite's connection belongs to this thread, so there the two take turns.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: Future[None] | None = None
            for index in range(self.sizes.stations):
                st = self._station(index)
                self._roster_and_visits(st)
                rows = {table: st.rows[table] for table in ORDER if st.rows.get(table)}
                made.update({table: len(batch) for table, batch in rows.items()})
                if pending is not None:
                    pending.result()
                if self.out.postgres:
                    pending = pool.submit(self.out.write_all, rows)
                else:
                    self.out.write_all(rows)
                if index == 0 or (index + 1) % max(1, self.sizes.stations // 20) == 0:
                    self.say(
                        f"  station {index + 1}/{self.sizes.stations}: "
                        f"{made['consultations']:,} consultations, "
                        f"{sum(made.values()):,} rows, {clock.perf_counter() - started:.1f} s"
                    )
            if pending is not None:
                pending.result()
        self.out.finish()
        self.seconds = clock.perf_counter() - started
        return dict(self.out.counts)

    def _user(self, user: tuple[int, str], name: str, role: str, station_id: int | None) -> tuple:
        """An account's row: its password is random and thrown away (a person resets it to sign in)."""
        created = self._at(self.start - timedelta(days=40), 9 * 60)
        email = f"{user[1]}@example.org"
        return (user[0], user[1], name, email, role, self.password_hash, True, station_id, created, created)

    def _station(self, index: int) -> _Station:
        """A station of its own district, its staff, two or three firms and seven to nine lawyers."""
        out, rng = self.out, self.rng
        city, part = CITIES[index % len(CITIES)], PARTS[index // len(CITIES) % len(PARTS)]
        round_ = index // (len(CITIES) * len(PARTS))
        district = f"{city}市{part}" + (f"{round_ + 1}" if round_ else "")
        name = f"{district}退役军人法律服务站"
        # Enough places that a busy day never overbooks: about a quarter above the busiest expected day.
        per_day = self.sizes.per_station_year / 45  # about 48 duty days a year, and some margin
        places = max(1, min(50, math.ceil((per_day * 1.35 + WALKIN_RESERVE) / 12)))
        created = self._at(self.start - timedelta(days=35), 9 * 60 + 30)
        staff = (out.next_id("users"), f"{PREFIX}s{index + 1:03d}-staff")
        st = _Station(out.next_id("stations"), name, f"{district}退役军人服务中心服务大厅", places, *staff)
        retention = min(30, max(3, self.sizes.years + 1))  # nothing of the history is due for erasure yet
        st.rows["stations"].append(
            (
                st.id,
                name,
                st.address,
                self.tz,
                TUESDAY_ONLY,
                SLOT_MINUTES,
                places,
                WALKIN_RESERVE,
                28,
                2,
                retention,
                60,
                False,
                True,
                created,
                created,
            )
        )
        for start, end in SESSIONS:
            st.rows["station_sessions"].append((out.next_id("station_sessions"), st.id, start, end))
        st.rows["users"].append(self._user(staff, "大厅工作人员", STAFF, st.id))
        firms = []
        for k in range(rng.choice((2, 2, 3))):
            firm_id = out.next_id("law_firms")
            word = FIRM_WORDS[(index + k) % len(FIRM_WORDS)]
            firms.append(firm_id)
            st.rows["law_firms"].append(
                (
                    firm_id,
                    f"{district}{word}律师事务所",
                    self._name(),
                    f"0391-{rng.randrange(10**7):07d}",
                    created,
                )
            )
        categories = list({case.category for case in CASES})
        for k in range(rng.choice((7, 8, 8, 9))):
            user = (out.next_id("users"), f"{PREFIX}s{index + 1:03d}-l{k + 1:02d}")
            lawyer_id, lawyer_name = out.next_id("lawyers"), self._name()
            st.rows["users"].append(self._user(user, lawyer_name, LAWYER, st.id))
            token = self._encrypt(f"139{st.id % 10000:04d}{k:04d}")
            st.rows["lawyers"].append(
                (
                    lawyer_id,
                    st.id,
                    firms[k % len(firms)],
                    user[0],
                    lawyer_name,
                    f"1410{st.id % 10**7:07d}{k:06d}",
                    token,
                    f"{user[1]}@example.org",
                    _json(rng.sample(categories, 2)),
                    self.start - timedelta(days=30),
                    self.today + timedelta(days=365 + rng.randrange(365)),
                    True,
                    f"{st.id:x}x{lawyer_id:x}x{rng.getrandbits(96):024x}",
                    created,
                )
            )
            st.lawyers.append((lawyer_id, user[0], lawyer_name, user[1], token))
        return st

    def _duty_days(self, st: _Station) -> tuple[list[date], set[date]]:
        """The Tuesdays with a shift, and the station's own closures (a few a year)."""
        days, own = [], set()
        day = self.start + timedelta(days=(1 - self.start.weekday()) % 7)
        while day <= self.end:
            if chinese_calendar.is_holiday(day):
                pass  # a statutory holiday or 调休 day off: no shift, no turn used
            elif day != self.today and self.rng.random() < 0.015:
                own.add(day)
            else:
                days.append(day)
            day += timedelta(days=7)
        for day in sorted(own):
            st.rows["closures"].append(
                (
                    self.out.next_id("closures"),
                    st.id,
                    day,
                    True,
                    CLOSURE_REASON,
                    self.admin[0],
                    self._at(day - timedelta(days=20), 10 * 60),
                )
            )
        return days, own

    def _roster_and_visits(self, st: _Station) -> None:
        """The station's duty days in rotation, with their slots, bookings, visits and what followed."""
        rng, out = self.rng, self.out
        days, _own = self._duty_days(st)
        past = [d for d in days if d < self.today]
        target = self.sizes.per_station_year * self.sizes.years
        per_day = target / max(1, len(past))
        order = list(range(len(st.lawyers)))
        rng.shuffle(order)
        held: defaultdict[int, set[date]] = defaultdict(set)
        for turn, day in enumerate(days):
            lawyer = st.lawyers[order[turn % len(order)]]  # the rotation: each in turn
            shift_id = out.next_id("duty_shifts")
            planned = min(self._at(day - timedelta(days=28), 10 * 60), self.now)
            lawyer = self._swap(st, shift_id, day, lawyer)
            st.lawyer_name = lawyer[2]
            held[lawyer[0]].add(day)
            checked_in = None
            if day < self.today and rng.random() > 0.02:  # a few check-ins forgotten (or the lawyer absent)
                checked_in = self._at(day, 8 * 60 + 35 + rng.randrange(25))
                self._audit(
                    st,
                    checked_in,
                    (st.staff_id, st.staff_name),
                    "roster.check_in",
                    "duty_shifts",
                    shift_id,
                    {"date": day.isoformat()},
                )
            st.rows["duty_shifts"].append(
                (
                    shift_id,
                    st.id,
                    day,
                    lawyer[0],
                    "generated",
                    "",
                    checked_in,
                    st.staff_id if checked_in else None,
                    planned,
                    checked_in or planned,
                )
            )
            slots = []
            for start, end in SESSIONS:
                minute = start.hour * 60 + start.minute
                while minute + SLOT_MINUTES <= end.hour * 60 + end.minute:
                    slots.append(
                        (out.next_id("slots"), self._at(day, minute), self._at(day, minute + SLOT_MINUTES))
                    )
                    minute += SLOT_MINUTES
            if day < self.today:
                visits = max(0, round(per_day * rng.uniform(0.7, 1.3)))
                self._past_day(st, shift_id, day, lawyer, slots, visits)
            else:
                ahead = (day - self.today).days
                wanted = round(per_day * 0.9 * max(0.2, 1 - ahead / 30) * rng.uniform(0.8, 1.1))
                self._future_day(st, shift_id, day, lawyer, slots, wanted)
        self._leave(st, held)
        self._reviews(st)

    def _leave(self, st: _Station, held: dict[int, set[date]]) -> None:
        """Dates off (请假): about a week a year for each lawyer, in weeks they hold no shift (the rotation
        would have skipped them otherwise), entered two weeks before."""
        rng = self.rng
        weeks = (self.end - self.start).days // 7
        for lawyer_id, *_ in st.lawyers:
            for _year in range(self.sizes.years):
                monday = self.start + timedelta(days=7 * rng.randrange(weeks) - self.start.weekday())
                if monday < self.start or any(
                    monday + timedelta(days=d) in held[lawyer_id] for d in range(7)
                ):
                    continue
                entered = min(self._at(monday - timedelta(days=14), 9 * 60 + rng.randrange(480)), self.now)
                st.rows["unavailabilities"].append(
                    (
                        self.out.next_id("unavailabilities"),
                        lawyer_id,
                        monday,
                        monday + timedelta(days=rng.choice((4, 6))),
                        rng.choice(LEAVE_REASONS),
                        self.admin[0],
                        entered,
                    )
                )

    def _swap(self, st: _Station, shift_id: int, day: date, lawyer: tuple) -> tuple:
        """A few shifts are swapped (调班): asked nine days before, accepted, approved; the colleague then
        holds the shift. Some requests are declined; a coming shift may have one waiting for an answer."""
        rng, out = self.rng, self.out
        roll = rng.random()
        asked = self._at(day - timedelta(days=9), 20 * 60 + rng.randrange(60))
        if roll > 0.04 or asked > self.now:
            return lawyer
        colleague = rng.choice([lw for lw in st.lawyers if lw[0] != lawyer[0]])
        accepted, decided = asked + timedelta(hours=12), asked + timedelta(days=2, hours=13)
        if roll < 0.008:
            status = "declined" if accepted <= self.now else "requested"
        elif decided <= self.now:
            status = "approved"
        else:
            status = "accepted" if accepted <= self.now else "requested"
        updated = {"requested": asked, "declined": accepted, "accepted": accepted, "approved": decided}[
            status
        ]
        swap_id = out.next_id("swap_requests")
        taken = status in ("accepted", "approved")
        st.rows["swap_requests"].append(
            (
                swap_id,
                shift_id,
                lawyer[0],
                colleague[0],
                colleague[0] if taken else None,
                status,
                rng.choice(SWAP_NOTES),
                self.admin[0] if status == "approved" else None,
                asked,
                updated,
            )
        )
        self._audit(
            st,
            asked,
            (lawyer[1], lawyer[3]),
            "swap.request",
            "swap_requests",
            swap_id,
            {"date": day.isoformat(), "to": colleague[2]},
        )
        if status != "requested":
            action = "swap.decline" if status == "declined" else "swap.accept"
            self._audit(st, accepted, (colleague[1], colleague[3]), action, "swap_requests", swap_id, {})
        if status != "approved":
            return lawyer
        self._audit(st, decided, self.admin, "swap.approve", "swap_requests", swap_id, {})
        st.rows["shift_changes"].append(
            (
                out.next_id("shift_changes"),
                shift_id,
                st.id,
                day,
                lawyer[0],
                colleague[0],
                "swap",
                decided,
                decided + timedelta(minutes=1),
            )
        )
        return colleague

    def _person(self, st: _Station, first_seen: datetime) -> _Person:
        """A new person of the station: a unique mobile (an affine permutation of a running number), and
        an ID number from every third."""
        from legalaid.demo import _id_number

        while True:
            n = self.people_total
            self.people_total += 1
            mobile = f"1{5 + n % 4}{(n * 7919 + 123_457) % 10**9:09d}"
            hashed = blind_index(mobile, self.hash_key)
            if hashed not in self.hash_taken:
                break
        name = self._name()
        person = _Person(self.out.next_id("veterans"), name, mask_mobile(mobile), self._encrypt(mobile))
        id_number = _id_number(n)
        st.rows["veterans"].append(
            (
                person.id,
                name,
                person.address,
                hashed,
                self._encrypt(id_number) if id_number else None,
                blind_index(id_number, self.hash_key),
                first_seen,
                first_seen,
            )
        )
        st.people.append(person)
        return person

    def _who(self, st: _Station, busy: set[int], at: datetime) -> tuple[_Person, bool]:
        """Someone who came before (a third of the time, so a person books ~1.5 times), else a newcomer."""
        if st.people and self.rng.random() < 1 / 3:
            for _ in range(4):
                person = st.people[self.rng.randrange(max(0, len(st.people) - 400), len(st.people))]
                if person.id not in busy:
                    busy.add(person.id)
                    return person, True
        person = self._person(st, at)
        busy.add(person.id)
        return person, False

    def _book(
        self,
        st: _Station,
        shift_id: int,
        day: date,
        slot: tuple,
        person: _Person,
        again: bool,
        case: Case,
        channel: str,
        made: datetime,
        status: str,
    ) -> dict[str, Any]:
        """A booking row (its times are filled in by the caller) and what was said about it."""
        out = self.out
        booking_id = out.next_id("bookings")
        desk = channel not in PUBLIC
        actor = (st.staff_id, st.staff_name) if desk else (None, f"visitor:{channel}")
        row = {
            "id": booking_id,
            "code": self._code(booking_id),
            "idempotency_key": f"{PREFIX}{booking_id}",
            "slot_id": slot[0],
            "shift_id": shift_id,
            "veteran_id": person.id,
            "channel": channel,
            "name": person.name,
            "category": case.category,
            "description": (REVISIT if again else "") + case.description,
            "status": status,
            "uses_public_quota": not desk,
            "consent_at": made,
            "consent_how": CONSENT[channel],
            "consent_by_id": st.staff_id if desk else None,
            "cancel_reason": "",
            "created_by_id": st.staff_id if desk else None,
            "created_at": made,
            "checked_in_at": None,
            "called_at": None,
            "queue_number": None,
            "announced_at": None,
            "updated_at": made,
        }
        self._audit(
            st,
            made,
            actor,
            "booking.create",
            "bookings",
            booking_id,
            {"channel": channel, "date": day.isoformat(), "mobile": person.masked},
        )
        st.rows["booking_events"].append(
            (out.next_id("booking_events"), booking_id, "made", "", made, made + timedelta(minutes=1))
        )
        params = {
            "code": row["code"],
            "when": f"{to_local(slot[1], self.tz):%Y-%m-%d %H:%M}",
            "lawyer": st.lawyer_name,
            "station": st.name,
            "address": st.address,
        }
        self._message(
            st, "booking_confirmed", person, params, made, slot[1], f"booking-confirmed:{booking_id}"
        )
        return row

    def _cancel(self, st: _Station, row: dict, person: _Person, slot: tuple) -> None:
        """The person (or the desk for them) cancels some hours or days after booking."""
        rng = self.rng
        at = min(
            row["created_at"] + timedelta(hours=rng.randrange(2, 72)), slot[1] - timedelta(hours=3), self.now
        )
        at = max(at, row["created_at"] + timedelta(minutes=5))
        reason = rng.choice(CANCEL_REASONS)
        by_staff = row["channel"] not in PUBLIC
        row.update(status="cancelled", cancel_reason=reason, updated_at=at)
        actor = (st.staff_id, st.staff_name) if by_staff else (None, f"visitor:{row['channel']}")
        self._audit(
            st, at, actor, "booking.cancel", "bookings", row["id"], {"reason": reason, "by_staff": by_staff}
        )
        st.rows["booking_events"].append(
            (
                self.out.next_id("booking_events"),
                row["id"],
                "cancelled",
                "staff" if by_staff else "veteran",
                at,
                at + timedelta(minutes=1),
            )
        )
        params = {
            "code": row["code"],
            "when": f"{to_local(slot[1], self.tz):%Y-%m-%d %H:%M}",
            "lawyer": st.lawyer_name,
            "station": st.name,
            "address": st.address,
        }
        self._message(st, "booking_cancelled", person, params, at, slot[1], f"booking-cancelled:{row['id']}")

    def _message(
        self,
        st: _Station,
        kind: str,
        person: _Person,
        params: dict,
        at: datetime,
        expires: datetime,
        key: str,
    ) -> None:
        """A message to the person, sent when queued (one in two hundred failed after five tries)."""
        out = self.out
        message_id = out.next_id("outbox_messages")
        failed = self.rng.random() < 0.005
        sent = None if failed else at + timedelta(seconds=20)
        address, payload = self._payload(person.address, params, at)
        st.rows["outbox_messages"].append(
            (
                message_id,
                kind,
                "sms",
                "veteran",
                person.id,
                address,
                "zh_Hans_CN",
                kind,
                payload,
                at,
                expires,
                "failed" if failed else "sent",
                5 if failed else 1,
                "sms: HTTP 503" if failed else "",
                at,
                "generate",
                sent,
                key,
                at,
            )
        )
        if failed:
            for attempt in range(1, 6):
                st.rows["outbox_events"].append(
                    (
                        out.next_id("outbox_events"),
                        message_id,
                        at + timedelta(minutes=2**attempt),
                        "failed" if attempt == 5 else "pending",
                        f"attempt {attempt}: sms: HTTP 503",
                    )
                )
        else:
            st.rows["outbox_events"].append(
                (out.next_id("outbox_events"), message_id, sent, "sent", "attempt 1")
            )

    def _payload(self, address: str, params: dict, at: datetime) -> tuple[str, str]:
        """A message's stored address and parameters; those done with before the outbox's keeping time
        are emptied, as the retention job empties them (legalaid.privacy.retention)."""
        if at < self.payload_kept_from:
            return "", self.empty_params
        return address, self._encrypt(_json(params))

    def _channel(self) -> str:
        """A booking's channel, in the channels' shares."""
        return self.rng.choices(_CHANNELS, cum_weights=_CHANNEL_CUMULATIVE)[0]

    def _places(self, st: _Station, slots: list[tuple], count: int) -> list[tuple]:
        """`count` places among the day's slots, none over its capacity (nor over what the walk-in
        reserve leaves), in time order."""
        capacity = len(slots) * st.places - WALKIN_RESERVE
        pool = [slot for slot in slots for _ in range(st.places)]
        chosen = self.rng.sample(pool, min(count, capacity))
        return sorted(chosen, key=lambda slot: slot[1])

    def _past_day(
        self, st: _Station, shift_id: int, day: date, lawyer: tuple, slots: list[tuple], visits: int
    ) -> None:
        """A duty day that has been: bookings made days before, some cancelled or not come; arrivals checked
        in and numbered, walk-ins numbered; everyone seen has a consultation."""
        rng = self.rng
        walkins = sum(rng.random() < 0.15 for _ in range(visits))
        seen = visits - walkins
        stayed_away = sum(rng.random() < 0.08 for _ in range(seen))
        left = 1 if rng.random() < 0.03 else 0  # checked in, then left before being called
        places = self._places(st, slots, seen + stayed_away + left)
        seen = max(0, len(places) - stayed_away - left)
        fates = ["completed"] * seen + ["no_show"] * stayed_away + ["checked_in"] * left
        fates = fates[: len(places)]
        rng.shuffle(fates)
        busy: set[int] = set()
        rows: list[tuple[dict[str, Any], _Person, Case, bool, tuple | None]] = []
        arrivals: list[dict[str, Any]] = []
        for slot, fate in zip(places, fates, strict=True):
            made = self._at(day - timedelta(days=rng.randrange(1, 21)), rng.randrange(8 * 60, 21 * 60))
            person, again = self._who(st, busy, made)
            case = rng.choice(CASES)
            row = self._book(st, shift_id, day, slot, person, again, case, self._channel(), made, fate)
            rows.append((row, person, case, again, slot))
            if fate != "no_show":
                arrivals.append(row)
                row["checked_in_at"] = slot[1] - timedelta(minutes=rng.randrange(3, 30))
            else:
                row["updated_at"] = self._at(day, 18 * 60)
                self._audit(
                    st, row["updated_at"], (None, "system"), "booking.no_show", "bookings", row["id"], {}
                )
        for _ in range(sum(rng.random() < 0.11 for _ in places)):  # cancelled ones: they hold no place
            slot = rng.choice(slots)
            made = self._at(day - timedelta(days=rng.randrange(2, 21)), rng.randrange(8 * 60, 21 * 60))
            person, again = self._who(st, busy, made)
            case = rng.choice(CASES)
            row = self._book(st, shift_id, day, slot, person, again, case, self._channel(), made, "booked")
            self._cancel(st, row, person, slot)
            rows.append((row, person, case, again, None))
        for number, row in enumerate(sorted(arrivals, key=lambda r: r["checked_in_at"]), start=1):
            row["queue_number"] = number
            row["updated_at"] = row["checked_in_at"]
            self._audit(
                st,
                row["checked_in_at"],
                (st.staff_id, st.staff_name),
                "booking.check_in",
                "bookings",
                row["id"],
                {},
            )
        last_booking = len(arrivals)
        # The walk-ins: numbers A001 … through the day; one in twenty leaves before being called.
        walk_rows = []
        for number in range(1, walkins + 1):
            at = self._at(day, 8 * 60 + 30 + (number - 1) * 480 / max(1, walkins) + rng.randrange(20))
            named = rng.random() < 0.5
            visitor = self._who(st, busy, at)[0] if named else None
            status = "called" if rng.random() < 0.05 else "done"
            called = at + timedelta(minutes=rng.randrange(5, 40))
            walk_id = self.out.next_id("walk_ins")
            name = "" if visitor else self._name()
            case = rng.choice(CASES)
            walk_rows.append((walk_id, visitor, name, status, case, called))
            st.rows["walk_ins"].append(
                (
                    walk_id,
                    st.id,
                    day,
                    number,
                    shift_id,
                    visitor.id if visitor else None,
                    name,
                    case.category,
                    status,
                    at,
                    called,
                    called,
                    called + timedelta(minutes=3) if status == "called" else None,
                )
            )
            actor = (st.staff_id, st.staff_name) if rng.random() < 0.4 else (None, "visitor:kiosk")
            self._audit(st, at, actor, "walkin.issue", "walk_ins", walk_id, {"number": f"A{number:03d}"})
        if walkins or last_booking:
            st.rows["daily_counters"].append((st.id, day, walkins, last_booking))
        # Everyone seen has a consultation, in the order they were called.
        author = (lawyer[1], lawyer[3])
        for row, person, case, again, held_slot in rows:
            if held_slot is None or row["status"] != "completed":
                st.rows["bookings"].append(tuple(row[c] for c in COLUMNS["bookings"]))
                continue
            row["called_at"] = row["announced_at"] = max(held_slot[1], row["checked_in_at"]) + timedelta(
                minutes=rng.randrange(0, 10)
            )
            held = row["called_at"] + timedelta(minutes=20)
            row["updated_at"] = held
            st.rows["bookings"].append(tuple(row[c] for c in COLUMNS["bookings"]))
            self._consult(
                st,
                shift_id,
                day,
                lawyer,
                author,
                case,
                again,
                held,
                row["channel"],
                booking_id=row["id"],
                person=person,
            )
        for walk_id, visitor, name, status, walk_case, called in walk_rows:
            if status == "done":
                self._consult(
                    st,
                    shift_id,
                    day,
                    lawyer,
                    author,
                    walk_case,
                    False,
                    called + timedelta(minutes=20),
                    "walkin",
                    walkin_id=walk_id,
                    person=visitor,
                    name=name,
                )
        # The slots and the quota count what holds a place: every booking not cancelled.
        held = Counter(row["slot_id"] for row, *_ in rows if row["status"] != "cancelled")
        public = sum(1 for row, *_ in rows if row["status"] != "cancelled" and row["uses_public_quota"])
        self._plan(st, shift_id, slots, held, public)
        self._duty_message(st, shift_id, day, lawyer, len(places))

    def _future_day(
        self, st: _Station, shift_id: int, day: date, lawyer: tuple, slots: list[tuple], wanted: int
    ) -> None:
        """A coming duty day: bookings made in the days up to now, one in ten cancelled."""
        rng = self.rng
        places = self._places(st, slots, wanted)
        busy: set[int] = set()
        rows = []
        earliest = max(self._at(day - timedelta(days=28), 8 * 60), self.now - timedelta(days=20))
        span = max(60.0, (self.now - earliest).total_seconds() / 60 - 60)
        for slot in places:
            # Before now, and before the booking cutoff of the time booked (2 hours; today's early times).
            made = min(
                earliest + timedelta(minutes=rng.uniform(0, span)),
                self.now - timedelta(minutes=1),
                slot[1] - timedelta(hours=2),
            )
            person, again = self._who(st, busy, made)
            case = rng.choice(CASES)
            row = self._book(st, shift_id, day, slot, person, again, case, self._channel(), made, "booked")
            if rng.random() < 0.1:
                self._cancel(st, row, person, slot)
            rows.append(row)
            st.rows["bookings"].append(tuple(row[c] for c in COLUMNS["bookings"]))
        held = Counter(row["slot_id"] for row in rows if row["status"] != "cancelled")
        public = sum(1 for row in rows if row["status"] != "cancelled" and row["uses_public_quota"])
        self._plan(st, shift_id, slots, held, public)

    def _plan(self, st: _Station, shift_id: int, slots: list[tuple], held: Counter, public: int) -> None:
        """The day's slots and quota, their counts taken from the bookings made (never beyond capacity)."""
        for slot_id, starts, ends in slots:
            st.rows["slots"].append((slot_id, shift_id, starts, ends, st.places, held.get(slot_id, 0)))
        st.rows["shift_quotas"].append((shift_id, len(slots) * st.places - WALKIN_RESERVE, public))

    def _duty_message(self, st: _Station, shift_id: int, day: date, lawyer: tuple, booked: int) -> None:
        """The lawyer's reminder at 17:00 the working day before (here: the day before)."""
        at = self._at(day - timedelta(days=1), 17 * 60)
        message_id = self.out.next_id("outbox_messages")
        params = {"station": st.name, "day": day.isoformat(), "count": booked, "address": st.address}
        address, payload = self._payload(lawyer[4], params, at)
        st.rows["outbox_messages"].append(
            (
                message_id,
                "duty_eve",
                "sms",
                "lawyer",
                lawyer[0],
                address,
                "zh_Hans_CN",
                "duty_eve",
                payload,
                at,
                None,
                "sent",
                1,
                "",
                at,
                "generate",
                at + timedelta(seconds=20),
                f"duty_eve:{shift_id}:{lawyer[0]}",
                at,
            )
        )
        st.rows["outbox_events"].append(
            (self.out.next_id("outbox_events"), message_id, at + timedelta(seconds=20), "sent", "attempt 1")
        )

    def _consult(
        self,
        st: _Station,
        shift_id: int,
        day: date,
        lawyer: tuple,
        author: tuple,
        case: Case,
        again: bool,
        at: datetime,
        channel: str,
        booking_id: int | None = None,
        walkin_id: int | None = None,
        person: _Person | None = None,
        name: str = "",
    ) -> None:
        """A consultation with its outcomes; a matter followed up as far as it has got by today; a rating."""
        rng, out = self.rng, self.out
        consultation_id = out.next_id("consultations")
        outcomes = ("advice",) if again else case.outcomes
        notes = "" if again or not case.counselling else self._counselling(st, case)
        st.rows["consultations"].append(
            (
                consultation_id,
                st.id,
                shift_id,
                lawyer[0],
                author[0],
                booking_id,
                walkin_id,
                person.id if person else None,
                person.name if person else name,
                day,
                channel,
                case.category,
                (REVISIT_SUMMARY if again else "") + case.summary,
                (REVISIT_ADVICE if again else "") + case.advice,
                notes,
                at,
                at,
            )
        )
        for position, outcome in enumerate(outcomes):
            st.rows["consultation_outcomes"].append((consultation_id, outcome, position))
        self._audit(
            st,
            at,
            author,
            "consultation.create",
            "consultations",
            consultation_id,
            {"outcomes": list(outcomes)},
        )
        if case.due_days and not again:
            self._matter(st, consultation_id, day, author, case, at)
        if self.ratings and person is not None and rng.random() < 0.4:
            rated = at + timedelta(hours=rng.uniform(0.2, 48))
            if rated < self.now:
                self._rate(st, consultation_id, rated)

    def _counselling(self, st: _Station, case: Case) -> str:
        """The case's counselling note, encrypted once per station (a token, as the app stores it)."""
        if case.counselling not in st.tokens:
            st.tokens[case.counselling] = self._encrypt(case.counselling)
        return st.tokens[case.counselling]

    def _matter(
        self, st: _Station, consultation_id: int, day: date, author: tuple, case: Case, at: datetime
    ) -> None:
        """A follow-up: its notes and milestones up to today, closed with its result once its day came."""
        out = self.out
        matter_id = out.next_id("matters")
        status, result, money, closed_at = "open", None, None, None
        for step in case.steps:
            on = day + timedelta(days=step.days)
            if on >= self.today:
                break
            when = self._at(on, 10 * 60 + 30)
            if step.result:
                status, result, money, closed_at = "closed", step.result, step.money, when
                self._audit(
                    st,
                    when,
                    author,
                    "matter.close",
                    "matters",
                    matter_id,
                    {"result": step.result, "money": step.money},
                )
            else:
                status = "in_progress"
                st.rows["matter_notes"].append(
                    (
                        out.next_id("matter_notes"),
                        matter_id,
                        when,
                        author[0],
                        step.text,
                        step.milestone,
                        on if step.milestone else None,
                    )
                )
                self._audit(st, when, author, "matter.note", "matters", matter_id, {})
        # 领导包案: the administrator leads one matter in a hundred of those still open.
        leader = self.admin[0] if status != "closed" and self.rng.random() < 0.01 else None
        st.rows["matters"].append(
            (
                matter_id,
                consultation_id,
                st.id,
                author[0],
                leader,
                status,
                day + timedelta(days=case.due_days),
                result,
                money,
                closed_at,
                at,
            )
        )

    def _rate(self, st: _Station, consultation_id: int, at: datetime) -> None:
        """好差评: mostly satisfied; a poor rating gets the administrator's reply within days."""
        from legalaid.ratings.models import GOOD_REASONS, POOR_REASONS

        rng = self.rng
        level = rng.choices(RATING_LEVELS, cum_weights=_RATING_CUMULATIVE)[0]
        poor = level <= 2
        reasons = rng.sample(POOR_REASONS if poor else GOOD_REASONS, rng.randint(1, 2)) if level != 3 else []
        replied = at + timedelta(days=rng.uniform(0.5, 4)) if poor else None
        if replied is not None and replied > self.now:
            replied = None  # the administrator has not answered yet: only the last days' wait
        rating_id = self.out.next_id("ratings")
        channel = "phone" if rng.random() < 0.7 else "kiosk"
        st.rows["ratings"].append(
            (
                rating_id,
                consultation_id,
                level,
                _json(reasons),
                RATING_COMMENTS[level],
                channel,
                at,
                RATING_REPLY if replied else "",
                replied,
                self.admin[0] if replied else None,
            )
        )
        self._audit(
            st,
            at,
            (None, f"visitor:{'online' if channel == 'phone' else 'kiosk'}"),
            "rating.give",
            "ratings",
            rating_id,
            {"level": level, "channel": channel, "consultation": consultation_id},
        )
        if replied:
            self._audit(st, replied, self.admin, "rating.reply", "ratings", rating_id, {"level": level})

    def _reviews(self, st: _Station) -> None:
        """每月研判: the record of each past month's review meeting."""
        month = date(self.start.year, self.start.month, 1)
        while True:
            following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            held = following + timedelta(days=(1 - following.weekday()) % 7 + 7)
            if held >= self.today:
                break
            st.rows["monthly_reviews"].append(
                (
                    self.out.next_id("monthly_reviews"),
                    st.id,
                    month,
                    held,
                    "局领导、值班律师、大厅工作人员",
                    REVIEW_TEXT,
                    "逾期事项限期办结",
                    self.admin[0],
                    self._at(held, 16 * 60),
                )
            )
            month = following


def generate(sizes: Sizes, now: datetime | None = None, say: Callable[[str], object] = print) -> Generator:
    """Generate the data into the app's database (flushes; the caller commits); returns the finished
    generator with its counts and timings."""
    if (
        not 1 <= sizes.stations <= 1000
        or not 1 <= sizes.years <= 20
        or not 1 <= sizes.per_station_year <= 20_000
    ):
        raise GenerateError("Sizes: 1–1000 stations, 1–20 years, 1–20000 consultations per station and year.")
    generator = Generator(sizes, now=now, say=say)
    generator.run()
    # COPY bypasses the session: the report summaries are rebuilt from the rows just written.
    from legalaid.reports import summaries

    conn = db.session.connection()
    summaries.rebuild_all(conn, analyze=True)
    if conn.dialect.name == "postgresql":
        # The planner's statistics of every other table written (rebuild_all analysed the ones it reads):
        # without them a server whose autovacuum has not come by yet plans joins as if they were empty.
        others = sorted(set(generator.out.counts) - set(summaries.SOURCE_TABLES))
        if others:
            conn.execute(sa.text(f"ANALYZE {', '.join(others)}"))
    return generator


# -- checking ----------------------------------------------------------------------------------------------

CHECKS: dict[str, str] = {
    "a consultation's booking is missing or on another shift or station": """
        SELECT count(*) FROM consultations c
        LEFT JOIN bookings b ON b.id = c.booking_id
        LEFT JOIN duty_shifts s ON s.id = c.shift_id
        WHERE c.booking_id IS NOT NULL AND (b.id IS NULL OR b.shift_id <> c.shift_id
              OR s.station_id <> c.station_id OR b.status <> 'completed')""",
    "a consultation is not held on its shift's day, by its lawyer": """
        SELECT count(*) FROM consultations c JOIN duty_shifts s ON s.id = c.shift_id
        WHERE s.duty_on <> c.held_on OR s.lawyer_id <> c.lawyer_id OR s.station_id <> c.station_id""",
    "a completed booking without its consultation": """
        SELECT count(*) FROM bookings b LEFT JOIN consultations c ON c.booking_id = b.id
        WHERE b.status = 'completed' AND c.id IS NULL""",
    "a booking's slot belongs to another shift": """
        SELECT count(*) FROM bookings b JOIN slots s ON s.id = b.slot_id WHERE s.shift_id <> b.shift_id""",
    "a slot over its capacity": "SELECT count(*) FROM slots WHERE booked > capacity",
    "a slot's count differs from its bookings": """
        SELECT count(*) FROM slots s WHERE s.booked <> (
            SELECT count(*) FROM bookings b WHERE b.slot_id = s.id AND b.status <> 'cancelled')""",
    "a shift quota's count differs from its bookings": """
        SELECT count(*) FROM shift_quotas q WHERE q.public_booked <> (
            SELECT count(*) FROM bookings b WHERE b.shift_id = q.shift_id AND b.status <> 'cancelled'
            AND b.uses_public_quota = true) OR q.public_booked > q.public_capacity""",
    "a daily walk-in counter differs from its numbers": """
        SELECT count(*) FROM daily_counters d WHERE d.last_number <> coalesce((
            SELECT max(w.number) FROM walk_ins w WHERE w.station_id = d.station_id AND w.day = d.day), 0)""",
    "a daily booking counter differs from its queue numbers": """
        SELECT count(*) FROM daily_counters d WHERE d.last_booking_number <> coalesce((
            SELECT max(b.queue_number) FROM bookings b JOIN duty_shifts s ON s.id = b.shift_id
            WHERE s.station_id = d.station_id AND s.duty_on = d.day), 0)""",
    "walk-in numbers without their day's counter": """
        SELECT count(*) FROM walk_ins w
        LEFT JOIN daily_counters d ON d.station_id = w.station_id AND d.day = w.day
        WHERE d.day IS NULL""",
    "a walk-in seen without its consultation": """
        SELECT count(*) FROM walk_ins w LEFT JOIN consultations c ON c.walkin_id = w.id
        WHERE w.status = 'done' AND c.id IS NULL""",
    "a matter closed without a result, or not of its consultation's station": """
        SELECT count(*) FROM matters m JOIN consultations c ON c.id = m.consultation_id
        WHERE (m.status = 'closed' AND (m.result IS NULL OR m.closed_at IS NULL))
           OR m.station_id <> c.station_id""",
    "a booking in the future that is not booked or cancelled": """
        SELECT count(*) FROM bookings b JOIN duty_shifts s ON s.id = b.shift_id
        WHERE s.duty_on >= :today AND b.status NOT IN ('booked', 'cancelled')""",
    "a booking in the past still booked": """
        SELECT count(*) FROM bookings b JOIN duty_shifts s ON s.id = b.shift_id
        WHERE s.duty_on < :today AND b.status = 'booked'""",
}


def check(today: date | None = None) -> dict[str, int]:
    """The consistency checks and how many rows break each (all zero when the data holds together)."""
    today = today or local_today()
    return {
        rule: int(db.session.scalar(sa.text(query), {"today": today}) or 0) for rule, query in CHECKS.items()
    }


def summary(counts: dict[str, int], seconds: dict[str, float] | None = None) -> Iterable[str]:
    """One line per table written, in foreign-key order: rows, and seconds spent writing them."""
    for table in ORDER:
        if counts.get(table):
            spent = f"{(seconds or {}).get(table, 0):>8.1f} s" if seconds else ""
            yield f"  {table:<24} {counts[table]:>10,}{spent}"
    for key, label in (("(foreign keys)", "(foreign keys checked)"), ("(indexes)", "(indexes built after)")):
        if seconds and seconds.get(key):
            yield f"  {label:<24} {'':>10}{seconds[key]:>8.1f} s"
