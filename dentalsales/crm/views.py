"""Web screens of customer development: potential customers, activities, revisits, gifts and their reports."""

import logging

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from dentalsales.accounts.roles import REVIEW_ROLES, SALES_ROLES
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.timeutils import local_today
from dentalsales.core.views import add_domain_error, paginate
from dentalsales.customers.selectors import visible_customers

from . import selectors, services
from .forms import (
    ActivityFilterForm,
    ActivityForm,
    AmendmentForm,
    GiftFilterForm,
    GiftForm,
    MonthForm,
    ProspectFilterForm,
    ProspectForm,
    ReasonForm,
    RevisitFilterForm,
    StageForm,
    YearForm,
)
from .models import ActivityKind, CrmPolicy, GiftStatus, ProspectSource, ProspectStage
from .services.gifts import allowed_actions as gift_actions
from .services.prospects import STAGE_TRANSITIONS

logger = logging.getLogger(__name__)

# Every screen here is for the sales roles, which have the customer-development
# menu. Logistics, finance and quality get 403 rather than an empty page full
# of buttons they could not use.


def _export(request, list_name, filename, title, headers, rows):
    rows = list(rows)
    services.log_export(request.user, list_name, request.GET, len(rows))
    return xlsx_response(filename, title, headers, rows)


def _visible_customer_or_none(request):
    pk = request.GET.get("customer") or request.POST.get("customer")
    if not (pk and str(pk).isdigit()):
        return None
    return get_object_or_404(visible_customers(request.user), pk=pk)


# Potential customers


@role_required(*SALES_ROLES)
def prospect_list(request):
    form = ProspectFilterForm(request.GET)
    prospects = selectors.prospect_list(request.user, **form.filters())
    if request.GET.get("export") == "xlsx":
        return _export(
            request, "prospects", "potential-customers", _("Potential customers"),
            [_("Customer code"), _("Name"), _("Source"), _("Source detail"), _("Stage"), _("Reason lost"),
             _("Sales representative"), _("Created at"), _("Won at")],
            (
                [p.customer.code, p.customer.name, p.get_source_display(), p.source_detail, p.get_stage_display(),
                 p.lost_reason, p.customer.owner.display_name, p.created_at, p.won_at]
                for p in prospects
            ),
        )
    return render(request, "crm/prospect_list.html", {
        "filter_form": form, "page_obj": paginate(request, prospects), "can_create": request.user.has_role(*SALES_ROLES),
    })


@role_required(*SALES_ROLES)
def prospect_create(request):
    form = ProspectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            prospect = services.create_prospect(
                actor=request.user, source=data.pop("source"), source_detail=data.pop("source_detail"), **data
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Potential customer %(code)s created.") % {"code": prospect.customer.code})
            return redirect("crm:prospect_detail", pk=prospect.pk)
    return render(request, "crm/prospect_form.html", {"form": form})


def _visible_prospect(request, pk):
    return get_object_or_404(selectors.visible_prospects(request.user).select_related("customer__owner", "won_order"), pk=pk)


@role_required(*SALES_ROLES)
def prospect_detail(request, pk):
    prospect = _visible_prospect(request, pk)
    can_edit = request.user.has_role(*SALES_ROLES)
    return render(request, "crm/prospect_detail.html", {
        "prospect": prospect,
        "changes": prospect.stage_changes.select_related("actor", "order"),
        "stage_form": StageForm(stages=STAGE_TRANSITIONS[prospect.stage]) if can_edit else None,
        "convert_form": ReasonForm() if can_edit and prospect.stage != ProspectStage.WON else None,
        "activities": prospect.customer.activities.select_related("owner")[:10],
    })


@require_POST
@role_required(*SALES_ROLES)
def prospect_stage(request, pk):
    prospect = _visible_prospect(request, pk)
    try:
        if request.POST.get("action") == "convert":
            services.convert_prospect(actor=request.user, prospect=prospect, reason=request.POST.get("reason", ""))
            messages.success(request, _("Potential customer converted into a customer."))
        else:
            services.change_prospect_stage(
                actor=request.user, prospect=prospect, stage=request.POST.get("stage", ""), reason=request.POST.get("reason", "")
            )
            messages.success(request, _("Stage changed."))
    except DomainError as error:
        messages.error(request, str(error))
    return redirect("crm:prospect_detail", pk=prospect.pk)


@role_required(*SALES_ROLES)
def conversion_report(request):
    form = YearForm(request.GET)
    year = form.cleaned_data.get("year") if form.is_valid() else None
    by_source, by_owner = selectors.conversion_rates(request.user, year=year)
    labels = dict(ProspectSource.choices)
    for row in by_source:
        row["label"] = labels.get(row["source"], row["source"])
    if request.GET.get("export") == "xlsx":
        headers = [_("Source or sales representative"), _("Potential customers"), pgettext("prospect stage", "Won"),
                   pgettext("prospect stage", "Lost"), pgettext("prospects in progress", "Open"), _("Conversion rate")]
        rows = [[row["label"], row["total"], row["won"], row["lost"], row["open"], _percent(row["rate"])] for row in by_source]
        rows += [[row["owner_name"], row["total"], row["won"], row["lost"], row["open"], _percent(row["rate"])] for row in by_owner]
        return _export(request, "prospect conversion", "conversion", _("Conversion"), headers, rows)
    return render(request, "crm/conversion_report.html", {"form": form, "by_source": by_source, "by_owner": by_owner})


def _percent(rate):
    return "—" if rate is None else f"{rate * 100:.1f}%"


# Activities


@role_required(*SALES_ROLES)
def activity_list(request):
    form = ActivityFilterForm(request.GET)
    filters = form.filters()
    customer = _visible_customer_or_none(request)
    activities = selectors.activity_list(request.user, customer=customer, **filters)
    if form.errors:
        # A filter that cannot apply shows nothing rather than every row.
        activities = activities.none()
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    if request.GET.get("export") == "xlsx":
        activities = activities.prefetch_related("contacts", "products")
        return _export(
            request, "activities", "activities", _("Activities"),
            [_("Date"), _("Kind"), _("Customer code"), _("Customer"), _("Subject"), _("Contacts met"),
             _("Products discussed"), _("Outcome"), _("Next step"), _("Status"), _("Sales representative")],
            (
                [a.occurred_on, a.get_kind_display(), a.customer.code, a.customer.name, a.subject,
                 ", ".join(c.name for c in a.contacts.all()), ", ".join(p.name for p in a.products.all()),
                 a.outcome, a.next_step, a.get_status_display(), a.owner.display_name]
                for a in activities
            ),
        )
    return render(request, "crm/activity_list.html", {
        "filter_form": form, "page_obj": paginate(request, activities), "customer": customer,
        "can_create": request.user.has_role(*SALES_ROLES),
    })


@role_required(*SALES_ROLES)
def activity_create(request):
    customer = _visible_customer_or_none(request)
    if customer is None:
        return render(request, "crm/choose_customer.html", {
            "form": ActivityForm(user=request.user), "title": _("New activity"), "action": request.path,
        })
    form = ActivityForm(request.POST or None, user=request.user, customer=customer,
                        initial={"occurred_on": local_today(), "kind": request.GET.get("kind", ActivityKind.VISIT)})
    if request.method == "POST" and form.is_valid():
        try:
            activity = services.create_activity(
                actor=request.user, customer=customer, submit="submit" in request.POST, **form.cleaned_data
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _submitted_or_saved(activity))
            return redirect("crm:activity_detail", pk=activity.pk)
    return render(request, "crm/activity_form.html", {"form": form, "customer": customer, "activity": None})


def _submitted_or_saved(activity):
    if activity.is_locked:
        return _("Activity submitted; the report is now locked.")
    return _("Activity saved.")


def _visible_activity(request, pk):
    return get_object_or_404(selectors.visible_activities(request.user).select_related("customer", "owner"), pk=pk)


@role_required(*SALES_ROLES)
def activity_detail(request, pk):
    activity = _visible_activity(request, pk)
    is_owner = activity.owner_id == request.user.pk
    return render(request, "crm/activity_detail.html", {
        "activity": activity,
        "contacts": activity.contacts.all(),
        "products": activity.products.all(),
        "amendments": activity.amendments.select_related("author"),
        "can_edit": is_owner and not activity.is_locked,
        "amend_form": AmendmentForm() if activity.is_locked and (is_owner or request.user.has_role(*REVIEW_ROLES)) else None,
    })


@role_required(*SALES_ROLES)
def activity_edit(request, pk):
    activity = _visible_activity(request, pk)
    if activity.is_locked or activity.owner_id != request.user.pk:
        messages.error(request, _("The activity has been submitted and is locked; add an amendment to correct it."))
        return redirect("crm:activity_detail", pk=activity.pk)
    initial = {name: getattr(activity, name) for name in ("kind", "occurred_on", "subject", "outcome", "next_step", "next_step_on")}
    initial.update(contacts=list(activity.contacts.all()), products=list(activity.products.all()))
    form = ActivityForm(request.POST or None, user=request.user, customer=activity.customer, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            activity = services.update_activity(actor=request.user, activity=activity, **form.cleaned_data)
            if "submit" in request.POST:
                activity = services.submit_activity(actor=request.user, activity=activity)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _submitted_or_saved(activity))
            return redirect("crm:activity_detail", pk=activity.pk)
    return render(request, "crm/activity_form.html", {"form": form, "customer": activity.customer, "activity": activity})


@require_POST
@role_required(*SALES_ROLES)
def activity_submit(request, pk):
    activity = _visible_activity(request, pk)
    try:
        services.submit_activity(actor=request.user, activity=activity)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Activity submitted; the report is now locked."))
    return redirect("crm:activity_detail", pk=activity.pk)


@require_POST
@role_required(*SALES_ROLES)
def activity_amend(request, pk):
    activity = _visible_activity(request, pk)
    form = AmendmentForm(request.POST)
    if form.is_valid():
        try:
            services.amend_activity(actor=request.user, activity=activity, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Amendment added; the original report is kept."))
            return redirect("crm:activity_detail", pk=activity.pk)
    return render(request, "crm/activity_detail.html", {
        "activity": activity, "contacts": activity.contacts.all(), "products": activity.products.all(),
        "amendments": activity.amendments.select_related("author"), "can_edit": False, "amend_form": form,
    }, status=400)


# Revisits


@role_required(*SALES_ROLES)
def revisit_list(request):
    form = RevisitFilterForm(request.GET)
    today = local_today()
    plans = selectors.revisit_list(request.user, today=today, **form.filters())
    if request.GET.get("export") == "xlsx":
        plans = selectors.attach_last_revisits(plans)
        return _export(
            request, "revisits", "revisits", _("Revisits"),
            [_("Due on"), _("Customer code"), _("Customer"), _("Grade"), _("Last visit or call"), _("Sales representative"), _("Overdue")],
            (
                [p.due_on, p.customer.code, p.customer.name, p.customer.get_grade_display() or p.customer.get_category_display(),
                 p.last_revisit, p.customer.owner.display_name, _("Yes") if p.due_on < today else _("No")]
                for p in plans
            ),
        )
    page = paginate(request, plans)
    page.object_list = selectors.attach_last_revisits(page.object_list)
    return render(request, "crm/revisit_list.html", {"filter_form": form, "page_obj": page, "today": today})


@role_required(*SALES_ROLES)
def visit_report(request):
    form = MonthForm(request.GET)
    today = local_today()
    year, month = (form.cleaned_data.get("month") if form.is_valid() else None) or (today.year, today.month)
    rows = selectors.visits_against_plan(request.user, year=year, month=month)
    if request.GET.get("export") == "xlsx":
        return _export(
            request, "visits against plan", "visits-against-plan", _("Visits against plan"),
            [_("Sales representative"), _("Revisits planned"), _("Planned revisits done"), _("Visits"), _("Phone calls"), _("Plan achieved")],
            ([r["owner_name"], r["planned"], r["done"], r["visits"], r["calls"], _percent(r["rate"])] for r in rows),
        )
    for row in rows:
        row["rate_text"] = _percent(row["rate"])
    return render(request, "crm/visit_report.html", {"form": form, "rows": rows, "month": f"{year}-{month:02d}"})


# Gifts


@role_required(*SALES_ROLES)
def gift_list(request):
    form = GiftFilterForm(request.GET)
    customer = _visible_customer_or_none(request)
    gifts = selectors.gift_list(request.user, customer=customer, **form.filters())
    if request.GET.get("export") == "xlsx":
        return _export(
            request, "gifts", "gifts", _("Gifts and hospitality"),
            [_("Date"), _("Customer code"), _("Customer"), _("Recipient"), _("Kind"), _("What"), _("Value"), _("Purpose"),
             _("Status"), _("Sales representative")],
            (
                [g.given_on, g.customer.code, g.customer.name, g.recipient.name, g.get_kind_display(), g.description,
                 g.value, g.purpose, g.get_status_display(), g.owner.display_name]
                for g in gifts
            ),
        )
    return render(request, "crm/gift_list.html", {
        "filter_form": form, "page_obj": paginate(request, gifts), "customer": customer,
        "can_create": request.user.has_role(*SALES_ROLES),
    })


@role_required(*SALES_ROLES)
def gift_create(request):
    customer = _visible_customer_or_none(request)
    if customer is None:
        return render(request, "crm/choose_customer.html", {
            "form": GiftForm(user=request.user), "title": _("New gift or hospitality"), "action": request.path,
        })
    form = GiftForm(request.POST or None, user=request.user, customer=customer, new=True, initial={"given_on": local_today()})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            gift = services.create_gift(
                actor=request.user, customer=customer, idempotency_key=data.pop("token", ""), **data
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Gift recorded as a draft."))
            return redirect("crm:gift_detail", pk=gift.pk)
    return render(request, "crm/gift_form.html", {"form": form, "customer": customer, "gift": None, **_threshold()})


def _threshold():
    return {"threshold": CrmPolicy.current().gift_approval_threshold}


def _visible_gift(request, pk):
    return get_object_or_404(
        selectors.visible_gifts(request.user).select_related("customer", "owner", "recipient", "decided_by"), pk=pk
    )


@role_required(*SALES_ROLES)
def gift_detail(request, pk):
    gift = _visible_gift(request, pk)
    return render(request, "crm/gift_detail.html", {
        "gift": gift, "actions": gift_actions(gift, request.user), "reason_form": ReasonForm(), **_threshold(),
    })


@role_required(*SALES_ROLES)
def gift_edit(request, pk):
    gift = _visible_gift(request, pk)
    if "edit" not in gift_actions(gift, request.user):
        messages.error(request, _("The gift is %(status)s; this is not possible now.") % {"status": gift.get_status_display()})
        return redirect("crm:gift_detail", pk=gift.pk)
    initial = {name: getattr(gift, name) for name in ("recipient", "kind", "description", "value", "given_on", "purpose")}
    form = GiftForm(request.POST or None, user=request.user, customer=gift.customer, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            was_rejected = gift.status == GiftStatus.REJECTED
            saved = services.update_gift(actor=request.user, gift=gift, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if was_rejected and saved.status == GiftStatus.REQUESTED:
                messages.success(request, _("Gift saved and sent for approval again."))
            elif was_rejected:
                messages.success(request, _("Gift saved; it is within the threshold now and needs no approval."))
            else:
                messages.success(request, _("Gift saved."))
            return redirect("crm:gift_detail", pk=gift.pk)
    return render(request, "crm/gift_form.html", {"form": form, "customer": gift.customer, "gift": gift, **_threshold()})


GIFT_ACTIONS = {
    "request": (services.request_gift_approval, False, _("Approval requested.")),
    "approve": (services.approve_gift, True, _("Gift approved.")),
    "reject": (services.reject_gift, True, _("Gift rejected.")),
    "give": (services.mark_gift_given, False, _("Gift recorded as given.")),
    "delete": (services.delete_gift, True, _("Gift deleted.")),
}


@require_POST
@role_required(*SALES_ROLES)
def gift_action(request, pk, action):
    gift = _visible_gift(request, pk)
    if action not in GIFT_ACTIONS:
        raise Http404
    service, takes_reason, success = GIFT_ACTIONS[action]
    arguments = {"reason": request.POST.get("reason", "")} if takes_reason else {}
    try:
        service(actor=request.user, gift=gift, **arguments)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
        if action == "delete":
            return redirect(f"{reverse('crm:gift_list')}?customer={gift.customer_id}")
    return redirect("crm:gift_detail", pk=gift.pk)


@role_required(*SALES_ROLES)
def gift_report(request):
    form = YearForm(request.GET)
    year = (form.cleaned_data.get("year") if form.is_valid() else None) or local_today().year
    by_customer, by_owner = selectors.gift_report(request.user, year=year)
    if request.GET.get("export") == "xlsx":
        headers = [_("Customer or sales representative"), _("Gifts given"), _("Total value")]
        rows = [[f"{row['customer__name']}（{row['customer__code']}）", row["count"], row["total"]] for row in by_customer]
        rows += [[row["owner_name"], row["count"], row["total"]] for row in by_owner]
        return _export(request, "gift report", "gift-report", _("Gift report"), headers, rows)
    return render(request, "crm/gift_report.html", {"form": form, "year": year, "by_customer": by_customer, "by_owner": by_owner})

