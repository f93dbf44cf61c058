"""One's own sessions: each browser signed in, this one marked, and "sign out the others"."""

from __future__ import annotations

import re

import sqlalchemy as sa

from legalaid.audit.models import AuditEntry
from legalaid.auth.models import UserSession
from legalaid.extensions import db
from tests.conftest import csrf_token, login


def test_the_page_lists_ones_sessions_and_signs_out_the_others(app, make_user):
    user = make_user("lawyer", username="zhang")
    make_user("staff", username="colleague")
    office, phone, colleague = app.test_client(), app.test_client(), app.test_client()
    login(office, "zhang", environ_base={"REMOTE_ADDR": "10.0.0.7"})
    login(phone, "zhang", environ_base={"REMOTE_ADDR": "192.0.2.44"})
    login(colleague, "colleague")

    page = office.get("/account", environ_base={"REMOTE_ADDR": "10.0.0.7"}).get_data(as_text=True)
    table = page[page.index('id="sessions"') :]
    rows = re.findall(r"<tr(?: class=\"table-primary\")?>\s*<td>", table)
    assert len(rows) == 2  # the colleague's session is not listed
    assert "10.0.0.7" in table and "192.0.2.44" in table
    marked = re.search(r'<tr class="table-primary">(.*?)</tr>', table, re.S).group(1)
    assert "10.0.0.7" in marked and "badge" in marked

    response = office.post("/account/sessions/end-others", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    assert phone.get("/").status_code == 302  # signed out
    assert office.get("/").status_code == 200  # this one stays
    assert colleague.get("/").status_code == 200  # nobody else's
    live = db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    ).all()
    assert len(live) == 1
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "auth.sessions_ended"))
    assert entry.target_id == user.id and entry.details["count"] == 1


def test_with_one_session_there_is_no_button(app, signed_in):
    client = signed_in("staff")
    page = client.get("/account").get_data(as_text=True)
    assert "/account/sessions/end-others" not in page
    assert "/account/two-step" in page  # two-step sign-in can be set up from here
    # The menu's name links here.
    assert 'href="/account"' in client.get("/").get_data(as_text=True)
