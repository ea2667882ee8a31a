"""Reads on complaints, call-backs and returns, scoped to what the user may see.

Representatives see their own customers' records, supervisors their team's,
managers and administrators all. The quality officer sees every complaint,
logistics the delivery complaints and finance the price complaints.
Logistics and the quality officer see returns once they are approved, since
they receive them, and finance sees every return because of credit notes.
"""

from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth

from dentalsales.accounts.roles import Role
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.trace import SHIPPED_STATUSES

from .models import (
    VOID_RETURN_STATUSES,
    AdverseEventReview,
    CallbackStatus,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    OPEN_COMPLAINT_STATUSES,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    SatisfactionCallback,
)

# Goods on a shipment in these states have left the warehouse, so the customer may send them back.
RETURNABLE_SHIPMENT_STATUSES = SHIPPED_STATUSES
# Returns that logistics and the quality officer act on or have acted on.
WAREHOUSE_VISIBLE_RETURN_STATUSES = (ReturnStatus.APPROVED, ReturnStatus.RECEIVED)


def _sales_visibility(user, field):
    """Return the representative/supervisor rule on ``field``, or None for a user outside those roles.

    Callers check the roles that see everything first, because ``Q() | x``
    is ``x`` in Django and would narrow an unrestricted condition.
    """
    if user.has_role(Role.SUPERVISOR):
        return Q(**{field: user}) | Q(**{f"{field}__team__supervisor": user})
    if user.has_role(Role.REPRESENTATIVE):
        return Q(**{field: user})
    return None


def _any_of(conditions):
    """Return the OR of ``conditions``, or None when there are none."""
    result = None
    for condition in conditions:
        result = condition if result is None else result | condition
    return result


def visible_complaints(user):
    if not user.is_authenticated:
        return Complaint.objects.none()
    if user.has_role(Role.MANAGER, Role.ADMINISTRATOR, Role.QUALITY_OFFICER):
        return Complaint.objects.all()
    conditions = []
    sales = _sales_visibility(user, "customer__owner")
    if sales is not None:
        # The person responsible sees a complaint assigned to them even on another rep's customer.
        conditions += [sales, Q(owner=user)]
    if user.has_role(Role.LOGISTICS):
        conditions.append(Q(category=ComplaintCategory.DELIVERY))
    if user.has_role(Role.FINANCE):
        conditions.append(Q(category=ComplaintCategory.PRICE))
    condition = _any_of(conditions)
    return Complaint.objects.none() if condition is None else Complaint.objects.filter(condition)


def complaint_list(user, *, status="", severity="", category="", search="", overdue=False, escalated=False, adverse=False):
    queryset = visible_complaints(user).select_related("customer", "owner", "product", "lot")
    if status == "open":
        queryset = queryset.filter(status__in=OPEN_COMPLAINT_STATUSES)
    elif status:
        queryset = queryset.filter(status=status)
    if severity:
        queryset = queryset.filter(severity=severity)
    if category:
        queryset = queryset.filter(category=category)
    if overdue:
        queryset = queryset.filter(status__in=OPEN_COMPLAINT_STATUSES, due_date__lt=local_today())
    if escalated:
        queryset = queryset.filter(escalated_at__isnull=False, status__in=OPEN_COMPLAINT_STATUSES)
    if adverse:
        queryset = queryset.filter(suspected_adverse_event=True)
    if search:
        text = search.strip()
        queryset = queryset.filter(
            Q(number__icontains=text) | Q(customer__search_text__contains=text.lower()) | Q(description__icontains=text)
        )
    return queryset.order_by("-received_on", "-number")


def main_contact(user, customer):
    """Return (name, phone) of the person to call about ``customer``'s complaint when none was entered; None if unknown.

    The primary contact when ``user`` may see contacts, else the contact
    on the customer record itself.
    """
    from dentalsales.customers.selectors import can_see_contacts

    if can_see_contacts(user, customer):
        contact = customer.contacts.filter(is_primary=True).order_by("pk").first()
        if contact is not None:
            return contact.name, contact.mobile or contact.phone
    if customer.contact_name:
        return customer.contact_name, customer.contact_phone
    return None


def adverse_event_queue(user):
    """Return complaints flagged as suspected adverse events that wait for the quality officer's assessment."""
    if not user.has_role(Role.QUALITY_OFFICER, Role.MANAGER, Role.ADMINISTRATOR):
        return Complaint.objects.none()
    return (
        visible_complaints(user)
        .filter(adverse_event_review=AdverseEventReview.PENDING)
        .select_related("customer", "owner", "product", "lot")
        .order_by("received_on", "number")
    )


# Roles that may see which other customers received a lot; representatives
# only see their own customers.
LOT_TRACE_ROLES = (Role.QUALITY_OFFICER, Role.MANAGER, Role.ADMINISTRATOR)


def lot_other_customers(complaint):
    """Return every other customer that received the complaint's lot: customer, shipment, date and quantity, one query."""
    from dentalsales.inventory.models import ShipmentLine

    if complaint.lot_id is None:
        return []
    return list(
        ShipmentLine.objects.filter(lot_id=complaint.lot_id, shipment__status__in=SHIPPED_STATUSES)
        .exclude(shipment__customer_id=complaint.customer_id)
        .select_related("shipment__customer")
        .order_by("shipment__customer__code", "shipment__shipped_on", "pk")
    )


def visible_callbacks(user):
    if not user.is_authenticated:
        return SatisfactionCallback.objects.none()
    if user.has_role(Role.MANAGER, Role.ADMINISTRATOR):
        return SatisfactionCallback.objects.all()
    condition = _sales_visibility(user, "owner")
    return SatisfactionCallback.objects.none() if condition is None else SatisfactionCallback.objects.filter(condition)


def callback_list(user, *, status="", due_only=False):
    queryset = visible_callbacks(user).select_related("customer", "owner", "shipment")
    if status:
        queryset = queryset.filter(status=status)
    if due_only:
        queryset = queryset.filter(status=CallbackStatus.SCHEDULED, due_date__lte=local_today())
    return queryset.order_by("due_date", "pk")


def visible_returns(user):
    if not user.is_authenticated:
        return ReturnRequest.objects.none()
    if user.has_role(Role.MANAGER, Role.ADMINISTRATOR, Role.FINANCE):
        return ReturnRequest.objects.all()
    conditions = []
    sales = _sales_visibility(user, "owner")
    if sales is not None:
        conditions.append(sales)
    if user.has_role(Role.LOGISTICS, Role.QUALITY_OFFICER):
        conditions.append(Q(status__in=WAREHOUSE_VISIBLE_RETURN_STATUSES))
    condition = _any_of(conditions)
    return ReturnRequest.objects.none() if condition is None else ReturnRequest.objects.filter(condition)


def return_list(user, *, status="", kind="", customer=None, search=""):
    queryset = visible_returns(user).select_related("customer", "owner", "replacement_order")
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    if customer:
        queryset = queryset.filter(customer=customer)
    if search:
        text = search.strip()
        queryset = queryset.filter(Q(number__icontains=text) | Q(customer__search_text__contains=text.lower()))
    return queryset.order_by("-created_at", "-number")


def returned_quantities(shipment_line_ids, *, exclude_request=None):
    """Return {shipment line id: units already requested back}, counting every request not rejected or cancelled.

    A received request counts the units that arrived, since the rest stayed
    with the customer and may still come back.
    """
    lines = ReturnLine.objects.filter(shipment_line_id__in=list(shipment_line_ids)).exclude(
        request__status__in=VOID_RETURN_STATUSES
    )
    if exclude_request is not None:
        lines = lines.exclude(request=exclude_request)
    return dict(
        lines.values_list("shipment_line_id")
        .annotate(total=Sum(Coalesce("received_quantity", "quantity")))
        .values_list("shipment_line_id", "total")
    )


def received_return_quantities(lot_ids):
    """Return {customer id: units of ``lot_ids`` that arrived back through received returns}."""
    rows = (
        ReturnLine.objects.filter(lot_id__in=list(lot_ids), request__status=ReturnStatus.RECEIVED)
        .values("request__customer_id")
        .annotate(total=Sum("received_quantity", default=0))
    )
    return {row["request__customer_id"]: row["total"] for row in rows}


def pending_return_quantities(lot_ids, *, customer):
    """Return the units of ``lot_ids`` that ``customer``'s requested or approved returns still claim."""
    return (
        ReturnLine.objects.filter(
            lot_id__in=list(lot_ids),
            request__customer_id=customer,
            request__status__in=(ReturnStatus.REQUESTED, ReturnStatus.APPROVED),
        ).aggregate(total=Sum("quantity", default=0))["total"]
    )


def recall_limits(customer_id, lot_ids, *, lock=False):
    """Return the recalls of ``lot_ids`` that record units recovered from the customer by hand, with what is still returnable.

    One dict per open or closed recall listing the customer with units
    recovered outside returns: ``recall``, ``lot_ids``, ``by_hand`` and
    ``returnable``, the units of the recall's lots that the customer can
    still return (shipped, less every claim, less ``by_hand``). Those units
    were already recovered, so returning them again would count them twice.
    One query when no such recall exists, four otherwise. ``lock`` locks the
    recall's customer rows, so that a concurrent change of the recovered
    quantity waits for the return being entered.
    """
    from dentalsales.inventory.models import ShipmentLine
    from dentalsales.quality.models import RecallCustomer, RecallLot, RecallStatus

    rows = RecallCustomer.objects.filter(
        customer_id=customer_id,
        recall__status__in=(RecallStatus.OPEN, RecallStatus.CLOSED),
        recall__recall_lots__lot_id__in=list(lot_ids),
        quantity_recovered__gt=F("quantity_returned"),
    ).select_related("recall")
    if lock:
        rows = rows.select_for_update(of=("self",))
    rows = list({row.pk: row for row in rows.order_by("pk")}.values())
    if not rows:
        return []
    lots_by_recall = {}
    for recall_id, lot_id in RecallLot.objects.filter(recall_id__in=[row.recall_id for row in rows]).values_list("recall_id", "lot_id"):
        lots_by_recall.setdefault(recall_id, set()).add(lot_id)
    every_lot = set().union(*lots_by_recall.values())
    shipped = list(
        ShipmentLine.objects.filter(
            shipment__customer_id=customer_id, shipment__status__in=RETURNABLE_SHIPMENT_STATUSES, lot_id__in=every_lot
        ).values_list("pk", "lot_id", "quantity")
    )
    claimed = returned_quantities(pk for pk, _lot, _quantity in shipped)
    limits = []
    for row in rows:
        lots = lots_by_recall.get(row.recall_id, set())
        open_units = sum(quantity - claimed.get(pk, 0) for pk, lot_id, quantity in shipped if lot_id in lots)
        limits.append(
            {
                "recall": row.recall,
                "lot_ids": lots,
                "by_hand": row.quantity_recovered_by_hand,
                "returnable": max(open_units - row.quantity_recovered_by_hand, 0),
            }
        )
    return limits


def recalls_by_lot(lot_ids, *, customer_id):
    """Return {lot id: [recall, …]} for the open or closed recalls of ``lot_ids`` that list the customer."""
    from dentalsales.quality.models import RecallLot, RecallStatus

    rows = (
        RecallLot.objects.filter(
            lot_id__in=list(lot_ids),
            recall__status__in=(RecallStatus.OPEN, RecallStatus.CLOSED),
            recall__customers__customer_id=customer_id,
        )
        .select_related("recall")
        .order_by("recall__number")
    )
    found = {}
    for row in rows:
        if row.recall not in found.setdefault(row.lot_id, []):
            found[row.lot_id].append(row.recall)
    return found


def returns_of_lots(lot_ids):
    """Return the return lines of ``lot_ids`` in requests not rejected or cancelled, newest first (for the recall page)."""
    return (
        ReturnLine.objects.filter(lot_id__in=list(lot_ids))
        .exclude(request__status__in=VOID_RETURN_STATUSES)
        .select_related("request", "request__customer", "lot")
        .order_by("-request__created_at", "pk")
    )


def returnable_lines(user, customer):
    """Return the customer's shipment lines that still have units to return, each with ``returnable`` set.

    Three queries (the customer check, the shipment lines and the returned
    quantities), then one to find recalls of the lots that record units
    recovered by hand and three more when there are any. Such a recall caps
    the returnable quantity of its lots (``recall_limits``) and is set as
    ``line.recall_limit``; ``line.recalls`` names every open or closed
    recall of the lot that lists the customer.
    """
    from dentalsales.customers.selectors import visible_customers
    from dentalsales.inventory.models import ShipmentLine

    if not visible_customers(user).filter(pk=customer.pk).exists():
        return []
    lines = list(
        ShipmentLine.objects.filter(shipment__customer=customer, shipment__status__in=RETURNABLE_SHIPMENT_STATUSES)
        .select_related("shipment", "order_line", "lot", "lot__product")
        .order_by("-shipment__shipped_on", "shipment__number", "pk")
    )
    returned = returned_quantities(line.pk for line in lines)
    lot_ids = {line.lot_id for line in lines}
    limits = recall_limits(customer.pk, lot_ids) if lines else []
    recalls = recalls_by_lot(lot_ids, customer_id=customer.pk) if lines else {}
    result = []
    for line in lines:
        line.returned = returned.get(line.pk, 0)
        line.returnable = line.quantity - line.returned
        line.recall_limit = None
        line.recalls = recalls.get(line.lot_id, [])
        for limit in limits:
            if line.lot_id in limit["lot_ids"] and limit["returnable"] < line.returnable and line.returnable > 0:
                line.returnable = limit["returnable"]
                line.recall_limit = limit
        # A line capped to 0 by a recall stays listed, so the form says why it cannot be returned.
        if line.returnable > 0 or line.recall_limit is not None:
            result.append(line)
    return result


def match_scanned_line(user, customer, barcode):
    """Return the returnable shipment lines of ``customer`` that a scanned GS1 barcode names, with the parsed values.

    Matches the lot number (AI 10). When the barcode carries a GTIN (AI 01)
    and the product has a UDI-DI on file, the product must match too, and
    so must the expiry date (AI 17) when the barcode carries one. Returns ``{"values":
    parsed fields, "lines": [shipment lines, newest shipment first]}``.
    Raises ``InvalidInput`` on the field ``barcode`` naming the value for
    a malformed barcode, a barcode without a lot number, and a lot or
    product that no returnable line of the customer shipped.
    """
    from django.utils.translation import gettext as _

    from dentalsales.core.errors import InvalidInput
    from dentalsales.inventory.udi import gtin_lookup_keys, parse_gs1

    barcode = (barcode or "").strip()
    values = parse_gs1(barcode)
    lot_number = values.get("lot_number")
    if not lot_number:
        raise InvalidInput(
            _("Barcode “%(value)s” carries no lot number (AI 10); enter the line by hand.") % {"value": barcode}, field="barcode"
        )
    lines = [line for line in returnable_lines(user, customer) if line.lot_number == lot_number and line.returnable > 0]
    gtin = values.get("gtin")
    if gtin and lines:
        keys = {key.lstrip("0") for key in gtin_lookup_keys(gtin)}
        lines = [line for line in lines if not line.lot.product.udi_di or line.lot.product.udi_di.strip().lstrip("0") in keys]
    expiry = values.get("expiry_date")
    if expiry and lines:
        lines = [line for line in lines if line.expiry_date == expiry]
    if not lines:
        raise InvalidInput(
            _("Nothing returnable of lot %(lot)s was shipped to %(customer)s (barcode “%(value)s”).")
            % {"lot": lot_number, "customer": customer.name, "value": barcode},
            field="barcode",
        )
    return {"values": values, "lines": lines}


SATISFACTION_DIMENSIONS = {
    "customer": ("customer_id", "customer__name"),
    "representative": ("owner_id", "owner__username"),
    "product": ("shipment__lines__product_id", "shipment__lines__product_name"),
    "month": ("month", None),
}
# The same dimensions on complaints: the representative is the customer's,
# not the person who handled the complaint.
COMPLAINT_SATISFACTION_DIMENSIONS = {
    "customer": ("customer_id", "customer__name"),
    "representative": ("customer__owner_id", "customer__owner__username"),
    "product": ("product_id", "product__name"),
    "month": ("month", None),
}
# Complaints whose score counts: the customer rated how the complaint was
# handled, and the complaint has not been reopened since.
SCORED_COMPLAINT_STATUSES = (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)


def _scored_callbacks(user, start, end):
    queryset = visible_callbacks(user).filter(status=CallbackStatus.DONE, score__isnull=False)
    if start:
        queryset = queryset.filter(completed_at__date__gte=start)
    if end:
        queryset = queryset.filter(completed_at__date__lte=end)
    return queryset.annotate(month=TruncMonth("completed_at"))


def _scored_complaints(user, start, end):
    """Return the resolved or closed complaints with a satisfaction score, dated by closing (else resolving)."""
    queryset = (
        visible_complaints(user)
        .filter(status__in=SCORED_COMPLAINT_STATUSES, satisfaction_score__isnull=False)
        .annotate(scored_at=Coalesce("closed_at", "resolved_at", "updated_at"))
    )
    if start:
        queryset = queryset.filter(scored_at__date__gte=start)
    if end:
        queryset = queryset.filter(scored_at__date__lte=end)
    return queryset.annotate(month=TruncMonth("scored_at"))


def _grouped_scores(queryset, key, label, score_field):
    """Return {key: (label, count, sum of scores)} for ``queryset`` grouped by ``key``."""
    values = {"key_value": F(key)} if label is None else {"key_value": F(key), "label_value": F(label)}
    rows = queryset.values(**values).annotate(count=Count("pk", distinct=True), total=Sum(score_field))
    return {row["key_value"]: (row.get("label_value"), row["count"], row["total"] or 0) for row in rows if row["key_value"] is not None}


def _callback_scores_per_product(callbacks):
    """Return {product id: (name, call-backs, sum of scores)}; a call-back counts once for each product its shipment carried."""
    totals = {}
    seen = set()
    rows = callbacks.values_list("pk", "shipment__lines__product_id", "shipment__lines__product_name", "score").order_by()
    for callback_id, product_id, name, score in rows:
        if product_id is None or (callback_id, product_id) in seen:
            continue
        seen.add((callback_id, product_id))
        label, count, total = totals.get(product_id, (name, 0, 0))
        totals[product_id] = (label, count + 1, total + score)
    return totals


def satisfaction_report(user, *, dimension="representative", start=None, end=None):
    """Return rows of satisfaction scores from call-backs and complaints per dimension value, for the records the user may see.

    Each row has ``key``, ``label``, ``count`` (scores in total),
    ``callback_count``, ``complaint_count``, ``average`` over every score
    and the average of each source (None without scores). Call-backs
    count by the month they were made, complaints by the month they were
    closed (or resolved), in Asia/Shanghai. Per product, a call-back counts
    for every product its shipment carried, and a complaint without a
    product is left out.
    """
    key, label = SATISFACTION_DIMENSIONS[dimension]
    complaint_key, complaint_label = COMPLAINT_SATISFACTION_DIMENSIONS[dimension]
    callbacks = _scored_callbacks(user, start, end)
    if dimension == "product":
        callback_totals = _callback_scores_per_product(callbacks)
    else:
        callback_totals = _grouped_scores(callbacks, key, label, "score")
    complaint_totals = _grouped_scores(_scored_complaints(user, start, end), complaint_key, complaint_label, "satisfaction_score")

    result = []
    for value in set(callback_totals) | set(complaint_totals):
        callback_label, callback_count, callback_sum = callback_totals.get(value, (None, 0, 0))
        complaint_label_value, complaint_count, complaint_sum = complaint_totals.get(value, (None, 0, 0))
        count = callback_count + complaint_count
        result.append(
            {
                "key": value,
                "label": f"{value:%Y-%m}" if dimension == "month" else (callback_label or complaint_label_value or ""),
                "count": count,
                "callback_count": callback_count,
                "complaint_count": complaint_count,
                "average": Decimal(callback_sum + complaint_sum) / count,
                "callback_average": Decimal(callback_sum) / callback_count if callback_count else None,
                "complaint_average": Decimal(complaint_sum) / complaint_count if complaint_count else None,
            }
        )
    if dimension == "representative":
        # The display name is two columns plus a fallback, so it is looked up after grouping.
        from dentalsales.accounts.models import User

        users = User.objects.in_bulk([row["key"] for row in result])
        for row in result:
            row["label"] = str(users[row["key"]]) if row["key"] in users else row["label"]
    if dimension == "month":
        result.sort(key=lambda row: row["key"])
    else:
        result.sort(key=lambda row: (-row["average"], str(row["label"])))
    return result


def complaint_counts(user):
    """Return the complaint work waiting for ``user`` as counts: open, overdue, escalated to them, adverse events pending."""
    complaints = visible_complaints(user)
    today = local_today()
    return complaints.aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_COMPLAINT_STATUSES)),
        overdue=Count("pk", filter=Q(status__in=OPEN_COMPLAINT_STATUSES, due_date__lt=today)),
        escalated=Count("pk", filter=Q(status__in=OPEN_COMPLAINT_STATUSES, escalated_to=user)),
        adverse=Count("pk", filter=Q(adverse_event_review=AdverseEventReview.PENDING)),
    )



def dashboard_entries(user):
    """Return the after-sales work waiting for ``user`` as (label, count, url) rows, in at most four queries.

    Only rows with work in them are returned, so the dashboard shows an
    after-sales card only when something needs doing.
    """
    from django.urls import reverse
    from django.utils.translation import gettext as _

    entries = []
    if user.has_role(Role.REPRESENTATIVE, Role.SUPERVISOR, Role.MANAGER, Role.QUALITY_OFFICER, Role.LOGISTICS):
        counts = complaint_counts(user)
        complaints = reverse("aftersales:complaint_list")
        entries.append((_("Overdue complaints"), counts["overdue"], f"{complaints}?overdue=on"))
        if user.has_role(Role.QUALITY_OFFICER):
            entries.append((_("Suspected adverse events to assess"), counts["adverse"], reverse("aftersales:adverse_event_queue")))
    returns = reverse("aftersales:return_list")
    if user.has_role(Role.SUPERVISOR, Role.MANAGER):
        count = visible_returns(user).filter(status=ReturnStatus.REQUESTED).count()
        entries.append((_("Returns waiting for approval"), count, f"{returns}?status=requested"))
    if user.has_role(Role.LOGISTICS, Role.QUALITY_OFFICER):
        count = visible_returns(user).filter(status=ReturnStatus.APPROVED).count()
        entries.append((_("Returns to receive and inspect"), count, f"{returns}?status=approved"))
    if user.has_role(Role.REPRESENTATIVE, Role.SUPERVISOR):
        count = visible_callbacks(user).filter(status=CallbackStatus.SCHEDULED, due_date__lte=local_today()).count()
        entries.append((_("Satisfaction call-backs due"), count, reverse("aftersales:callback_list") + "?due=1"))
    return [entry for entry in entries if entry[1]]
