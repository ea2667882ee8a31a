"""Delivery addresses of orders: a saved address of the customer, or free text."""

from django.utils.translation import gettext as _

from dentalsales.core.errors import InvalidInput
from dentalsales.customers.models import DeliveryAddress

# SalesOrder.delivery_address is a CharField(max_length=300).
MAX_ADDRESS_LENGTH = 300


def customer_addresses(customer):
    """Return the customer's saved delivery addresses, the default first."""
    if customer is None:
        return DeliveryAddress.objects.none()
    return DeliveryAddress.objects.filter(customer=customer).select_related("region").order_by("-is_default", "pk")


def format_delivery_address(address):
    """Return the text an order keeps of a saved address: label, region, street, postcode, recipient and phone."""
    parts = [address.label, f"{address.region.full_name}{address.detail}", address.postcode, address.recipient, address.recipient_phone]
    return " ".join(part for part in parts if part)[:MAX_ADDRESS_LENGTH]


def _find_address(customer, value):
    address_id = value.pk if isinstance(value, DeliveryAddress) else value
    if isinstance(address_id, str) and address_id.strip().isdecimal():
        address_id = int(address_id.strip())
    if isinstance(address_id, int) and not isinstance(address_id, bool) and 0 < address_id < 2**63:
        address = customer_addresses(customer).filter(pk=address_id).first()
        if address is not None:
            return address
    raise InvalidInput(
        _("“%(value)s” is not one of the delivery addresses of customer %(customer)s.")
        % {"value": address_id, "customer": customer},
        field="customer_address",
    )


def apply_delivery_address(order, fields):
    """Set the order's delivery address from ``fields``: ``customer_address`` (a saved address) or ``delivery_address`` (text).

    A saved address fills the text. Free text alone clears the link to a
    saved address. Both at once are accepted only when the text is the
    saved address's own text, so that neither silently wins.
    """
    chosen = fields.get("customer_address")
    if chosen not in (None, ""):
        address = _find_address(order.customer, chosen)
        text = format_delivery_address(address)
        typed = (fields.get("delivery_address") or "").strip()
        if typed and typed != text:
            raise InvalidInput(
                _("Choose one of the customer's delivery addresses or type an address, not both: “%(value)s”.")
                % {"value": typed},
                field="delivery_address",
            )
        order.customer_address = address
        order.delivery_address = text
    elif "customer_address" in fields or "delivery_address" in fields:
        order.customer_address = None


def apply_default_address(order):
    """Fill a blank delivery address with the customer's default saved address, else with the customer's address."""
    if order.delivery_address:
        return
    default = customer_addresses(order.customer).first()
    if default is not None:
        order.customer_address = default
        order.delivery_address = format_delivery_address(default)
    else:
        order.delivery_address = order.customer.address
