"""The audit log: what it records, that it never keeps full phone or ID numbers, and its page."""

from __future__ import annotations

import string

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legalaid import audit
from legalaid.audit.models import AuditEntry
from legalaid.extensions import db
from legalaid.privacy import mask_mobile, mask_text

mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
id_numbers = st.from_regex(r"[1-6][0-9]{16}[0-9X]", fullmatch=True)
words = st.text(alphabet=string.ascii_letters + " 的律师咨询，。:-", max_size=20)


@st.composite
def written_numbers(draw):
    """A mobile or ID number as people write it: plain, grouped with spaces or dashes, with +86."""
    number = draw(st.one_of(mobiles, id_numbers))
    style = draw(st.sampled_from(["plain", "spaces", "dashes", "plus86"]))
    if style == "spaces":
        written = " ".join([number[:3], number[3:7], number[7:]])
    elif style == "dashes":
        written = "-".join([number[:3], number[3:7], number[7:]])
    elif style == "plus86":
        written = f"+86 {number}"
    else:
        written = number
    return number, written


def test_mask_mobile():
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("") == ""


@given(prefix=words, written=written_numbers(), suffix=words)
def test_masking_never_leaves_a_full_number(prefix, written, suffix):
    number, as_written = written
    masked = mask_text(f"{prefix} {as_written} {suffix}")
    assert number not in masked.replace(" ", "").replace("-", "")
    assert as_written not in masked
    assert "*" in masked


def test_masking_leaves_dates_and_small_numbers_alone():
    assert mask_text("2026-03-10 第3号 30分钟") == "2026-03-10 第3号 30分钟"
    assert mask_text("身份证110101199001011234") == "身份证110101********1234"
    assert mask_text("电话 138 1234 5678。") == "电话 138****5678。"


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mobile=mobiles, id_number=id_numbers)
def test_audit_entries_never_store_full_numbers(app, mobile, id_number):
    audit.record(
        "test.personal", details={"mobile": mobile, "note": f"身份证 {id_number}", "nested": [{"m": mobile}]}
    )
    db.session.commit()
    raw = db.session.execute(sa.text("SELECT details FROM audit_entries ORDER BY id DESC LIMIT 1")).scalar()
    text = raw if isinstance(raw, str) else str(raw)
    assert mobile not in text and id_number not in text
    assert mobile[-4:] in text  # still recognisable by its end


def test_entries_name_actor_target_and_address(signed_in, make_station):
    admin = signed_in("admin")
    station = make_station("审计站")
    admin.get(f"/admin/stations/{station.id}")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "auth.login"))
    assert entry.actor_name.startswith("admin") and entry.ip == "127.0.0.1"
    created = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "station.create"))
    assert (created.target_type, created.target_id, created.station_id) == (
        "stations",
        station.id,
        station.id,
    )
    assert created.actor_name == "system"


def test_admin_browses_and_filters_the_log(signed_in, make_station):
    admin = signed_in("admin")
    make_station("甲")
    make_station("乙")
    page = admin.get("/admin/audit/").get_data(as_text=True)
    assert "新增站点" in page and "共 4 条记录" in page  # 2 stations, the account, the sign-in
    filtered = admin.get("/admin/audit/?action=auth.login").get_data(as_text=True)
    assert "共 1 条记录" in filtered
    assert admin.get("/admin/audit/?start_on=not-a-date").status_code == 200
    assert admin.get("/admin/audit/?page=999").status_code == 200
