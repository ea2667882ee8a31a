"""Screens of the customer profile, qualification verification, expiry radar, grading and duplicate merging."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role, SALES_ROLES
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError
from dentalsales.core.files import protected_file_response
from dentalsales.core.models import Region
from dentalsales.core.timeutils import local_today
from dentalsales.core.views import add_domain_error, paginate

from . import grading, merging, selectors, services
from .models import Contact, Customer, CustomerDocument, DeliveryAddress, GradingSettings, Qualification
from .profile_forms import (
    AddressForm,
    BusinessProfileForm,
    ContactForm,
    DocumentForm,
    GradeForm,
    GradingSettingsForm,
    MergeForm,
    QualificationAddForm,
    VerificationForm,
)


def _customer(request, pk):
    return get_object_or_404(selectors.visible_customers(request.user).select_related("owner"), pk=pk)


def _contact_customer(request, pk):
    return get_object_or_404(selectors.contact_customers(request.user).select_related("owner"), pk=pk)


def _form_page(request, form, *, title, customer, multipart=False, template="customers/profile_form.html", extra=None):
    context = {"form": form, "title": title, "customer": customer, "multipart": multipart, **(extra or {})}
    return render(request, template, context)


def _back(customer, anchor):
    return redirect(f"{customer.get_absolute_url()}#{anchor}")


@role_required(*SALES_ROLES)
def contact_edit(request, pk, contact_pk=None):
    customer = _contact_customer(request, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, customer=customer) if contact_pk else None
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST":
        data = {name: request.POST.get(name, "") for name in services.CONTACT_FIELDS}
        data["is_primary"] = "is_primary" in request.POST
        try:
            if contact is None:
                services.create_contact(actor=request.user, customer=customer, **data)
            else:
                services.update_contact(actor=request.user, contact=contact, **data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Contact saved."))
            return _back(customer, "contacts")
    title = _("New contact") if contact is None else _("Edit contact %(name)s") % {"name": contact.name}
    return _form_page(request, form, title=title, customer=customer)


@role_required(*SALES_ROLES)
def contact_delete(request, pk, contact_pk):
    customer = _contact_customer(request, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, customer=customer)
    if request.method != "POST":
        raise Http404
    try:
        services.delete_contact(actor=request.user, contact=contact)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Contact %(name)s deleted.") % {"name": contact.name})
    return _back(customer, "contacts")


@role_required(*SALES_ROLES)
def address_edit(request, pk, address_pk=None):
    customer = _customer(request, pk)
    address = get_object_or_404(DeliveryAddress, pk=address_pk, customer=customer) if address_pk else None
    initial = {}
    if address is not None:
        initial = {name: getattr(address, name) for name in services.ADDRESS_FIELDS}
        initial["region"] = address.region
    form = AddressForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in services.ADDRESS_FIELDS}
        try:
            if address is None:
                services.create_address(actor=request.user, customer=customer, **data)
            else:
                services.update_address(actor=request.user, address=address, **data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Delivery address saved."))
            return _back(customer, "addresses")
    title = _("New delivery address") if address is None else _("Edit delivery address")
    return _form_page(request, form, title=title, customer=customer, extra={"region_script": True})


@role_required(*SALES_ROLES)
def address_delete(request, pk, address_pk):
    customer = _customer(request, pk)
    address = get_object_or_404(DeliveryAddress, pk=address_pk, customer=customer)
    if request.method != "POST":
        raise Http404
    try:
        services.delete_address(actor=request.user, address=address)
    except DomainError as error:
        messages.error(request, str(error))
    return _back(customer, "addresses")


@login_required
def region_children(request):
    """Return the children of region ``parent`` (or the provinces without it) for the cascading selects."""
    parent = request.GET.get("parent", "")
    if parent.isdigit():
        regions = Region.objects.filter(parent_id=int(parent))
    else:
        regions = Region.objects.filter(level=Region.Level.PROVINCE)
    return JsonResponse({"results": [{"id": region.pk, "text": region.name} for region in regions.order_by("code")]})


@role_required(*SALES_ROLES)
def business_profile_edit(request, pk):
    customer = _customer(request, pk)
    profile = getattr(customer, "business_profile", None)
    form = BusinessProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_business_profile(actor=request.user, customer=customer, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Business information saved."))
            return _back(customer, "business")
    return _form_page(request, form, title=_("Business information"), customer=customer)


@role_required(*services.DOCUMENT_ROLES)
def document_upload(request, pk):
    customer = _customer(request, pk)
    form = DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.upload_document(
                actor=request.user, customer=customer, upload=form.cleaned_data["file"],
                title=form.cleaned_data["title"], kind=form.cleaned_data["kind"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Document uploaded."))
            return _back(customer, "documents")
    return _form_page(request, form, title=_("Upload a document"), customer=customer, multipart=True)


@login_required
def document_file(request, pk, document_pk):
    """Serve a customer document to users who may see the customer; uploaded files are not public."""
    customer = _customer(request, pk)
    document = get_object_or_404(CustomerDocument, pk=document_pk, customer=customer)
    return protected_file_response(document.file)


@login_required
def qualification_scan(request, pk, qualification_pk):
    """Serve a qualification's scan to users who may see the customer, the quality officer among them."""
    customer = _customer(request, pk)
    qualification = get_object_or_404(Qualification, pk=qualification_pk, customer=customer)
    return protected_file_response(qualification.scan)


@role_required(*services.DOCUMENT_ROLES)
def document_delete(request, pk, document_pk):
    customer = _customer(request, pk)
    document = get_object_or_404(CustomerDocument, pk=document_pk, customer=customer)
    if request.method != "POST":
        raise Http404
    try:
        services.delete_document(actor=request.user, document=document)
    except DomainError as error:
        messages.error(request, str(error))
    return _back(customer, "documents")


@role_required(*services.DOCUMENT_ROLES)
def qualification_add(request, pk):
    customer = _customer(request, pk)
    form = QualificationAddForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        scan = data.pop("scan")
        try:
            qualification = services.add_qualification(actor=request.user, customer=customer, scan=scan, **data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if not qualification.is_valid_on(local_today()):
                messages.warning(
                    request,
                    _("%(qualification)s expired on %(date)s; it was added but does not count in order review. "
                      "Add the renewed licence when the customer has it.")
                    % {"qualification": qualification, "date": qualification.valid_until},
                )
            else:
                messages.success(request, _("Qualification added; it counts in order review once the quality officer verifies it."))
            return _back(customer, "qualifications")
    return _form_page(request, form, title=_("Add a qualification"), customer=customer, multipart=True)


@role_required(Role.QUALITY_OFFICER)
def verification_queue(request):
    return render(
        request,
        "customers/verification_queue.html",
        {
            "page_obj": paginate(request, selectors.verification_queue(request.user)),
            "form": VerificationForm(),
            "today": local_today(),
        },
    )


@role_required(Role.QUALITY_OFFICER)
def qualification_verify(request, qualification_pk):
    qualification = get_object_or_404(
        Qualification.objects.filter(customer__in=selectors.visible_customers(request.user)), pk=qualification_pk
    )
    form = VerificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.verify_qualification(
                actor=request.user, qualification=qualification, approve=approve, note=form.cleaned_data["note"]
            )
        except DomainError as error:
            messages.error(request, str(error))
        else:
            names = {"qualification": qualification, "customer": qualification.customer}
            if approve:
                messages.success(request, _("Verified: %(qualification)s of %(customer)s.") % names)
            else:
                messages.success(request, _("Rejected: %(qualification)s of %(customer)s.") % names)
    elif request.method == "POST":
        messages.error(request, _("Choose whether to verify or reject."))
    return redirect("customers:verification_queue")


@login_required
def expiry_radar(request):
    days = request.GET.get("days", "90")
    days = int(days) if days in ("30", "60", "90") else 90
    qualifications = selectors.expiring_qualifications(request.user, within_days=days)
    return render(
        request,
        "customers/expiry_radar.html",
        {"page_obj": paginate(request, qualifications), "days": days, "thresholds": selectors.EXPIRY_THRESHOLDS},
    )


@role_required(*grading.GRADE_ROLES)
def grade_edit(request, pk):
    customer = _customer(request, pk)
    form = GradeForm(request.POST or None, initial={"category": customer.category, "grade": customer.grade or ""})
    if request.method == "POST" and form.is_valid():
        try:
            grading.set_grade(actor=request.user, customer=customer, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Category and grade changed."))
            return _back(customer, "grade")
    return _form_page(request, form, title=_("Change category and grade"), customer=customer)


@role_required(*grading.RULE_ROLES)
def grading_rule(request):
    settings = GradingSettings.current()
    form = GradingSettingsForm(request.POST or None, instance=settings)
    if request.method == "POST" and request.POST.get("action") == "apply":
        try:
            moves = grading.apply_grading(actor=request.user)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Grading rule applied: %(count)d customers changed grade.") % {"count": len(moves)})
        return redirect("customers:grading")
    if request.method == "POST" and form.is_valid():
        try:
            grading.save_grading_settings(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Grading rule saved."))
            return redirect("customers:grading")
    # The form wrote the submitted values into ``settings``; a rejected rule
    # must not be previewed, so the preview and "Apply" use the saved rule.
    saved = GradingSettings.current()
    moves = [move for move in grading.grading_preview(saved) if move.moves]
    return render(request, "customers/grading.html", {"form": form, "moves": moves, "settings": saved})


@role_required(*merging.MERGE_ROLES)
def duplicates(request):
    return render(request, "customers/duplicates.html", {"groups": merging.duplicate_groups()})


@role_required(*merging.MERGE_ROLES)
def merge(request, kept_pk, duplicate_pk):
    kept = get_object_or_404(Customer.objects.select_related("owner"), pk=kept_pk)
    duplicate = get_object_or_404(Customer.objects.select_related("owner"), pk=duplicate_pk)
    refusal = merging.merge_refusal(kept, duplicate)
    if refusal:
        messages.error(request, refusal)
        return redirect("customers:duplicates")
    form = MergeForm(request.POST or None, initial={"kept": kept.pk, "duplicate": duplicate.pk})
    if request.method == "POST" and form.is_valid():
        try:
            merging.merge_customers(actor=request.user, kept=kept, duplicate=duplicate, reason=form.cleaned_data["reason"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("%(duplicate)s merged into %(kept)s.") % {"duplicate": duplicate, "kept": kept})
            return redirect(kept.get_absolute_url())
    return render(
        request,
        "customers/merge.html",
        {"form": form, "kept": kept, "duplicate": duplicate, "preview": merging.merge_preview_rows(kept, duplicate)},
    )
