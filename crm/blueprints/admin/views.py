from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.access import Permission, permission_required
from crm.blueprints.admin import bp
from crm.blueprints.admin.forms import EditUserForm, NewUserForm, ResetPasswordForm
from crm.blueprints.common import attach_error, save_edit
from crm.i18n import gettext as _
from crm.services import accounts, two_factor
from crm.services import trash as trash_bin
from crm.services.errors import Conflict, ServiceError


@bp.route("/admin/users")
@permission_required(Permission.MANAGE_USERS)
def users():
    return render_template("admin/users.html", users=accounts.list_users())


@bp.route("/admin/users/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def new_user():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                form.email.data,
                name=form.name.data,
                role=form.role.data,
                password=form.password.data,
                locale=form.locale.data,
                actor=current_user,
            )
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for(".users"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user_form.html", form=form, user=None), status


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def edit_user(user_id: int):
    user = accounts.get(user_id)
    form = EditUserForm(obj=user)

    def save() -> None:
        if form.version_number != user.version:
            raise Conflict(_("Someone else changed this user; reload and try again."))
        accounts.update_user(
            user,
            name=form.name.data,
            role=form.role.data,
            is_enabled=form.is_enabled.data,
            locale=form.locale.data,
            actor=current_user,
        )

    return save_edit(
        form,
        user,
        save,
        template="admin/user_form.html",
        context={"user": user, "reset": ResetPasswordForm(prefix="reset")},
        saved=lambda: EditUserForm(obj=user, formdata=None),
        done=url_for(".users"),
        message=_("User %(email)s saved.", email=user.email),
    )


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@permission_required(Permission.MANAGE_USERS)
def reset_password(user_id: int):
    user = accounts.get(user_id)
    reset = ResetPasswordForm(prefix="reset")
    if reset.validate_on_submit():
        try:
            accounts.set_password(user, reset.password.data, actor=current_user)
        except ServiceError as err:
            attach_error(reset, err)
        else:
            flash(
                _(
                    "Password of %(email)s reset; their other sessions are signed out.",
                    email=user.email,
                ),
                "success",
            )
            return redirect(url_for(".users"))
    form = EditUserForm(obj=user, formdata=None)
    return render_template("admin/user_form.html", form=form, reset=reset, user=user), 400


@bp.route("/admin/users/<int:user_id>/two-factor", methods=["POST"])
@permission_required(Permission.MANAGE_USERS)
def reset_two_factor(user_id: int):
    """Remove a user's second factor (a lost phone); audited by the service."""
    user = accounts.get(user_id)
    two_factor.reset(user, actor=current_user)
    flash(
        _(
            "Two-factor sign-in of %(email)s reset: they sign in with their password and can "
            "set it up again.",
            email=user.email,
        ),
        "success",
    )
    return redirect(url_for(".users"))


@bp.route("/trash")
@permission_required(Permission.MANAGE_TRASH)
def trash():
    return render_template("admin/trash.html", entries=trash_bin.listing())


# Stakeholders keep the short URLs they always had; other kinds add `?kind=activity` or
# `?kind=interaction` (ids are only unique within a kind).
def _kind() -> str:
    return request.args.get("kind", trash_bin.Kind.stakeholder.value)


@bp.route("/trash/<int:record_id>/restore", methods=["POST"])
@permission_required(Permission.MANAGE_TRASH)
def restore(record_id: int):
    name = trash_bin.restore(_kind(), record_id, actor=current_user)
    flash(_("“%(name)s” restored.", name=name), "success")
    return redirect(url_for(".trash"))


@bp.route("/trash/<int:record_id>/purge", methods=["POST"])
@permission_required(Permission.MANAGE_TRASH)
def purge(record_id: int):
    name = trash_bin.purge(_kind(), record_id, actor=current_user)
    flash(_("“%(name)s” deleted for good.", name=name), "success")
    return redirect(url_for(".trash"))
