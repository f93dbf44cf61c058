"""New passwords are refused when common or easy to guess, wherever a password is set, with a reason in
the user's language."""

from __future__ import annotations

from html import unescape

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from legalaid.auth import services
from legalaid.errors import InvalidInput
from legalaid.extensions import db
from tests.conftest import DEFAULT_PASSWORD, field_errors, post_form

COMMON = "This password is one of the most common ones. Choose another."
WEAK = (
    "This password is too easy to guess (a sequence, a repeated pattern, a date, a name or "
    "a common word). Use three or four unrelated words, or a longer mix."
)


def said(app, message: str) -> str:
    """A message as the pages say it (Simplified Chinese, the default)."""
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        return _(message)


def refusal(password: str, inputs: tuple[str, ...] = ()) -> str:
    with pytest.raises(InvalidInput) as error:
        services.check_password_rules(password, inputs)
    assert error.value.field == "password"
    return error.value.message


@pytest.mark.parametrize(
    "password", ["1234567890", "qwertyuiop", "password123", "1qaz2wsx3edc", "woaini1314", "Iloveyou123"]
)
def test_common_passwords_are_refused(app, password):
    assert refusal(password) == said(app, COMMON) or refusal(password) == said(app, WEAK)


def test_1234567890_is_refused_as_common(app):
    assert refusal("1234567890") == said(app, COMMON)


@pytest.mark.parametrize(
    "password", ["aaaaaaaaaaaa", "abcabcabcabc", "1985061519850615", "beijing2008", "11223344556677"]
)
def test_easy_to_guess_passwords_are_refused(app, password):
    assert refusal(password) == said(app, WEAK)


def test_a_password_made_of_the_persons_own_name_is_refused(app):
    services.check_password_rules("xiaoming2026!")  # strong enough for somebody else …
    assert refusal("xiaoming2026!", ("xiaoming", "小明")) == said(app, WEAK)  # … not for xiaoming


@pytest.mark.parametrize(
    "password",
    [DEFAULT_PASSWORD, "admin-demo-2026", "lawyer-demo-2026", "tq7-v9x!k2", "紫金山下的老槐树开花"],
)
def test_strong_passwords_pass(app, password):
    services.check_password_rules(password)


def test_the_bundled_list_is_shipped_with_the_package(app):
    common = services.common_passwords()
    assert len(common) > 4000 and "1234567890" in common and "123456" in common
    assert all(p == p.lower() for p in common)


def test_the_admins_create_form_says_why_in_chinese_and_keeps_what_was_typed(app, signed_in):
    admin = signed_in("admin")
    response = post_form(
        admin,
        "/admin/users/new",
        {
            "username": "xiaoli",
            "display_name": "小李",
            "role": "staff",
            "station_id": "0",
            "password": "1234567890",
            "confirm": "1234567890",
        },
    )
    assert response.status_code == 200
    html = unescape(response.get_data(as_text=True))
    assert 'value="xiaoli"' in html and 'value="小李"' in html
    assert field_errors(html, "password") == [said(app, COMMON)]
    assert services.find_by_username("xiaoli") is None


def test_own_password_change_refuses_a_weak_one(app, signed_in):
    client = signed_in("staff")
    response = post_form(
        client,
        "/account/password",
        {"current_password": DEFAULT_PASSWORD, "password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"},
    )
    assert response.status_code == 200
    assert said(app, WEAK) in unescape(response.get_data(as_text=True))


def test_admin_reset_refuses_a_common_one(app, signed_in, make_user):
    admin = signed_in("admin")
    user = make_user("staff", username="zhao")
    response = post_form(
        admin,
        f"/admin/users/{user.id}/password",
        {"password": "qwertyuiop", "confirm": "qwertyuiop"},
        form_page=f"/admin/users/{user.id}",
    )
    assert response.status_code == 200
    assert said(app, COMMON) in unescape(response.get_data(as_text=True))
    with pytest.raises(InvalidInput):
        services.set_password(user, "1234567890")


def test_the_command_line_refuses_a_weak_password(app, runner):
    result = runner.invoke(
        args=["users", "create", "weakling", "--role", "staff", "--password-stdin"], input="1234567890\n"
    )
    assert result.exit_code != 0
    assert services.find_by_username("weakling") is None
    db.session.rollback()
