from rest_framework import mixins, serializers, viewsets

from dentalsales.catalog.models import Product
from dentalsales.core.api_fields import PassThroughIntegerField

from . import services
from .models import GoodsReceipt, Shipment, ShipmentLine, Warehouse
from .selectors import visible_shipments


class WarehouseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "address", "is_active"]


class WarehouseViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Warehouse.objects.order_by("code")
    serializer_class = WarehouseSerializer
    filterset_fields = ["is_active"]
    search_fields = ["code", "name"]


class ReceiptSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), write_only=True)
    warehouse = serializers.PrimaryKeyRelatedField(queryset=Warehouse.objects.all())
    lot_number = serializers.CharField(max_length=50, source="lot.lot_number")
    production_date = serializers.DateField(write_only=True)
    expiry_date = serializers.DateField(write_only=True)
    quantity = PassThroughIntegerField()
    product_id = serializers.IntegerField(source="lot.product_id", read_only=True)
    lot = serializers.SerializerMethodField()

    class Meta:
        model = GoodsReceipt
        fields = [
            "id", "number", "product", "product_id", "warehouse", "lot_number", "production_date", "expiry_date",
            "quantity", "note", "lot", "received_at",
        ]
        read_only_fields = ["number", "received_at"]

    def get_lot(self, receipt) -> dict:
        lot = receipt.lot
        return {
            "id": lot.pk,
            "lot_number": lot.lot_number,
            "production_date": lot.production_date.isoformat(),
            "expiry_date": lot.expiry_date.isoformat(),
            "status": lot.status,
        }

    def create(self, validated_data):
        from django.utils.translation import gettext as _

        from dentalsales.core.errors import InvalidInput

        validated_data["lot_number"] = validated_data.pop("lot")["lot_number"]
        quantity = validated_data.pop("quantity")
        if isinstance(quantity, str) and quantity.strip().isdecimal() and quantity.strip().isascii():
            quantity = int(quantity)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidInput(
                _("Quantity must be a whole number of at least 1, not “%(value)s”.") % {"value": quantity}, field="quantity"
            )
        return services.receive_stock(actor=self.context["request"].user, quantity=quantity, **validated_data)


class ReceiptViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Goods received into stock; each receipt adds one stock ledger row."""

    serializer_class = ReceiptSerializer
    queryset = GoodsReceipt.objects.select_related("lot", "warehouse").order_by("-received_at", "-pk")


class ShipmentLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShipmentLine
        fields = [
            "id", "order_line", "product", "product_name", "specification", "unit", "manufacturer", "registration_number",
            "storage_conditions", "lot_number", "production_date", "expiry_date", "quantity", "warehouse",
        ]


class ShipmentSerializer(serializers.ModelSerializer):
    lines = ShipmentLineSerializer(many=True, read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    delivery_note_url = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = [
            "id", "number", "order", "order_number", "customer", "delivery_address", "receiving_contact", "carrier",
            "waybill_number", "shipped_on", "lines", "delivery_note_url",
        ]

    def get_delivery_note_url(self, shipment) -> str:
        return f"/shipments/{shipment.pk}/delivery-note/"


class ShipmentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ShipmentSerializer
    filterset_fields = ["order", "customer"]

    def get_queryset(self):
        return visible_shipments(self.request.user).select_related("order").prefetch_related("lines").order_by("-pk")
