"""Sign-in, sign-out, one's own password, and the administrator's account pages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash
from werkzeug.wrappers.response import Response

from legalaid.access import ADMIN, ALL_ROLES, public, roles
from legalaid.auth import services
from legalaid.auth.forms import (
    ConfirmForm,
    LoginForm,
    OwnPasswordForm,
    PasswordResetForm,
    RoleForm,
    UserCreateForm,
)
from legalaid.auth.models import User
from legalaid.errors import InvalidInput, TooManyAttempts
from legalaid.extensions import login_manager
from legalaid.forms import attempt, attempt_or_flash, show_error
from legalaid.security import local_target
from legalaid.stations import services as stations

bp = Blueprint("auth", __name__)
SESSION_KEY = "sid"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Find the signed-in user through the server-side session named in the cookie."""
    user = services.user_for_session(session.get(SESSION_KEY))
    # The session row may have been touched or ended just now (at most once a minute per session):
    # the request commits it with its own work.
    if user is None or str(user.id) != user_id:
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | str | tuple[str, int, dict]:
    """Show the sign-in form and sign the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        ip = request.remote_addr or "unknown"
        try:
            user = services.authenticate(form.username.data, form.password.data, ip)
        except TooManyAttempts as error:
            form.password.errors.append(error.message)
            headers = {"Retry-After": str(error.retry_after)}
            return render_template("auth/login.html", form=form), 429, headers
        except InvalidInput as error:
            show_error(form, error)
        else:
            next_url = local_target(request.args.get("next"))
            session.clear()  # no state from before the sign-in survives it
            session[SESSION_KEY] = services.start_session(user, ip)
            session.permanent = True
            login_user(user)
            return redirect(next_url if next_url != "/" else url_for("core.home"))
    return render_template("auth/login.html", form=form)


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


@bp.get("/admin/users")
@roles(ADMIN)
def users() -> str:
    """List every account."""
    return render_template("auth/users.html", users=services.list_users(), confirm=ConfirmForm())


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
