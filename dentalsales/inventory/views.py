from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import WAREHOUSE_ROLES
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.timeutils import local_today, remaining_shelf_life_days
from dentalsales.core.views import add_domain_error, paginate

from . import selectors, services
from .forms import ReceiveForm, ShipmentFilterForm, StockFilterForm

# Lots expiring within this many days are shown in amber so that they are sold first or returned in time.
NEAR_EXPIRY_DAYS = 90


def _expiry_state(expiry_date, today):
    days = remaining_shelf_life_days(expiry_date, today)
    if days < 0:
        return "expired"
    if days <= NEAR_EXPIRY_DAYS:
        return "near"
    return ""


def _export_stock(balances):
    headers = [
        _("Product"), _("SKU"), _("Model / specification"), _("Lot number"), _("Production date"), _("Expiry date"),
        _("Warehouse"), _("On hand"), _("Reserved"), _("Available"), _("Unit"), _("Status"),
    ]
    rows = [
        [
            balance.lot.product.name, balance.lot.product.sku, balance.lot.product.specification, balance.lot.lot_number,
            balance.lot.production_date, balance.lot.expiry_date, balance.warehouse.name, balance.on_hand,
            balance.reserved, balance.sellable_quantity, balance.lot.product.unit, balance.lot.effective_status_label,
        ]
        for balance in balances
    ]
    return xlsx_response("stock", _("Stock"), headers, rows)


@login_required
def stock_list(request):
    form = StockFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    balances = selectors.stock_balances(search=data.get("q", "").strip(), warehouse=data.get("warehouse"))
    if request.GET.get("export") == "xlsx":
        return _export_stock(balances)
    page_obj = paginate(request, balances)
    today = local_today()
    for balance in page_obj:
        balance.expiry_state = _expiry_state(balance.lot.expiry_date, today)
    return render(
        request,
        "inventory/stock_list.html",
        {"filter_form": form, "page_obj": page_obj, "near_expiry_days": NEAR_EXPIRY_DAYS},
    )


@role_required(*WAREHOUSE_ROLES)
def receive(request):
    form = ReceiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            receipt = services.receive_stock(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request,
                _("Receipt %(number)s: %(quantity)s %(unit)s of “%(product)s”, lot %(lot)s, received into %(warehouse)s.")
                % {
                    "number": receipt.number,
                    "quantity": receipt.quantity,
                    "unit": receipt.lot.product.unit,
                    "product": receipt.lot.product,
                    "lot": receipt.lot.lot_number,
                    "warehouse": receipt.warehouse,
                },
            )
            return redirect("inventory:receive")
    return render(request, "inventory/receive.html", {"form": form})


def _shipment_rows(request, form):
    shipments = selectors.visible_shipments(request.user).select_related("order", "customer")
    text = form.cleaned_data.get("q", "").strip() if form.is_valid() else ""
    if text:
        shipments = shipments.filter(
            Q(number__icontains=text)
            | Q(order__number__icontains=text)
            | Q(customer__search_text__contains=text.lower())
            | Q(waybill_number__icontains=text)
        )
    return shipments.order_by("-shipped_on", "-id")


@login_required
def shipment_list(request):
    form = ShipmentFilterForm(request.GET)
    shipments = _shipment_rows(request, form)
    if request.GET.get("export") == "xlsx":
        headers = [
            _("Shipment number"), _("Order number"), _("Customer"), _("Shipping date"), _("Carrier"), _("Waybill number"),
            _("Delivery address"),
        ]
        rows = [
            [
                shipment.number, shipment.order.number, shipment.customer.name, shipment.shipped_on, shipment.carrier,
                shipment.waybill_number, shipment.delivery_address,
            ]
            for shipment in shipments
        ]
        return xlsx_response("shipments", _("Shipments"), headers, rows)
    return render(request, "inventory/shipment_list.html", {"filter_form": form, "page_obj": paginate(request, shipments)})


def _visible_shipment(request, pk):
    shipments = selectors.visible_shipments(request.user).select_related("order", "customer", "shipped_by")
    shipment = get_object_or_404(shipments, pk=pk)
    lines = list(shipment.lines.select_related("warehouse").order_by("id"))
    return shipment, lines


@login_required
def shipment_detail(request, pk):
    shipment, lines = _visible_shipment(request, pk)
    return render(
        request,
        "inventory/shipment_detail.html",
        {"shipment": shipment, "lines": lines, "total_quantity": sum(line.quantity for line in lines)},
    )


@login_required
def delivery_note(request, pk):
    """Render a shipment's accompanying delivery note (随货同行单) for A4 paper from the lines' snapshot fields."""
    shipment, lines = _visible_shipment(request, pk)
    return render(
        request,
        "inventory/delivery_note.html",
        {
            "shipment": shipment,
            "lines": lines,
            "total_quantity": sum(line.quantity for line in lines),
            "company": {
                "name": settings.COMPANY_NAME,
                "address": settings.COMPANY_ADDRESS,
                "phone": settings.COMPANY_PHONE,
                "licence_number": settings.COMPANY_LICENCE_NUMBER,
            },
        },
    )
