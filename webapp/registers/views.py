"""Register pages: the platform's records of processing (operators with the admin or privacy
role), each organisation's processor register (its owners and admins; those operators from
``/ops/processor-registers``), with their versions, printable pages and CSV exports, and the
organisation's instructions log (owners and admins)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Blueprint, Response, abort, g, request, url_for
from flask_babel import gettext as _

from core.db import writes
from core.web.htmx import render
from core.web.i18n import text_language
from webapp import db
from webapp.access import PRIVACY_ROLES, member_required, operator_required
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant
from webapp.registers import controller, services
from webapp.registers import tenant as tenant_register
from webapp.registers.models import RegisterVersion

bp = Blueprint("registers", __name__, template_folder="templates")


def _number_arg() -> int | None:
    """``?version=N`` of the print and CSV pages (absent or not a number: the latest)."""
    return request.args.get("version", type=int)


def _csv(body: str, filename: str) -> Response:
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


# --- the platform's records of processing (Art. 30(1)) -------------------------------------------


def _controller_version(number: int | None) -> RegisterVersion:
    found = services.controller_version(db.session(), number)
    if found is None:
        abort(404)
    return found


@bp.get("/ops/records")
@bp.get("/ops/records/v<int:number>")
@writes  # a new version of the register is recorded
@operator_required(*PRIVACY_ROLES)
def controller_page(number: int | None = None):
    version = _controller_version(number)
    return render("registers/controller.html", headings=controller.HEADINGS,
                  rows=version.snapshot[text_language()], version=version,
                  current=number is None, history=services.history(db.session(), None),
                  version_url=functools.partial(url_for, ".controller_page"))


@bp.get("/ops/records/print")
@writes  # a new version of the register is recorded
@operator_required(*PRIVACY_ROLES)
def controller_print():
    version = _controller_version(_number_arg())
    return render("registers/print.html", title=_("Records of processing activities"),
                  intro=_("Parvis as controller (GDPR Article 30(1))."), version=version,
                  headings=list(controller.HEADINGS.values()),
                  rows=version.snapshot[text_language()])


@bp.get("/ops/records.csv")
@operator_required(*PRIVACY_ROLES)
def controller_csv() -> Response:
    version = _controller_version(_number_arg())
    return _csv(services.controller_csv(version, text_language()),
                "parvis-records-of-processing.csv")


# --- an organisation's processor register (Art. 30(2)) -----------------------------------------


def _tenant_version(tenant: Tenant, number: int | None) -> RegisterVersion:
    found = services.tenant_version(db.session(), tenant, number)
    if found is None:
        abort(404)
    return found


def _tenant_page(tenant: Tenant, number: int | None, urls: dict[str, Callable]):
    version = _tenant_version(tenant, number)
    return render("registers/tenant.html", tenant=tenant, version=version,
                  current=number is None,
                  lines=tenant_register.build(version.snapshot, text_language()),
                  headings=tenant_register.HEADINGS, urls=urls, version_url=urls["page"],
                  history=services.history(db.session(), tenant.id))


def _tenant_print(tenant: Tenant) -> Response:
    version = _tenant_version(tenant, _number_arg())
    return render("registers/print.html",
                  title=_("Processor register: %(name)s", name=tenant.name),
                  intro=_("Record of the processing Parvis carries out on behalf of %(name)s "
                          "(GDPR Article 30(2)).", name=tenant.name),
                  version=version, headings=[str(h) for h in tenant_register.HEADINGS],
                  rows=services.tenant_rows(version, text_language()))


def _tenant_csv(tenant: Tenant) -> Response:
    version = _tenant_version(tenant, _number_arg())
    return _csv(services.tenant_csv(version, text_language()),
                f"processor-register-{tenant.slug}-v{version.number}.csv")


def _urls(prefix: str, slug: str) -> dict[str, Callable]:
    """The register's page, print and CSV addresses, seen by owners or by operators."""
    return {"page": functools.partial(url_for, f".{prefix}", slug=slug),
            "print": functools.partial(url_for, f".{prefix}_print", slug=slug),
            "csv": functools.partial(url_for, f".{prefix}_csv", slug=slug)}


@bp.get("/organisations/<slug>/processor-register")
@bp.get("/organisations/<slug>/processor-register/v<int:number>")
@writes  # a new version of the register is recorded
@member_required("owner", "admin")
def owner(slug: str, number: int | None = None):
    return _tenant_page(g.org, number, _urls("owner", slug))


@bp.get("/organisations/<slug>/processor-register/print")
@writes  # a new version of the register is recorded
@member_required("owner", "admin")
def owner_print(slug: str) -> Response:
    return _tenant_print(g.org)


@bp.get("/organisations/<slug>/processor-register.csv")
@member_required("owner", "admin")
def owner_csv(slug: str) -> Response:
    return _tenant_csv(g.org)


def _tenant_or_404(slug: str) -> Tenant:
    tenant = org_services.get(db.session(), slug)
    if tenant is None:
        abort(404)
    return tenant


@bp.get("/ops/processor-registers/<slug>")
@bp.get("/ops/processor-registers/<slug>/v<int:number>")
@writes  # a new version of the register is recorded
@operator_required(*PRIVACY_ROLES)
def ops(slug: str, number: int | None = None):
    return _tenant_page(_tenant_or_404(slug), number, _urls("ops", slug))


@bp.get("/ops/processor-registers/<slug>/print")
@writes  # a new version of the register is recorded
@operator_required(*PRIVACY_ROLES)
def ops_print(slug: str) -> Response:
    return _tenant_print(_tenant_or_404(slug))


@bp.get("/ops/processor-registers/<slug>.csv")
@operator_required(*PRIVACY_ROLES)
def ops_csv(slug: str) -> Response:
    return _tenant_csv(_tenant_or_404(slug))


# --- the organisation's instructions log (Art. 28(3)(a)) ------------------------------------


@bp.get("/organisations/<slug>/instructions")
@member_required("owner", "admin")
def instructions(slug: str):
    found = services.instructions_page(db.session(), slug,
                                       max(request.args.get("page", 1, type=int), 1))
    if found is None:
        abort(404)
    return render("registers/instructions.html", rows=found.rows, who=found.who,
                  page=found.page, pages=found.pages, total=found.total,
                  areas=services.INSTRUCTION_AREAS)


@bp.get("/organisations/<slug>/instructions.csv")
@member_required("owner", "admin")
def instructions_csv(slug: str) -> Response:
    return _csv(services.instructions_csv(db.session(), slug), f"instructions-{slug}.csv")
