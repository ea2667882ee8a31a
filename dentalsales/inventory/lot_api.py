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

from .models import Lot
from .trace import can_trace, find_lots, trace_shipments
from .udi import gtin_lookup_keys, parse_gs1


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


class LotViewSet(viewsets.ReadOnlyModelViewSet):
    """Lots of every product, readable by every signed-in user; ``trace`` is for the trace roles only.

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


class UdiParseRequestSerializer(serializers.Serializer):
    barcode = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=500)
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
    message = serializers.CharField(help_text="Empty, or why product is null.")


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

        body = {
            **parsed,
            "production_date": parsed["production_date"].isoformat() if parsed["production_date"] else None,
            "expiry_date": parsed["expiry_date"].isoformat() if parsed["expiry_date"] else None,
            "product": None
            if product is None
            else {"id": product.pk, "sku": product.sku, "name": product.name, "specification": product.specification},
            "message": message,
        }
        return Response(body)
