from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import CATALOG_ROLES
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError
from dentalsales.core.money import format_price
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.views import add_domain_error, paginate
from dentalsales.inventory.selectors import product_stock

from . import selectors, services
from .forms import ProductFilterForm, ProductForm
from .models import Product

AUTOCOMPLETE_LIMIT = 30


def _filtered_products(request, form):
    data = form.cleaned_data if form.is_valid() else {}
    include_inactive = bool(data.get("inactive")) and request.user.has_role(*CATALOG_ROLES)
    return selectors.product_list(
        search=data.get("q", ""),
        category=data.get("category"),
        device_class=data.get("device_class", ""),
        active_only=not include_inactive,
    )


def _export_products(products, sees_cost):
    headers = [
        _("SKU"), _("Name"), _("Model / specification"), _("Unit"), _("Brand"), _("Manufacturer"), _("Category"),
        _("Device class"), _("Registration or record number"), _("Registration valid until"), _("Storage conditions"),
        _("VAT rate"), _("List price"),
    ]
    if sees_cost:
        headers.append(_("Standard cost"))
    rows = []
    for product in products:
        row = [
            product.sku, product.name, product.specification, product.unit, product.brand, product.manufacturer,
            product.category, product.get_device_class_display(), product.registration_number,
            product.registration_valid_until, product.storage_conditions, product.vat_rate, product.list_price,
        ]
        if sees_cost:
            row.append(product.standard_cost)
        rows.append(row)
    return xlsx_response("products", _("Products"), headers, rows)


@login_required
def product_list(request):
    form = ProductFilterForm(request.GET)
    products = _filtered_products(request, form)
    if request.GET.get("export") == "xlsx":
        return _export_products(products, request.user.sees_cost)
    return render(
        request,
        "catalog/product_list.html",
        {
            "filter_form": form,
            "page_obj": paginate(request, products),
            "can_edit": request.user.has_role(*CATALOG_ROLES),
        },
    )


@login_required
def product_detail(request, pk):
    product = get_object_or_404(Product.objects.select_related("category"), pk=pk)
    return render(
        request,
        "catalog/product_detail.html",
        {"product": product, "stock": product_stock(product), "can_edit": request.user.has_role(*CATALOG_ROLES)},
    )


def _product_form(request, *, product=None):
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                saved = services.create_product(actor=request.user, **form.cleaned_data)
                messages.success(request, _("Product %(sku)s created.") % {"sku": saved.sku})
            else:
                saved = services.update_product(actor=request.user, product=product, **form.cleaned_data)
                messages.success(request, _("Product %(sku)s saved.") % {"sku": saved.sku})
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return redirect("catalog:product_detail", pk=saved.pk)
    return render(request, "catalog/product_form.html", {"form": form, "product": product})


@role_required(*CATALOG_ROLES)
def product_create(request):
    return _product_form(request)


@role_required(*CATALOG_ROLES)
def product_update(request, pk):
    return _product_form(request, product=get_object_or_404(Product, pk=pk))


@login_required
def product_autocomplete(request):
    """Return active products matching ``q`` for Tom Select, with the unit, list price and VAT rate an order line needs."""
    products = selectors.product_list(search=request.GET.get("q", ""))[:AUTOCOMPLETE_LIMIT]
    results = [
        {
            "id": product.pk,
            "text": " ".join(filter(None, [product.sku, product.name, product.specification])),
            # Tom Select filters the loaded options again in the browser, so it needs every text the server matched.
            "search": f"{product.search_text} {product.registration_number}",
            "unit": product.unit,
            "list_price": format_price(product.list_price, grouping=False),
            "vat_rate": str(product.vat_rate),
        }
        for product in products
    ]
    return JsonResponse({"results": results})
