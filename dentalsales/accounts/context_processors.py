"""Navigation entries per role, for the base layout."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import REVIEW_ROLES, SALES_ROLES, WAREHOUSE_ROLES, Role

# (url name, label, icon, roles that see it; None means every signed-in user)
NAVIGATION = [
    ("home", _("Dashboard"), "speedometer2", None),
    ("customers:list", _("Customers"), "people", SALES_ROLES | {Role.FINANCE, Role.QUALITY_OFFICER, Role.LOGISTICS}),
    ("customers:verification_queue", _("Qualification verification"), "patch-check", {Role.QUALITY_OFFICER}),
    ("customers:expiry_radar", _("Qualification expiry"), "calendar-x", SALES_ROLES | {Role.QUALITY_OFFICER}),
    ("customers:grading", _("Customer grading"), "bar-chart-steps", {Role.MANAGER, Role.ADMINISTRATOR}),
    ("customers:duplicates", _("Duplicate customers"), "intersect", {Role.MANAGER}),
    ("crm:prospect_list", _("Potential customers"), "person-plus", SALES_ROLES),
    ("crm:revisit_list", _("Visits and revisits"), "calendar-check", SALES_ROLES),
    ("crm:gift_list", _("Gifts and hospitality"), "gift", SALES_ROLES),
    ("catalog:product_list", _("Products"), "box-seam", None),
    ("sales:order_list", _("Sales orders"), "receipt", SALES_ROLES | {Role.LOGISTICS, Role.FINANCE}),
    ("sales:quotation_list", _("Quotations"), "file-earmark-text", SALES_ROLES | {Role.FINANCE}),
    ("sales:contract_list", _("Sales contracts"), "file-earmark-check", SALES_ROLES | {Role.FINANCE, Role.LOGISTICS}),
    ("sales:review_queue", _("Order review"), "clipboard-check", REVIEW_ROLES),
    ("sales:backorder_list", _("Backorders"), "hourglass-split", WAREHOUSE_ROLES),
    ("pricing:price_list_list", _("Price lists"), "tags", SALES_ROLES),
    ("inventory:stock_list", _("Stock"), "boxes", WAREHOUSE_ROLES | {Role.QUALITY_OFFICER, Role.SUPERVISOR}),
    ("inventory:receive", _("Receive stock"), "box-arrow-in-down", WAREHOUSE_ROLES),
    ("inventory:quarantine_list", _("Quarantined lots"), "shield-lock", {Role.QUALITY_OFFICER, Role.MANAGER}),
    ("inventory:shipment_list", _("Shipments"), "truck", WAREHOUSE_ROLES | SALES_ROLES | {Role.QUALITY_OFFICER}),
    ("inventory:ledger", _("Stock ledger"), "journal-text", WAREHOUSE_ROLES | {Role.QUALITY_OFFICER, Role.FINANCE}),
    ("inventory:stock_count_list", _("Stock counts"), "clipboard-data", WAREHOUSE_ROLES | {Role.QUALITY_OFFICER, Role.FINANCE}),
    ("inventory:transfer_list", _("Stock transfers"), "arrow-left-right", WAREHOUSE_ROLES | {Role.QUALITY_OFFICER, Role.FINANCE}),
    ("aftersales:complaint_list", _("Complaints and feedback"), "chat-left-dots", SALES_ROLES | {Role.QUALITY_OFFICER, Role.LOGISTICS}),
    ("aftersales:adverse_event_queue", _("Suspected adverse events"), "exclamation-octagon", {Role.QUALITY_OFFICER}),
    ("aftersales:return_list", _("Returns and exchanges"), "arrow-return-left", SALES_ROLES | {Role.LOGISTICS, Role.QUALITY_OFFICER, Role.FINANCE}),
    ("aftersales:callback_list", _("Satisfaction call-backs"), "telephone-outbound", SALES_ROLES),
    ("finance:receivable_list", _("Receivables"), "cash-stack", SALES_ROLES | {Role.FINANCE}),
    ("finance:payment_list", _("Payments"), "bank", SALES_ROLES | {Role.FINANCE}),
    ("finance:opening_balance_list", _("Opening balances"), "journal-arrow-down", {Role.FINANCE, Role.MANAGER, Role.ADMINISTRATOR}),
    ("quality:recall_list", _("Recalls"), "sign-stop", {Role.QUALITY_OFFICER, Role.MANAGER, Role.LOGISTICS, Role.ADMINISTRATOR}),
    ("quality:expiry_radar", _("Expiry radar"), "hourglass-split", {Role.QUALITY_OFFICER, Role.MANAGER, Role.LOGISTICS, Role.ADMINISTRATOR}),
]


def navigation_items(user):
    items = []
    for url_name, label, icon, roles in NAVIGATION:
        if roles is None or user.has_role(*roles):
            items.append({"url": reverse(url_name), "name": url_name, "label": label, "icon": icon})
    return items


# Sidebar sections by URL namespace, in display order; an unlisted namespace goes to "More".
NAVIGATION_SECTIONS = [
    ("customers", _("Customers"), {"customers", "crm"}),
    ("sales", _("Sales"), {"sales", "pricing"}),
    ("stock", _("Products and stock"), {"catalog", "inventory"}),
    ("aftersales", _("After-sales"), {"aftersales"}),
    ("finance", _("Finance"), {"finance"}),
    ("quality", _("Quality"), {"quality"}),
]


def navigation_sections(items):
    """Group navigation items into sidebar sections; items without a namespace (the dashboard) come first, alone."""
    top = [item for item in items if ":" not in item["name"]]
    by_section = {key: [] for key, _label, _namespaces in NAVIGATION_SECTIONS}
    more = []
    for item in items:
        if ":" not in item["name"]:
            continue
        namespace = item["name"].split(":", 1)[0]
        key = next((key for key, _label, namespaces in NAVIGATION_SECTIONS if namespace in namespaces), None)
        (by_section[key] if key else more).append(item)
    sections = [{"key": "", "label": "", "items": top}] if top else []
    for key, label, _namespaces in NAVIGATION_SECTIONS:
        if by_section[key]:
            sections.append({"key": key, "label": label, "items": by_section[key]})
    if more:
        sections.append({"key": "more", "label": _("More"), "items": more})
    return sections


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": [], "navigation_sections": []}
    items = navigation_items(user)
    return {"navigation": items, "navigation_sections": navigation_sections(items)}
