"""Excel exports of the customer lists: customers, their contacts and their qualifications.

Every export is scoped to what the user may see, is logged through
``crm.services.log_export`` (who, when, which list, filters, rows), and
puts personal data (contact names and phone numbers) into the file only
for users with the permission ``customers.export_contacts``.
"""

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from dentalsales.core.errors import NotPermitted
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.crm.services import log_export

from .models import Qualification
from .selectors import can_export_contacts, visible_contacts


def export_customers(user, customers, filters):
    """Return the customers as an .xlsx attachment; the receiving contact's name and phone only with the export permission."""
    with_contacts = can_export_contacts(user)
    headers = [
        _("Customer code"), _("Name"), _("Customer type"), _("Category"), _("Grade"), _("Region"),
        _("Delivery address"), _("Unified social credit code"), _("Credit limit"), _("Payment terms (days)"),
        _("Sales representative"), _("Active"),
    ]
    if with_contacts:
        headers[7:7] = [_("Receiving contact"), _("Contact phone")]
    rows = []
    for customer in customers.select_related("owner", "region"):
        row = [
            customer.code, customer.name, customer.get_customer_type_display(), customer.get_category_display(),
            customer.get_grade_display() or "", customer.region.full_name if customer.region else "",
            customer.address, customer.uscc, customer.credit_limit, customer.payment_terms_days,
            customer.owner.display_name, _("Yes") if customer.is_active else _("No"),
        ]
        if with_contacts:
            row[7:7] = [customer.contact_name, customer.contact_phone]
        rows.append(row)
    log_export(user, "customers", filters, len(rows))
    return xlsx_response("customers", _("Customers"), headers, rows)


def export_contacts(user, customers, filters):
    """Return the contacts of ``customers`` as an .xlsx attachment; raises ``NotPermitted`` without the export permission."""
    if not can_export_contacts(user):
        raise NotPermitted(_("Exporting contacts needs the permission to export customer contacts."))
    contacts = (
        visible_contacts(user)
        .filter(customer__in=customers.values("pk"))
        .select_related("customer")
        .order_by("customer__code", "-is_primary", "name", "pk")
    )
    headers = [
        _("Customer code"), _("Customer"), _("Contact name"), pgettext("contact", "Job title"), _("Department"), _("Mobile"), _("Phone"),
        _("E-mail"), _("WeChat"), _("Birthday"), _("Decision role"), _("Primary contact"), _("Note"),
    ]
    rows = [
        [
            contact.customer.code, contact.customer.name, contact.name, contact.title, contact.department, contact.mobile,
            contact.phone, contact.email, contact.wechat, contact.birthday, contact.get_decision_role_display(),
            _("Yes") if contact.is_primary else _("No"), contact.note,
        ]
        for contact in contacts
    ]
    log_export(user, "customer contacts", filters, len(rows))
    return xlsx_response("contacts", _("Contacts"), headers, rows)


def export_qualifications(user, customers, filters):
    """Return the qualifications of ``customers`` as an .xlsx attachment."""
    qualifications = (
        Qualification.objects.filter(customer__in=customers.values("pk"))
        .select_related("customer")
        .order_by("customer__code", "kind", "pk")
    )
    headers = [
        _("Customer code"), _("Customer"), _("Kind"), _("Number"), _("Issuing authority"), _("Valid until"),
        _("Device classes covered"), _("Covers drugs"), _("Verification"),
    ]
    rows = [
        [
            q.customer.code, q.customer.name, q.get_kind_display(), q.number, q.issuing_authority, q.valid_until,
            ",".join(q.device_classes or []), _("Yes") if q.covers_drugs else _("No"), q.get_verification_status_display(),
        ]
        for q in qualifications
    ]
    log_export(user, "customer qualifications", filters, len(rows))
    return xlsx_response("qualifications", _("Qualifications"), headers, rows)


__all__ = ["export_contacts", "export_customers", "export_qualifications"]
