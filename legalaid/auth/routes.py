"""Sign-in (password, then the second factor), sign-out, one's own account and sessions, and the
administrator's account pages."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash
from werkzeug.wrappers.response import Response

from legalaid.access import ADMIN, ALL_ROLES, public, roles
from legalaid.auth import services, totp
from legalaid.auth.forms import (
    CodeForm,
    ConfirmForm,
    LoginForm,
    OwnPasswordForm,
    PasswordResetForm,
    RenewCodesForm,
    RoleForm,
    TotpEnrolForm,
    TotpOffForm,
    UserCreateForm,
)
from legalaid.auth.models import User
from legalaid.dates import now_utc
from legalaid.errors import InvalidInput, TooManyAttempts
from legalaid.extensions import login_manager
from legalaid.forms import attempt, attempt_or_flash, show_error
from legalaid.security import client_address, local_target
from legalaid.stations import services as stations

bp = Blueprint("auth", __name__)
SESSION_KEY = "sid"
# Between the password and the code: who, since when, and where to go after (in the signed cookie).
PENDING_KEY = "pending_sign_in"
PENDING_FOR = timedelta(minutes=5)
# The secret being enrolled, kept in the signed cookie until a first code confirms it: showing the
# enrolment page writes nothing.
ENROL_KEY = "totp_enrol"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Find the signed-in user through the server-side session named in the cookie."""
    # A live list polling by itself (`…_live` endpoints: the desk, the console) is nobody's activity: an
    # open desk still signs out after the idle time, and the page then shows the sign-in screen.
    polling = (request.endpoint or "").endswith("_live")
    user = services.user_for_session(session.get(SESSION_KEY), activity=not polling)
    # The session row may have been touched or ended just now (at most once a minute per session):
    # the request commits it with its own work.
    if user is None or str(user.id) != user_id:
        return None
    return user


def _client_ip() -> str:
    return client_address()  # an IPv6 client counts as its /64, as on the public pages


def _finish_sign_in(user: User, next_url: str) -> Response:
    """Open the server-side session for a user who passed every step, and go on."""
    session.clear()  # no state from before the sign-in survives it
    session[SESSION_KEY] = services.start_session(user, _client_ip())
    session.permanent = True
    login_user(user)
    return redirect(next_url if next_url != "/" else url_for("core.home"))


def _too_many(error: TooManyAttempts, template: str, form: LoginForm | CodeForm) -> tuple[str, int, dict]:
    """The form again with the pause explained, as 429 with Retry-After."""
    last = form.code if isinstance(form, CodeForm) else form.password
    last.errors = [*last.errors, error.message]
    return render_template(template, form=form), 429, {"Retry-After": str(error.retry_after)}


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | str | tuple[str, int, dict]:
    """Show the sign-in form and check the password; a second factor is asked next when there is one."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data, _client_ip())
        except TooManyAttempts as error:
            return _too_many(error, "auth/login.html", form)
        except InvalidInput as error:
            show_error(form, error)
        else:
            next_url = local_target(request.args.get("next"))
            if not user.has_totp:
                return _finish_sign_in(user, next_url)
            session.clear()
            session[PENDING_KEY] = {"user": user.id, "at": now_utc().timestamp(), "next": next_url}
            return redirect(url_for("auth.login_code"))
    return render_template("auth/login.html", form=form)


def _pending_user() -> tuple[User | None, str]:
    """The user who gave the right password a moment ago and still owes the code, and where to go."""
    pending = session.get(PENDING_KEY) or {}
    started = pending.get("at", 0)
    if now_utc().timestamp() - started > PENDING_FOR.total_seconds():
        return None, "/"
    user = services.get_user(pending.get("user") or 0)
    return user, local_target(pending.get("next"))


@bp.route("/login/code", methods=["GET", "POST"])
@public
def login_code() -> Response | str | tuple[str, int, dict]:
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    user, next_url = _pending_user()
    if user is None or not user.has_totp:
        session.pop(PENDING_KEY, None)
        flash(_("Please sign in again."), "warning")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            services.check_second_factor(user, form.code.data, _client_ip())
        except TooManyAttempts as error:
            return _too_many(error, "auth/login_code.html", form)
        except InvalidInput as error:
            show_error(form, error)
        else:
            return _finish_sign_in(user, next_url)
    return render_template("auth/login_code.html", form=form)


@bp.post("/logout")
@roles(*ALL_ROLES)
def logout() -> Response:
    """Sign out: the server-side session ends, so the old cookie is worthless."""
    if ConfirmForm().validate_on_submit():
        services.end_session(session.get(SESSION_KEY))
        logout_user()
        session.clear()
        flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles(*ALL_ROLES)
def own_password() -> Response | str:
    """Let any signed-in user change their own password."""
    form = OwnPasswordForm()
    if form.validate_on_submit():
        if not check_password_hash(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("The current password is wrong."))
        else:
            me = current_user._get_current_object()

            def change() -> None:
                services.set_password(me, form.password.data, actor=me)
                # set_password ended every session, this one too: open a fresh one.
                session[SESSION_KEY] = services.start_session(me, request.remote_addr)

            if attempt(form, change).ok:
                flash(_("Your password has been changed."), "success")
                return redirect(url_for("core.home"))
    return render_template("auth/own_password.html", form=form)


def _me() -> User:
    return current_user._get_current_object()


def _account_page(off_form: TotpOffForm | None = None, renew_form: RenewCodesForm | None = None) -> str:
    """The account page, with a form's errors where one was sent."""
    me = _me()
    token = session.get(SESSION_KEY)
    return render_template(
        "auth/account.html",
        sessions=[(row, services.is_current(row, token)) for row in services.live_sessions(me)],
        codes_left=totp.recovery_codes_left(me) if me.has_totp else 0,
        confirm=ConfirmForm(),
        off_form=off_form or TotpOffForm(formdata=None),
        renew_form=renew_form or RenewCodesForm(formdata=None, prefix="renew"),
    )


@bp.get("/account")
@roles(*ALL_ROLES)
def account() -> str:
    """One's own account: password, two-step sign-in, and the browsers signed in."""
    return _account_page()


@bp.post("/account/sessions/end-others")
@roles(*ALL_ROLES)
def end_other_sessions() -> Response:
    """Sign out every other browser of this account; this one stays signed in."""
    if ConfirmForm().validate_on_submit():
        ended = services.end_other_sessions(_me(), session.get(SESSION_KEY))
        flash(_("Signed out of %(n)d other sessions.", n=ended), "success")
    return redirect(url_for("auth.account"))


def _enrol_page(form: TotpEnrolForm) -> str:
    """The enrolment page for the secret held in the cookie (a new one when there is none)."""
    secret = session.get(ENROL_KEY)
    if not secret:
        secret = session[ENROL_KEY] = totp.new_secret()
    uri = totp.provisioning_uri(_me(), secret)
    return render_template("auth/two_step.html", form=form, secret=secret, qr=totp.qr_data_uri(uri), uri=uri)


@bp.get("/account/two-step")
@roles(*ALL_ROLES)
def two_step() -> str:
    """Enrol an authenticator app: its QR code and the secret as text, confirmed by a first code."""
    if request.args.get("new"):
        session.pop(ENROL_KEY, None)
    return _enrol_page(TotpEnrolForm())


@bp.post("/account/two-step")
@roles(*ALL_ROLES)
def two_step_confirm() -> Response | str:
    """Switch two-step sign-in on with the first code; the recovery codes are shown once."""
    form = TotpEnrolForm()
    secret = session.get(ENROL_KEY)
    if not secret:
        return redirect(url_for("auth.two_step"))
    if form.validate_on_submit():
        done = attempt(form, lambda: totp.enrol(_me(), secret, form.code.data))
        if done.ok:
            session.pop(ENROL_KEY, None)
            flash(_("Two-step sign-in is on."), "success")
            return render_template("auth/recovery_codes.html", codes=done.value)
    return _enrol_page(form)


@bp.post("/account/two-step/recovery-codes")
@roles(*ALL_ROLES)
def recovery_codes() -> Response | str:
    """Make ten new recovery codes (the old ones stop working), shown once; the password is asked again."""
    me = _me()
    if not me.has_totp:
        return redirect(url_for("auth.account"))
    form = RenewCodesForm(prefix="renew")
    if not form.validate_on_submit():
        return _account_page(renew_form=form)
    return render_template("auth/recovery_codes.html", codes=totp.renew_recovery_codes(me))


@bp.post("/account/two-step/off")
@roles(*ALL_ROLES)
def two_step_off() -> Response | str:
    """Switch two-step sign-in off (the password is asked again); administrators must keep it."""
    me = _me()
    form = TotpOffForm()
    if form.validate_on_submit() and attempt(form, lambda: totp.disable(me)).ok:
        flash(_("Two-step sign-in is off."), "success")
        return redirect(url_for("auth.account"))
    return _account_page(off_form=form)


@bp.get("/admin/users")
@roles(ADMIN)
def users() -> str:
    """List the accounts, a page at a time."""
    page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    found = services.users_page(page)
    return render_template("auth/users.html", users=found.items, found=found, confirm=ConfirmForm())


def _station_choices() -> list[tuple[int, str]]:
    return [(0, _("(no station)"))] + [(s.id, s.name) for s in stations.list_stations()]


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles(ADMIN)
def user_new() -> Response | str:
    """Create an account."""
    form = UserCreateForm()
    form.station_id.choices = _station_choices()
    if form.validate_on_submit():
        done = attempt(
            form,
            lambda: services.create_user(
                form.username.data,
                form.display_name.data,
                form.role.data,
                form.password.data,
                station_id=form.station_id.data or None,
                email=form.email.data or "",
            ),
        )
        if done.ok:
            user = done.value
            flash(_("Account %(name)s created.", name=user.username), "success")
            return redirect(url_for("auth.user_edit", user_id=user.id))
    return render_template("auth/user_new.html", form=form)


def _user_or_404(user_id: int) -> User:
    user = services.get_user(user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/admin/users/<int:user_id>")
@roles(ADMIN)
def user_edit(user_id: int) -> str:
    """One account: change its role, reset its password, deactivate it."""
    user = _user_or_404(user_id)
    return render_template(
        "auth/user_edit.html",
        user=user,
        role_form=RoleForm(role=user.role),
        password_form=PasswordResetForm(),
        confirm=ConfirmForm(),
    )


@bp.post("/admin/users/<int:user_id>/role")
@roles(ADMIN)
def user_role(user_id: int) -> Response | str:
    """Change an account's role."""
    user = _user_or_404(user_id)
    form = RoleForm()
    if form.validate_on_submit():
        if attempt_or_flash(lambda: services.change_role(user, form.role.data, actor=current_user)):
            flash(_("The role has been changed."), "success")
        return redirect(url_for("auth.user_edit", user_id=user.id))
    return render_template(
        "auth/user_edit.html",
        user=user,
        role_form=form,
        password_form=PasswordResetForm(),
        confirm=ConfirmForm(),
    )


@bp.post("/admin/users/<int:user_id>/password")
@roles(ADMIN)
def user_password(user_id: int) -> Response | str:
    """Set a new password for an account (it is signed out everywhere)."""
    user = _user_or_404(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        done = attempt(form, lambda: services.set_password(user, form.password.data, actor=current_user))
        if done.ok:
            flash(
                _("The new password is set. Tell it to %(name)s in person.", name=user.display_name),
                "success",
            )
            return redirect(url_for("auth.user_edit", user_id=user.id))
    return render_template(
        "auth/user_edit.html",
        user=user,
        role_form=RoleForm(role=user.role),
        password_form=form,
        confirm=ConfirmForm(),
    )


@bp.post("/admin/users/<int:user_id>/active")
@roles(ADMIN)
def user_active(user_id: int) -> Response:
    """Deactivate or reactivate an account."""
    user = _user_or_404(user_id)
    if ConfirmForm().validate_on_submit():
        make_active = request.form.get("active") == "1"
        if attempt_or_flash(lambda: services.set_active(user, make_active, actor=current_user)):
            message = (
                _("Account reactivated.") if make_active else _("Account deactivated; it is signed out.")
            )
            flash(message, "success")
    return redirect(url_for("auth.user_edit", user_id=user.id))
