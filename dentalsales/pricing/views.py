"""Pricing screens: price lists, locked prices, payment-term discounts, discount authority and the price check."""

import logging
import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from dentalsales.accounts.roles import COST_ROLES
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError, InvalidInput
from dentalsales.core.money import line_amount
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.views import add_domain_error, paginate, report_domain_error

from . import selectors, services
from .forms import (
    CategoryAuthorityForm,
    LockedPriceFilterForm,
    LockedPriceForm,
    PaymentTermDiscountForm,
    PriceCheckForm,
    PriceListFilterForm,
    PriceListForm,
    filled_items,
    initial_header,
    initial_items,
    item_formset,
    item_formset_is_valid,
)
from .models import AuthorityRole, PriceListKind
from .resolver import (
    AUTHORITY_LEVELS,
    authority_level,
    authority_table,
    lowest_price_within_authority,
    resolve_price,
)
from .selectors import PRICE_MAINTAINER_ROLES, PRICE_READER_ROLES

logger = logging.getLogger(__name__)

ITEM_ERROR_KEY = re.compile(r"^items\[(\d+)\](?:\.tiers\[(\d+)\])?(?:\.(\w+))?$")
ROLE_ERROR_KEY = re.compile(r"^(\w+)\.min_share_of_list$")


# -- price lists -----------------------------------------------------------------------


@role_required(*PRICE_READER_ROLES)
def price_list_list(request):
    filter_form = PriceListFilterForm(request.GET)
    price_lists = selectors.price_list_list(request.user, **filter_form.filters())
    if request.GET.get("export") == "xlsx":
        return _export_price_lists(request, price_lists)
    return render(
        request,
        "pricing/price_list_list.html",
        {
            "filter_form": filter_form,
            "page_obj": paginate(request, price_lists),
            "can_edit": selectors.can_maintain_prices(request.user),
        },
    )


def _export_price_lists(request, price_lists):
    """Export every item of the filtered lists with its tiers, one row per item, as price sheets are kept in Excel."""
    headers = [
        _("Price list"), pgettext("price list", "Kind"), _("Customer grade"), _("Customer code"), _("Customer"), _("Valid from"),
        _("Valid until"), _("Priority"), _("Active"), _("SKU"), _("Product"), _("Unit"), _("List price"),
        _("Unit price (tax incl.)"), _("Volume tiers"),
    ]
    rows = []
    for price_list in selectors.price_lists_with_items(price_lists):
        header = [
            price_list.name, price_list.get_kind_display(), price_list.grade,
            price_list.customer.code if price_list.customer else "", price_list.customer.name if price_list.customer else "",
            price_list.valid_from, price_list.valid_until, price_list.priority, _("Yes") if price_list.is_active else _("No"),
        ]
        for item in price_list.items.all():
            tiers = "; ".join(f"{tier.min_quantity}+: {tier.unit_price}" for tier in item.tiers.all())
            rows.append(
                header + [item.product.sku, item.product.name, item.product.unit, item.product.list_price, item.unit_price, tiers]
            )
        if not price_list.items.all():
            rows.append(header + ["", "", "", None, None, ""])
    logger.info("Price lists exported by user %s: %s rows", request.user.pk, len(rows))
    return xlsx_response("price-lists", _("Price lists"), headers, rows)


def _visible_price_list(request, pk):
    return get_object_or_404(selectors.price_lists_with_items(selectors.visible_price_lists(request.user)), pk=pk)


@role_required(*PRICE_READER_ROLES)
def price_list_detail(request, pk):
    price_list = _visible_price_list(request, pk)
    return render(
        request,
        "pricing/price_list_detail.html",
        {
            "price_list": price_list,
            "items": price_list.items.all(),
            "can_edit": selectors.can_maintain_prices(request.user),
            "low_prices": selectors.prices_below_authority(price_list) if request.user.has_role(*COST_ROLES) else [],
            "history": price_list.history.select_related("history_user").order_by("-history_date")[:10],
        },
    )


def _place_item_errors(form, rows, error):
    """Put a service error beside its field: ``items[2].tiers[0].unit_price`` goes to the first tier of the third kept item."""
    field_errors = getattr(error, "field_errors", None) or {}
    if not field_errors:
        add_domain_error(form, error)
        return
    for key, texts in field_errors.items():
        match = ITEM_ERROR_KEY.match(key)
        target, name = form, key
        if match and int(match[1]) < len(rows):
            item_form, tier_forms, _item = rows[int(match[1])]
            target, name = item_form, match[3]
            if match[2] is not None and int(match[2]) < len(tier_forms):
                target = tier_forms[int(match[2])]
        for text in texts:
            target.add_error(name if name in target.fields else None, text)


def _price_list_form(request, *, price_list=None):
    if request.method == "POST":
        form = PriceListForm(request.POST, user=request.user)
        formset = item_formset(request.POST)
        if form.is_valid() and item_formset_is_valid(formset):
            rows = filled_items(formset)
            items = [item for _form, _tiers, item in rows]
            fields = dict(form.cleaned_data)
            try:
                if price_list is None:
                    saved = services.create_price_list(actor=request.user, items=items, **fields)
                    messages.success(request, _("Price list “%(name)s” created.") % {"name": saved.name})
                else:
                    saved = services.update_price_list(actor=request.user, price_list=price_list, items=items, **fields)
                    messages.success(request, _("Price list “%(name)s” saved.") % {"name": saved.name})
            except DomainError as error:
                _place_item_errors(form, rows, error)
            else:
                if selectors.prices_below_authority(saved):
                    messages.warning(
                        request,
                        _("Some prices are below what a manager may grant or below standard cost; check them on the price list."),
                    )
                return redirect("pricing:price_list_detail", pk=saved.pk)
    elif price_list is not None:
        form = PriceListForm(initial=initial_header(price_list), user=request.user)
        formset = item_formset(initial=initial_items(price_list))
    else:
        form = PriceListForm(initial={"kind": PriceListKind.GRADE, "priority": 0, "is_active": True}, user=request.user)
        formset = item_formset(initial=[{}])
    return render(request, "pricing/price_list_form.html", {"form": form, "formset": formset, "price_list": price_list})


@role_required(*PRICE_MAINTAINER_ROLES)
def price_list_create(request):
    return _price_list_form(request)


@role_required(*PRICE_MAINTAINER_ROLES)
def price_list_update(request, pk):
    return _price_list_form(request, price_list=_visible_price_list(request, pk))


@require_POST
@role_required(*PRICE_MAINTAINER_ROLES)
def price_list_deactivate(request, pk):
    price_list = _visible_price_list(request, pk)
    try:
        services.deactivate_price_list(actor=request.user, price_list=price_list)
    except DomainError as error:
        report_domain_error(request, error)
    else:
        messages.success(request, _("Price list “%(name)s” no longer applies.") % {"name": price_list.name})
    return redirect("pricing:price_list_detail", pk=price_list.pk)


# -- locked prices ------------------------------------------------------------------------


@role_required(*PRICE_READER_ROLES)
def locked_price_list(request):
    filter_form = LockedPriceFilterForm(request.GET)
    locked_prices = selectors.locked_price_list(request.user, **filter_form.filters())
    if request.GET.get("export") == "xlsx":
        return _export_locked_prices(request, locked_prices)
    return render(
        request,
        "pricing/locked_price_list.html",
        {"filter_form": filter_form, "page_obj": paginate(request, locked_prices), "can_edit": selectors.can_maintain_prices(request.user)},
    )


def _export_locked_prices(request, locked_prices):
    headers = [
        _("Customer code"), _("Customer"), _("SKU"), _("Product"), _("Unit"), _("List price"), _("Locked price"),
        _("Valid from"), _("Valid until"), _("Source"), _("Source reference"), _("Active"),
    ]
    rows = [
        [
            row.customer.code, row.customer.name, row.product.sku, row.product.name, row.product.unit, row.product.list_price,
            row.unit_price, row.valid_from, row.valid_until, row.get_source_display(), row.source_reference,
            _("Yes") if row.is_active else _("No"),
        ]
        for row in locked_prices
    ]
    logger.info("Locked prices exported by user %s: %s rows", request.user.pk, len(rows))
    return xlsx_response("locked-prices", _("Locked prices"), headers, rows)


def _locked_price_form(request, *, locked_price=None):
    if request.method == "POST":
        form = LockedPriceForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                if locked_price is None:
                    services.create_locked_price(actor=request.user, **form.cleaned_data)
                    messages.success(request, _("Locked price saved."))
                else:
                    services.update_locked_price(actor=request.user, locked_price=locked_price, **form.cleaned_data)
                    messages.success(request, _("Locked price saved."))
            except DomainError as error:
                add_domain_error(form, error)
            else:
                return redirect("pricing:locked_price_list")
    else:
        initial = {"is_active": True}
        if locked_price is not None:
            initial = {name: getattr(locked_price, name) for name in services.LOCKED_PRICE_FIELDS}
        form = LockedPriceForm(initial=initial, user=request.user)
    return render(request, "pricing/locked_price_form.html", {"form": form, "locked_price": locked_price})


@role_required(*PRICE_MAINTAINER_ROLES)
def locked_price_create(request):
    return _locked_price_form(request)


@role_required(*PRICE_MAINTAINER_ROLES)
def locked_price_update(request, pk):
    return _locked_price_form(request, locked_price=get_object_or_404(selectors.visible_locked_prices(request.user), pk=pk))


@require_POST
@role_required(*PRICE_MAINTAINER_ROLES)
def locked_price_deactivate(request, pk):
    locked_price = get_object_or_404(selectors.visible_locked_prices(request.user), pk=pk)
    try:
        services.deactivate_locked_price(actor=request.user, locked_price=locked_price)
    except DomainError as error:
        report_domain_error(request, error)
    else:
        messages.success(request, _("The locked price no longer applies."))
    return redirect("pricing:locked_price_list")


# -- discount authority and payment-term discounts -----------------------------------------


def _place_authority_errors(form, error):
    field_errors = getattr(error, "field_errors", None) or {}
    if not field_errors:
        add_domain_error(form, error)
        return
    for key, texts in field_errors.items():
        match = ROLE_ERROR_KEY.match(key)
        name = match[1] if match else key
        for text in texts:
            form.add_error(name if name in form.fields else None, text)


def _authority_initial(overview, edit):
    """Fill the form with the saved shares of the row chosen by ``?edit=`` (a category id, or ``general``)."""
    for row in overview:
        key = str(row["category"].pk) if row["category"] is not None else "general"
        if key == edit:
            initial = {"category": row["category"].pk if row["category"] is not None else None}
            for cell in row["cells"]:
                initial[cell["role"].value] = cell["row"].min_share_of_list if cell["row"] else None
            return initial
    return {}


@role_required(*PRICE_READER_ROLES)
def authority_list(request):
    can_edit = selectors.can_maintain_prices(request.user)
    overview = selectors.authority_overview(request.user)
    form = CategoryAuthorityForm(
        request.POST if request.method == "POST" and can_edit else None, initial=_authority_initial(overview, request.GET.get("edit"))
    )
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.set_category_authorities(
                    actor=request.user, category=form.cleaned_data["category"], shares=form.shares()
                )
            except DomainError as error:
                _place_authority_errors(form, error)
            else:
                messages.success(request, _("Discount authority saved."))
                return redirect("pricing:authority_list")
    return render(
        request,
        "pricing/authority_list.html",
        {"overview": overview, "form": form, "can_edit": can_edit, "roles": AuthorityRole},
    )


@role_required(*PRICE_READER_ROLES)
def payment_term_discount_list(request):
    can_edit = selectors.can_maintain_prices(request.user)
    form = PaymentTermDiscountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.create_payment_term_discount(actor=request.user, **form.cleaned_data)
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, _("Payment-term discount saved."))
                return redirect("pricing:payment_term_discount_list")
    return render(
        request,
        "pricing/payment_term_discount_list.html",
        {"discounts": selectors.payment_term_discounts(request.user), "form": form, "can_edit": can_edit},
    )


@require_POST
@role_required(*PRICE_MAINTAINER_ROLES)
def payment_term_discount_deactivate(request, pk):
    discount = get_object_or_404(selectors.payment_term_discounts(request.user), pk=pk)
    try:
        services.deactivate_payment_term_discount(actor=request.user, discount=discount)
    except DomainError as error:
        report_domain_error(request, error)
    else:
        messages.success(request, _("The payment-term discount no longer applies."))
    return redirect("pricing:payment_term_discount_list")


# -- price check ---------------------------------------------------------------------------


@role_required(*PRICE_READER_ROLES)
def price_check(request):
    """Show the price a customer pays for a quantity of a product today (or on a date), and why."""
    form = PriceCheckForm(request.GET if "customer" in request.GET else None, user=request.user)
    result = floors = amount = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            result = resolve_price(
                customer=data["customer"], product=data["product"], quantity=data["quantity"], on_date=data.get("on_date")
            )
        except InvalidInput as error:
            add_domain_error(form, error)
        else:
            amount = line_amount(data["quantity"], result.unit_price)
            table = authority_table()
            own_level = authority_level(request.user.roles)
            floors = []
            for level in AUTHORITY_LEVELS:
                # The policy price itself never needs approval, even when it is below the role's authority.
                authority_floor = lowest_price_within_authority(level, data["product"], table=table)
                floors.append(
                    {
                        "role": level,
                        "price": min(authority_floor, result.unit_price),
                        "by_policy": result.unit_price < authority_floor,
                        "is_own": level == own_level,
                    }
                )
    return render(
        request, "pricing/price_check.html", {"form": form, "result": result, "floors": floors, "amount": amount}
    )
