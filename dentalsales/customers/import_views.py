"""Screens of the spreadsheet import (upload, preview, progress, report, template) and of the contact and qualification exports."""

import io
import logging

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from dentalsales.core.errors import DomainError
from dentalsales.core.spreadsheets import XLSX_CONTENT_TYPE, xlsx_response
from dentalsales.core.views import add_domain_error, paginate
from dentalsales.crm.models import ImportJob, ImportKind, ImportMode, ImportStatus
from dentalsales.crm.services import log_export

from . import exporting, importing
from .forms import CustomerFilterForm
from .selectors import can_export_contacts
from .views import _filtered_customers

logger = logging.getLogger(__name__)
PREVIEW_PAGE_SIZE = 100
# The export log's list name of an import's check or report download.
IMPORT_REPORT_LIST = "import report"


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file contains"), choices=ImportKind.choices)
    file = forms.FileField(label=gettext_lazy("File (.xlsx or .csv)"))

    def __init__(self, *args, kinds=ImportKind.choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds
        self.fields["kind"].widget.attrs["class"] = "form-select"
        self.fields["file"].widget.attrs.update({"class": "form-control", "accept": ".xlsx,.csv"})


class ModeForm(forms.Form):
    mode = forms.ChoiceField(label=gettext_lazy("Import"), choices=ImportMode.choices, widget=forms.RadioSelect)


def _can_import(user):
    return any(user.has_role(*roles) for roles in importing.KIND_ROLES.values())


def _own_job(request, pk):
    return get_object_or_404(ImportJob, pk=pk, created_by=request.user)


@login_required
def import_start(request):
    if not _can_import(request.user):
        raise PermissionDenied
    kinds = importing.importable_kinds(request.user)
    form = UploadForm(
        request.POST or None, request.FILES or None, kinds=kinds, initial={"kind": request.GET.get("kind", kinds[0][0])}
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = importing.create_import_job(
                actor=request.user, kind=form.cleaned_data["kind"], name=upload.name, data=upload.read()
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return redirect("customers:import_preview", pk=job.pk)
    recent = ImportJob.objects.filter(created_by=request.user).order_by("-created_at")[:10]
    return render(request, "customers/import/start.html", {"form": form, "recent": recent, "kinds": kinds})


@login_required
def import_preview(request, pk):
    job = _own_job(request, pk)
    form = ModeForm(request.POST or None, initial={"mode": ImportMode.ALL if not job.problems else ImportMode.VALID_ONLY})
    if request.method == "POST" and form.is_valid():
        try:
            if request.POST.get("cancel"):
                importing.cancel_import(actor=request.user, job=job)
                return redirect("customers:import_start")
            importing.start_import(actor=request.user, job=job, mode=form.cleaned_data["mode"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return redirect("customers:import_progress", pk=job.pk)
    if job.status != ImportStatus.PREVIEW and request.method == "GET":
        return redirect("customers:import_progress", pk=job.pk)
    show = request.GET.get("show", "problems")
    rows = [row for row in job.rows if show == "all" or str(row["row"]) in job.problems]
    columns = importing.COLUMNS[job.kind]
    page = paginate(request, rows, PREVIEW_PAGE_SIZE)
    table = [
        {"row": row["row"], "problems": job.problems.get(str(row["row"]), []), "cells": [row["values"].get(c.key, "") for c in columns]}
        for row in page
    ]
    return render(request, "customers/import/preview.html", {
        "job": job, "form": form, "columns": columns, "table": table, "page_obj": page, "show": show,
    })


@login_required
def import_progress(request, pk):
    job = _own_job(request, pk)
    return render(request, "customers/import/progress.html", _progress_context(job))


# Rows of a finished import listed on its page; the report lists them all.
CREATED_LIST_LIMIT = 50


def _progress_context(job):
    created = []
    if job.status == ImportStatus.DONE:
        records = importing.created_records(job)
        created = [{"row": row, "record": records.get(row, "")} for row in job.imported_rows[:CREATED_LIST_LIMIT]]
    return {"job": job, "created": created, "created_limit": CREATED_LIST_LIMIT}


@require_POST
@login_required
def import_step(request, pk):
    """Import the next batch and return the progress panel, which requests the next step until the job ends."""
    job = _own_job(request, pk)
    try:
        job = importing.run_import_step(actor=request.user, job=job)
    except DomainError as error:
        logger.warning("Import %s step rejected for user %s: %s", job.pk, request.user.pk, error.code)
    return render(request, "customers/import/_progress.html", _progress_context(job))


@login_required
def import_report(request, pk):
    job = _own_job(request, pk)
    headers, rows = importing.report_rows(job)
    # The rows hold phone numbers and other personal data, so the download is audited like any export.
    log_export(request.user, IMPORT_REPORT_LIST, {"import": job.pk, "kind": job.kind, "status": job.status}, len(rows))
    return xlsx_response(f"import-{job.pk}-report", _("Import report"), headers, rows)


@login_required
def import_template(request, kind):
    if kind not in ImportKind.values:
        raise PermissionDenied
    workbook = importing.template_workbook(kind)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{kind}-template-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


def _export_with(request, exporter):
    form = CustomerFilterForm(request.GET)
    try:
        return exporter(request.user, _filtered_customers(request, form), request.GET)
    except DomainError as error:
        logger.warning("Export rejected for user %s: %s", request.user.pk, error.code)
        raise PermissionDenied(str(error)) from error


@login_required
def export_contacts(request):
    if not can_export_contacts(request.user):
        raise PermissionDenied
    return _export_with(request, exporting.export_contacts)


@login_required
def export_qualifications(request):
    return _export_with(request, exporting.export_qualifications)
