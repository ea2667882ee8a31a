import datetime

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from dentalsales.catalog.models import Product
from dentalsales.core.api import IDEMPOTENCY_HEADER, created_or_replayed, idempotency_key_from
from dentalsales.core.api_fields import PassThroughIntegerField
from dentalsales.core.errors import InvalidInput

from . import selectors, services, shipping, stock_control
from .models import (
    GoodsReceipt,
    InspectionResult,
    Lot,
    OutboundReview,
    OutboundReviewLine,
    ReviewLineResult,
    Shipment,
    ShipmentLine,
    StockCount,
    StockCountLine,
    StockLedgerEntry,
    StockTransfer,
    Warehouse,
)
from .selectors import STOCK_CONTROL_ROLES, STOCK_PAGE_ROLES, visible_shipments


class WarehouseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "address", "is_active"]


class WarehouseViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Warehouse.objects.order_by("code")
    serializer_class = WarehouseSerializer
    filterset_fields = ["is_active"]
    search_fields = ["code", "name"]


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="A key unique per receipt; a retried request with the same key returns the first receipt instead of receiving twice.",
)


class ReceiptSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(label=_lazy("product"), queryset=Product.objects.all(), write_only=True)
    warehouse = serializers.PrimaryKeyRelatedField(label=_lazy("warehouse"), queryset=Warehouse.objects.all())
    lot_number = serializers.CharField(label=_lazy("lot number"), max_length=50, source="lot.lot_number")
    production_date = serializers.DateField(label=_lazy("production date"), write_only=True)
    expiry_date = serializers.DateField(label=_lazy("expiry date"), write_only=True)
    quantity = PassThroughIntegerField(label=_lazy("quantity"))
    product_id = serializers.IntegerField(label=_lazy("product"), source="lot.product_id", read_only=True)
    lot = serializers.SerializerMethodField(label=_lazy("lot"))
    inspection_result = serializers.CharField(
        label=_lazy("inspection result"), required=False, default=InspectionResult.ACCEPTED, help_text="accepted, rejected or quarantined"
    )

    class Meta:
        model = GoodsReceipt
        fields = [
            "id", "number", "product", "product_id", "warehouse", "lot_number", "production_date", "expiry_date",
            "quantity", "note", "lot", "received_at", "supplier", "serial_number", "udi", "inspection_result",
            "inspection_note",
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

    def validate_quantity(self, quantity):
        if isinstance(quantity, str) and quantity.strip().isdecimal() and quantity.strip().isascii():
            quantity = int(quantity)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidInput(
                _("Quantity must be a whole number of at least 1, not “%(value)s”.") % {"value": quantity}, field="quantity"
            )
        # Checked here too, so that a number beyond the database's integer range never reaches a query.
        if quantity > services.MAX_RECEIPT_QUANTITY:
            raise InvalidInput(
                _("Quantity %(value)s is more than the %(max)s that one receipt may record; check the quantity or split the delivery.")
                % {"value": quantity, "max": services.MAX_RECEIPT_QUANTITY},
                field="quantity",
            )
        return quantity

    def create(self, validated_data):
        validated_data["lot_number"] = validated_data.pop("lot")["lot_number"]
        return services.receive_stock(
            actor=self.context["request"].user, idempotency_key=self.context.get("idempotency_key", ""), **validated_data
        )


class ReceiptReadPermission(BasePermission):
    """Receipts show stock per lot, so only the roles of the stock page and stock control read them; the service checks who may receive."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method == "POST":
            return True
        return user.has_role(*(STOCK_PAGE_ROLES | STOCK_CONTROL_ROLES))


class ReceiptViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Goods received into stock; each receipt adds one stock ledger row.

    A POST with an ``Idempotency-Key`` header already used by the same user
    returns the first receipt with status 200 instead of receiving again.
    """

    serializer_class = ReceiptSerializer
    queryset = GoodsReceipt.objects.select_related("lot", "warehouse").order_by("-received_at", "-pk")
    permission_classes = [IsAuthenticated, ReceiptReadPermission]

    @extend_schema(parameters=[IDEMPOTENCY_PARAMETER])
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.context["idempotency_key"] = idempotency_key_from(request)
        serializer.is_valid(raise_exception=True)
        receipt = serializer.save()
        return created_or_replayed(self.get_serializer(receipt).data, not receipt.replayed)


class ShipmentLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShipmentLine
        fields = [
            "id", "order_line", "product", "product_name", "specification", "unit", "manufacturer", "registration_number",
            "manufacturer_licence_number", "storage_conditions", "lot_number", "production_date", "expiry_date", "serial_numbers",
            "quantity", "warehouse",
        ]


class OutboundReviewLineSerializer(serializers.ModelSerializer):
    reason = serializers.SerializerMethodField(label=_lazy("reason"), help_text="Why the line failed, in the request's language, with the reviewer's note.")

    class Meta:
        model = OutboundReviewLine
        fields = ["shipment_line", "result", "confirmed_quantity", "scanned_code", "note", "finding", "reason"]

    def get_reason(self, review_line) -> str:
        return shipping.review_line_reason(review_line)


class OutboundReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(label=_lazy("reviewer"), source="reviewer.display_name", read_only=True)
    lines = OutboundReviewLineSerializer(many=True, read_only=True)

    class Meta:
        model = OutboundReview
        fields = ["id", "reviewer", "reviewed_at", "result", "note", "lines"]


class ShipmentSerializer(serializers.ModelSerializer):
    lines = ShipmentLineSerializer(many=True, read_only=True)
    order_number = serializers.CharField(label=_lazy("order number"), source="order.number", read_only=True)
    delivery_note_url = serializers.SerializerMethodField(label=_lazy("accompanying delivery note"))
    reviews = OutboundReviewSerializer(many=True, read_only=True)
    signed_receipt_url = serializers.SerializerMethodField(label=_lazy("signed receipt"))
    picked_by = serializers.CharField(label=_lazy("picked by"), source="shipped_by.display_name", read_only=True)

    class Meta:
        model = Shipment
        fields = [
            "id", "number", "order", "order_number", "customer", "delivery_address", "receiving_contact", "carrier",
            "waybill_number", "shipped_on", "lines", "delivery_note_url", "status", "picked_by", "dispatched_at",
            "delivered_on", "signed_receipt_url", "reviews", "delivery_note_prints", "cancelled_at", "cancellation_reason",
        ]

    def get_delivery_note_url(self, shipment) -> str:
        return f"/shipments/{shipment.pk}/delivery-note/"

    def get_signed_receipt_url(self, shipment) -> str:
        return f"/shipments/{shipment.pk}/signed-receipt/" if shipment.signed_receipt else ""


class ReviewLineInputSerializer(serializers.Serializer):
    shipment_line = serializers.IntegerField(label=_lazy("shipment line"))
    result = serializers.CharField(label=_lazy("result"), required=False, default=ReviewLineResult.OK, help_text="ok, damaged, mislabelled, expired or unmatched")
    quantity = PassThroughIntegerField(label=_lazy("counted quantity"), required=False, help_text="Units counted; default the picked quantity.")
    scanned_code = serializers.CharField(label=_lazy("scanned code"), required=False, allow_blank=True, default="", max_length=200)
    note = serializers.CharField(label=_lazy("note"), required=False, allow_blank=True, default="", max_length=200)


class ReviewInputSerializer(serializers.Serializer):
    lines = ReviewLineInputSerializer(label=_lazy("lines"), many=True, help_text="One entry per shipment line, scanned or ticked.")
    note = serializers.CharField(label=_lazy("note"), required=False, allow_blank=True, default="", max_length=300)


class DispatchInputSerializer(serializers.Serializer):
    carrier = serializers.CharField(label=_lazy("carrier"), required=False, allow_blank=True, max_length=100)
    waybill_number = serializers.CharField(label=_lazy("waybill number"), required=False, allow_blank=True, max_length=60)
    dispatched_on = serializers.DateField(label=_lazy("dispatch date"), required=False)


class DeliveryInputSerializer(serializers.Serializer):
    # Optional here so that the service's message names a missing receipt like the web form's.
    signed_receipt = serializers.FileField(label=_lazy("signed receipt"), required=False, help_text="PDF, JPEG or PNG, at most 10 MB.")
    delivered_on = serializers.DateField(label=_lazy("delivery date"), required=False)


class CancelPickingInputSerializer(serializers.Serializer):
    # Optional here so that the service's message names a missing reason like the web form's.
    reason = serializers.CharField(label=_lazy("reason for cancelling the picking"), required=False, allow_blank=True, default="", max_length=300)


class ShipmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Shipments from picking to delivery; ``review``, ``dispatch`` and ``confirm-delivery`` move them on, ``cancel-picking`` puts them back into stock."""

    serializer_class = ShipmentSerializer
    filterset_fields = ["order", "customer", "status"]

    def get_queryset(self):
        return (
            visible_shipments(self.request.user)
            .select_related("order", "shipped_by")
            .prefetch_related(
                "lines",
                Prefetch(
                    "reviews",
                    queryset=OutboundReview.objects.select_related("reviewer").prefetch_related(
                        Prefetch("lines", queryset=OutboundReviewLine.objects.select_related("shipment_line__product"))
                    ),
                ),
            )
            .order_by("-pk")
        )

    def _respond(self, shipment, status_code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=shipment.pk)).data, status=status_code)

    @extend_schema(request=ReviewInputSerializer, responses={201: OutboundReviewSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Record the outbound review by someone other than the picker; the shipment becomes reviewed if every line is ok."""
        shipment = self.get_object()
        serializer = ReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lines = {}
        for line in serializer.validated_data["lines"]:
            entry = dict(line)
            if entry.get("quantity") is None:
                entry.pop("quantity", None)
            lines[entry.pop("shipment_line")] = entry
        review = shipping.review_shipment(actor=request.user, shipment=shipment, lines=lines, note=serializer.validated_data["note"])
        review = OutboundReview.objects.select_related("reviewer").prefetch_related("lines").get(pk=review.pk)
        return Response(OutboundReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DispatchInputSerializer)
    @action(detail=True, methods=["post"], url_path="dispatch")
    def dispatch_shipment(self, request, pk=None):  # named apart from APIView.dispatch, which it would override
        """Hand a reviewed shipment to the carrier; creates the receivable."""
        shipment = self.get_object()
        serializer = DispatchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        shipment = shipping.dispatch_shipment(
            actor=request.user,
            shipment=shipment,
            carrier=data.get("carrier"),
            waybill_number=data.get("waybill_number"),
            dispatched_on=data.get("dispatched_on"),
        )
        return self._respond(shipment)

    @extend_schema(request=CancelPickingInputSerializer)
    @action(detail=True, methods=["post"], url_path="cancel-picking")
    def cancel_picking(self, request, pk=None):
        """Cancel a picked or reviewed shipment: its goods go back into stock and its reservations back to the order.

        The response is the shipment plus ``backordered``: one entry per lot
        that is now recalled, quarantined or expired, whose units the order
        line keeps as backorder instead of a reservation.
        """
        shipment = self.get_object()
        serializer = CancelPickingInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = shipping.cancel_picking(actor=request.user, shipment=shipment, reason=serializer.validated_data["reason"])
        data = self.get_serializer(self.get_queryset().get(pk=shipment.pk)).data
        data["backordered"] = [
            {"lot_number": lot_number, "quantity": quantity, "reason": reason} for lot_number, quantity, reason in outcome.backordered
        ]
        return Response(data)

    @extend_schema(request={"multipart/form-data": DeliveryInputSerializer})
    @action(detail=True, methods=["post"], url_path="confirm-delivery", parser_classes=[MultiPartParser, FormParser])
    def confirm_delivery(self, request, pk=None):
        """Confirm delivery with the customer's signed receipt (PDF, JPEG or PNG, at most 10 MB)."""
        shipment = self.get_object()
        serializer = DeliveryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        shipment = shipping.confirm_delivery(
            actor=request.user, shipment=shipment, signed_receipt=data.get("signed_receipt"), delivered_on=data.get("delivered_on")
        )
        return self._respond(shipment)


class StockRolePermission(BasePermission):
    """Stock control (ledger, counts, transfers) is for logistics, managers, the quality officer and finance."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.has_role(*STOCK_CONTROL_ROLES))


class LedgerEntrySerializer(serializers.ModelSerializer):
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    lot_number = serializers.CharField(source="lot.lot_number", read_only=True)
    product = serializers.IntegerField(source="lot.product_id", read_only=True)
    running_balance = serializers.IntegerField(read_only=True, help_text="Stock of the lot in the warehouse after this row.")

    class Meta:
        model = StockLedgerEntry
        fields = [
            "id", "created_at", "warehouse", "warehouse_code", "product", "lot", "lot_number", "quantity", "running_balance", "reason",
            "reference",
        ]


class LedgerViewSet(viewsets.ReadOnlyModelViewSet):
    """Stock ledger rows, newest first; filter by ``warehouse``, ``lot``, ``product``, ``reason``, ``date_from``, ``date_to``."""

    serializer_class = LedgerEntrySerializer
    permission_classes = [IsAuthenticated, StockRolePermission]
    filter_backends = []

    def get_queryset(self):
        params = self.request.query_params
        date_from = _date_or_none(params.get("date_from"), "date_from")
        date_to = _date_or_none(params.get("date_to"), "date_to")
        if date_from and date_to and date_from > date_to:
            raise InvalidInput(
                _("The end date %(to)s is before the start date %(from)s; swap the dates.")
                % {"to": date_to.isoformat(), "from": date_from.isoformat()},
                field="date_to",
            )
        entries = selectors.ledger_entries(
            warehouse=_int_or_none(params.get("warehouse")),
            lot=_int_or_none(params.get("lot")),
            product=_int_or_none(params.get("product")),
            reason=params.get("reason", ""),
            date_from=date_from,
            date_to=date_to,
        )
        return selectors.with_running_balance(entries)


def _int_or_none(value):
    return int(value) if value and value.isdigit() else None


def _date_or_none(value, field):
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        raise InvalidInput(
            _("%(field)s: “%(value)s” is not a date; use the form YYYY-MM-DD.") % {"field": field, "value": value}, field=field
        ) from None


class TransferSerializer(serializers.ModelSerializer):
    quantity = PassThroughIntegerField()

    class Meta:
        model = StockTransfer
        fields = ["id", "number", "lot", "from_warehouse", "to_warehouse", "quantity", "note", "created_at"]
        read_only_fields = ["number", "created_at"]

    def create(self, validated_data):
        return stock_control.transfer_stock(actor=self.context["request"].user, **validated_data)


class TransferViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Moves of one lot between warehouses; each writes a ledger row out and one in."""

    serializer_class = TransferSerializer
    permission_classes = [IsAuthenticated, StockRolePermission]
    queryset = StockTransfer.objects.order_by("-created_at", "-pk")


class StockCountLineSerializer(serializers.ModelSerializer):
    lot_number = serializers.CharField(source="lot.lot_number", read_only=True)
    counted_quantity = PassThroughIntegerField()

    class Meta:
        model = StockCountLine
        fields = ["lot", "lot_number", "system_quantity", "counted_quantity", "difference", "reason"]
        read_only_fields = ["system_quantity", "difference"]
        extra_kwargs = {"lot": {"queryset": Lot.objects.all()}, "reason": {"required": False}}


class StockCountSerializer(serializers.ModelSerializer):
    lines = StockCountLineSerializer(many=True)

    class Meta:
        model = StockCount
        fields = ["id", "number", "warehouse", "status", "counted_by", "counted_at", "decided_by", "decided_at", "decision_note", "lines"]
        read_only_fields = ["number", "status", "counted_by", "counted_at", "decided_by", "decided_at", "decision_note"]

    def create(self, validated_data):
        return stock_control.submit_stock_count(
            actor=self.context["request"].user, warehouse=validated_data["warehouse"], lines=[dict(line) for line in validated_data["lines"]]
        )


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class StockCountViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Stock counts; ``approve`` (by a second person) writes the differences to the ledger, ``reject`` needs a note."""

    serializer_class = StockCountSerializer
    permission_classes = [IsAuthenticated, StockRolePermission]
    filterset_fields = ["status", "warehouse"]

    def get_queryset(self):
        return StockCount.objects.prefetch_related(Prefetch("lines", queryset=StockCountLine.objects.select_related("lot"))).order_by("-counted_at", "-pk")

    def _decide(self, request, service):
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = service(actor=request.user, count=self.get_object(), note=serializer.validated_data["note"])
        return Response(self.get_serializer(self.get_queryset().get(pk=count.pk)).data)

    @extend_schema(request=DecisionSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, stock_control.approve_stock_count)

    @extend_schema(request=DecisionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, stock_control.reject_stock_count)
