"""The lots API (lookup and trace) and the UDI barcode parser endpoint."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from dentalsales.catalog.models import Product
from dentalsales.core.errors import InvalidInput
from dentalsales.core.timeutils import local_today

from .models import Lot
from .services import release_lot_from_quarantine
from .trace import can_trace, find_lots, trace_shipments
from .udi import UDI_MAX_LENGTH, gtin_lookup_keys, parse_gs1


class LotSerializer(serializers.ModelSerializer):
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    is_expired = serializers.BooleanField(read_only=True)
    effective_status = serializers.CharField(read_only=True)

    class Meta:
        model = Lot
        fields = [
            "id", "product", "product_sku", "product_name", "lot_number", "production_date", "expiry_date", "status",
            "effective_status", "is_expired",
        ]


class TraceRowSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    customer_code = serializers.CharField()
    customer_name = serializers.CharField()
    contact_name = serializers.CharField()
    contact_phone = serializers.CharField()
    receiving_contact = serializers.CharField()
    delivery_address = serializers.CharField()
    shipment = serializers.IntegerField()
    shipment_number = serializers.CharField()
    shipped_on = serializers.DateField()
    shipment_status = serializers.CharField()
    order_number = serializers.CharField()
    lot_number = serializers.CharField()
    quantity = serializers.IntegerField()


class ReleaseInputSerializer(serializers.Serializer):
    # Optional here so that the service's message names a missing reason like the web form's.
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class LotViewSet(viewsets.ReadOnlyModelViewSet):
    """Lots of every product, readable by every signed-in user; ``trace`` is for the trace roles only, ``release`` for the quality officer and managers.

    Filters: ``product`` (id) and ``lot_number`` (part of the lot number,
    case-insensitive).
    """

    serializer_class = LotSerializer
    filter_backends = []

    def get_queryset(self):
        product = self.request.query_params.get("product") or None
        if product is not None and not product.isdigit():
            raise InvalidInput(_("Product “%(value)s” is not a product id.") % {"value": product}, field="product")
        return find_lots(product=product, lot_number=self.request.query_params.get("lot_number", ""))

    @extend_schema(
        parameters=[
            OpenApiParameter("product", int, description="Product id."),
            OpenApiParameter("lot_number", str, description="Part of the lot number, case-insensitive."),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=TraceRowSerializer(many=True))
    @action(detail=True, methods=["get"])
    def trace(self, request, pk=None):
        """List every shipment of the lot: customer with contact, shipment number, date and quantity."""
        if not can_trace(request.user):
            raise PermissionDenied(_("Only the quality officer, logistics and managers can trace lots to customers."))
        lot = self.get_object()
        return Response(TraceRowSerializer(trace_shipments([lot.pk]), many=True).data)

    @extend_schema(request=ReleaseInputSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Release a quarantined lot for sale again (quality officer or manager), with the reason for the decision."""
        serializer = ReleaseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lot = release_lot_from_quarantine(actor=request.user, lot=self.get_object(), note=serializer.validated_data["reason"])
        return Response(self.get_serializer(find_lots().get(pk=lot.pk)).data)


class UdiParseRequestSerializer(serializers.Serializer):
    # The same limit as the UDI fields of the receiving and review forms and the stored UDI.
    barcode = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=UDI_MAX_LENGTH)
    require_known_product = serializers.BooleanField(
        required=False, default=False, help_text="Answer 400 instead of product null when no product has the scanned UDI-DI."
    )


class UdiParseResponseSerializer(serializers.Serializer):
    gtin = serializers.CharField(allow_null=True)
    lot_number = serializers.CharField(allow_null=True)
    production_date = serializers.DateField(allow_null=True)
    expiry_date = serializers.DateField(allow_null=True)
    serial_number = serializers.CharField(allow_null=True)
    other = serializers.DictField(child=serializers.CharField())
    product = serializers.DictField(allow_null=True, help_text="{id, sku, name, specification} of the product with this UDI-DI.")
    message = serializers.CharField(help_text="Empty, or why product is null, or why the product cannot be received or sold.")
    message_level = serializers.CharField(help_text="warning, or error when the product cannot be received or sold; empty without a message.")


def match_product(gtin):
    """Return the active product whose UDI-DI is ``gtin`` (as GTIN-14 or its shorter forms), or None."""
    if not gtin:
        return None
    return Product.objects.filter(udi_di__in=gtin_lookup_keys(gtin), is_active=True).order_by("pk").first()


class UdiParseView(APIView):
    """Parse a scanned GS1 barcode into UDI fields and find the product with that UDI-DI.

    An unknown UDI-DI returns 200 with ``product: null`` and a ``message``,
    so that a receiving form can still take the lot and dates. With
    ``require_known_product`` it returns 400 instead. A malformed barcode
    returns 400 with ``detail`` naming the AI and value.
    """

    @extend_schema(request=UdiParseRequestSerializer, responses=UdiParseResponseSerializer)
    def post(self, request):
        serializer = UdiParseRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parsed = parse_gs1(serializer.validated_data["barcode"])

        product = match_product(parsed["gtin"])
        message = ""
        if parsed["gtin"] and product is None:
            message = _("No product has the UDI-DI %(gtin)s; choose the product by hand or add the UDI-DI to it.") % {
                "gtin": parsed["gtin"]
            }
            if serializer.validated_data["require_known_product"]:
                raise InvalidInput(message, field="barcode", code="unknown_udi_di")
        elif not parsed["gtin"] and serializer.validated_data["require_known_product"]:
            raise InvalidInput(_("The barcode has no GTIN (AI 01), so the product is unknown."), field="barcode", code="unknown_udi_di")
        message_level = "warning" if message else ""
        today = local_today()
        if product is not None and not product.registration_valid_on(today):
            # Shown at scan time so that nobody unpacks goods the receipt will refuse; the service still checks.
            message = _("The registration %(number)s of “%(product)s” expired on %(date)s; it cannot be received for sale or sold.") % {
                "number": product.registration_number, "product": product, "date": product.registration_valid_until,
            }
            message_level = "error"

        body = {
            **parsed,
            "production_date": parsed["production_date"].isoformat() if parsed["production_date"] else None,
            "expiry_date": parsed["expiry_date"].isoformat() if parsed["expiry_date"] else None,
            "product": None
            if product is None
            else {"id": product.pk, "sku": product.sku, "name": product.name, "specification": product.specification},
            "message": message,
            "message_level": message_level,
        }
        return Response(body)
