"""The audit log's words for accounts and signing in (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Detail, register, register_target, text
from legalaid.auth.forms import role_label
from legalaid.auth.models import User
from legalaid.extensions import db


def user_name(user_id: object) -> str:
    """An account by its name and username (the log keeps only its id): 张明（zhangming）."""
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        return _("account no. %(id)s (no longer there)", id=user_id)
    return _("%(name)s (%(username)s)", name=user.display_name, username=user.username)


register_target("users", _l("Account"), "auth.user_edit", "user_id")
register("auth.login", _l("Signed in"))
register("auth.logout", _l("Signed out"))


def _scope_label(scope: object) -> str:
    """What a sign-in pause holds back: the account at one address, the account, or the address."""
    names = {
        "pair": _l("this account from this address"),
        "account": _l("this account from every address"),
        "address": _l("every account from this address"),
    }
    return str(names.get(str(scope), scope))


def _step_label(step: object) -> str:
    """Which step of signing in failed."""
    names = {"password": _l("password"), "code": _l("second-factor code")}
    return str(names.get(str(step), step))


_TRIED = Detail(_l("Username typed"), text)
register("auth.failed", _l("Sign-in failed"), {"username": _TRIED, "step": Detail(_l("Step"), _step_label)})
register(
    "auth.locked",
    _l("Sign-in paused after too many failures"),
    {"username": _TRIED, "scope": Detail(_l("Paused for"), _scope_label)},
)
register("auth.totp_on", _l("Two-step sign-in switched on"))
register("auth.totp_off", _l("Two-step sign-in switched off"))
register("auth.recovery_new", _l("New recovery codes made"))
register("auth.recovery_used", _l("Signed in with a recovery code"))
register(
    "auth.sessions_ended",
    _l("Signed out of the other sessions"),
    {"count": Detail(_l("Sessions ended"), text)},
)
register(
    "user.create",
    _l("Account created"),
    {"username": Detail(_l("Username"), text), "role": Detail(_l("Role"), role_label)},
)
register("user.activate", _l("Account reactivated"))
register("user.deactivate", _l("Account deactivated"))
register(
    "user.role",
    _l("Role changed"),
    {"from": Detail(_l("Role before"), role_label), "to": Detail(_l("New role"), role_label)},
)
register("user.password", _l("Password set"))
