"""Writes on the product master."""

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import CATALOG_ROLES
from dentalsales.core.errors import InvalidInput, NotPermitted, clean_model
from dentalsales.core.pinyin import build_search_text
from dentalsales.core.validators import parse_registration_number

from .models import Product

logger = logging.getLogger(__name__)

PRODUCT_FIELDS = (
    "sku",
    "name",
    "name_en",
    "brand",
    "manufacturer",
    "specification",
    "unit",
    "category",
    "device_class",
    "registration_number",
    "registration_valid_until",
    "manufacturer_licence_number",
    "udi_di",
    "storage_conditions",
    "vat_rate",
    "list_price",
    "standard_cost",
    "is_implantable",
    "requires_drug_licence",
    "is_demo",
    "is_active",
)


def _check_registration(product):
    """Match the number's form to the device class: class I has a record, classes II and III a certificate."""
    product.registration_number = (product.registration_number or "").strip()
    parsed = parse_registration_number(product.registration_number)
    if parsed is None:
        return  # clean_model reports the malformed number with the field.
    kind, parts = parsed
    if product.device_class == "I" and kind == "registration":
        raise InvalidInput(
            _("Class I devices have a record number (备案凭证编号), not the registration certificate “%(value)s”.")
            % {"value": product.registration_number},
            field="registration_number",
        )
    if product.device_class in ("II", "III") and kind == "record":
        raise InvalidInput(
            _("Class %(device_class)s devices need a registration certificate number, not the record number “%(value)s”.")
            % {"device_class": product.device_class, "value": product.registration_number},
            field="registration_number",
        )
    if kind in ("registration", "legacy") and parts["device_class"] != {"II": "2", "III": "3"}.get(product.device_class):
        raise InvalidInput(
            _("Registration number “%(value)s” is for a class %(number_class)s device, but the product is class %(device_class)s.")
            % {
                "value": product.registration_number,
                "number_class": {"1": "I", "2": "II", "3": "III"}[parts["device_class"]],
                "device_class": product.device_class,
            },
            field="registration_number",
        )
    if kind in ("registration", "legacy") and product.registration_valid_until is None:
        raise InvalidInput(
            _("A registration certificate has an expiry date; enter it."), field="registration_valid_until"
        )


def _prepare(product):
    _check_registration(product)
    product.search_text = build_search_text(
        product.sku, product.name, product.name_en, product.brand, product.manufacturer, product.specification
    )
    clean_model(product)


@transaction.atomic
def create_product(*, actor, **fields):
    """Create a product. Only the quality officer, managers and administrators maintain the product master."""
    if not actor.has_role(*CATALOG_ROLES):
        raise NotPermitted(_("Only the quality officer or a manager can maintain products."))
    product = Product(**{k: v for k, v in fields.items() if k in PRODUCT_FIELDS})
    _prepare(product)
    product.save()
    logger.info("Product %s created by user %s", product.pk, actor.pk)
    return product


@transaction.atomic
def update_product(*, actor, product, **fields):
    if not actor.has_role(*CATALOG_ROLES):
        raise NotPermitted(_("Only the quality officer or a manager can maintain products."))
    product = Product.objects.select_for_update().get(pk=product.pk)
    for name, value in fields.items():
        if name in PRODUCT_FIELDS:
            setattr(product, name, value)
    _prepare(product)
    product.save()
    logger.info("Product %s changed by user %s", product.pk, actor.pk)
    return product
