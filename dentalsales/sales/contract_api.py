"""The contract API: entry, review, signed copy, the other state changes and orders against a contract."""

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from dentalsales.core.api_fields import PassThroughDecimalField, PassThroughIntegerField
from dentalsales.core.errors import InvalidInput

from . import contracts
from .api import OrderSerializer, ReasonSerializer
from .models import Contract, ContractLine, OrderChannel, SalesOrder, SalesOrderLine
from .quotation_api import PassThroughDateField


class ContractLineSerializer(serializers.ModelSerializer):
    product = PassThroughIntegerField()
    quantity = PassThroughIntegerField()
    unit_price = PassThroughDecimalField(
        required=False, allow_null=True, help_text="Tax-inclusive, at most 4 decimal places; leave out for the policy price."
    )
    delivery_date = PassThroughDateField(required=False, allow_null=True, help_text="YYYY-MM-DD")
    specification = serializers.CharField(required=False, allow_blank=True, max_length=None)
    product_name = serializers.CharField(source="product.name", read_only=True)
    remaining_quantity = serializers.IntegerField(read_only=True)
    shipped_quantity = serializers.IntegerField(read_only=True)

    class Meta:
        model = ContractLine
        fields = [
            "id", "product", "product_name", "specification", "quantity", "unit_price", "amount", "delivery_date",
            "drawn_quantity", "shipped_quantity", "remaining_quantity",
        ]
        read_only_fields = ["amount", "drawn_quantity"]

    def to_representation(self, line):
        data = super().to_representation(line)
        data["product"] = line.product_id
        data["quantity"] = line.quantity
        data["unit_price"] = f"{line.unit_price:.4f}"
        data["delivery_date"] = line.delivery_date.isoformat() if line.delivery_date else None
        return data


class ContractSerializer(serializers.ModelSerializer):
    lines = ContractLineSerializer(many=True)
    customer = PassThroughIntegerField()
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    owner = serializers.PrimaryKeyRelatedField(read_only=True)
    start_date = PassThroughDateField(required=False, help_text="YYYY-MM-DD; default today.")
    end_date = PassThroughDateField(required=False, help_text="YYYY-MM-DD; default a year after today.")
    has_signed_copy = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    quotation = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id", "number", "customer", "customer_name", "owner", "status", "start_date", "end_date",
            "payment_terms", "quality_terms", "note", "lines", "total_amount", "has_signed_copy", "reviewed_by",
            "reviewed_at", "supervisor_approved_by", "supervisor_approved_at", "activated_at", "quotation",
            "rejection_reason", "termination_reason", "completion_note", "allowed_actions", "created_at", "updated_at",
        ]
        read_only_fields = [
            "number", "status", "total_amount", "reviewed_by", "reviewed_at", "supervisor_approved_by",
            "supervisor_approved_at", "activated_at", "rejection_reason", "termination_reason", "completion_note",
            "created_at",
            "updated_at",
        ]

    def get_has_signed_copy(self, contract) -> bool:
        return bool(contract.signed_copy)

    def get_allowed_actions(self, contract) -> list[str]:
        return contracts.allowed_actions(contract, self.context["request"].user)

    def to_representation(self, contract):
        data = super().to_representation(contract)
        data["customer"] = contract.customer_id
        data["start_date"] = contract.start_date.isoformat()
        data["end_date"] = contract.end_date.isoformat()
        return data

    def header(self, validated_data):
        return {name: validated_data[name] for name in contracts.HEADER_FIELDS if name in validated_data}

    def create(self, validated_data):
        return contracts.create_contract(
            actor=self.context["request"].user,
            customer=validated_data["customer"],
            lines=[dict(line) for line in validated_data["lines"]],
            **self.header(validated_data),
        )

    def update(self, contract, validated_data):
        lines = validated_data.get("lines")
        return contracts.update_contract(
            actor=self.context["request"].user,
            contract=contract,
            lines=None if lines is None else [dict(line) for line in lines],
            **self.header(validated_data),
        )


class SignedCopySerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PDF, JPEG or PNG, at most 10 MB.")


class DrawdownLineSerializer(serializers.Serializer):
    contract_line = PassThroughIntegerField()
    quantity = PassThroughIntegerField()


class DrawdownSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=OrderChannel.choices, required=False, default=OrderChannel.EMAIL)
    lines = DrawdownLineSerializer(many=True)


def _position_key(key, positions):
    """Turn ``lines[<contract line id>]`` into ``lines[<index in the request>].quantity``; leave other keys."""
    if key.startswith("lines[") and key.endswith("]"):
        line_id = key[len("lines[") : -1]
        if line_id in positions:
            return f"lines[{positions[line_id]}].quantity"
    return key


class ContractViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Sales contracts visible to the user.

    State changes are POST sub-paths. A refused change returns 400 or 409 with
    ``detail`` in the user's language, a forbidden one 403.
    """

    serializer_class = ContractSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["status", "customer", "owner"]
    ordering_fields = ["number", "start_date", "end_date", "total_amount"]

    @staticmethod
    def detail_queryset(user):
        return (
            contracts.visible_contracts(user)
            .select_related("customer", "owner")
            .prefetch_related(Prefetch("lines", queryset=contracts.lines_with_progress()))
            .order_by("-start_date", "-number")
        )

    def get_queryset(self):
        return self.detail_queryset(self.request.user)

    def _respond(self, contract, status_code=status.HTTP_200_OK):
        contract = self.get_queryset().get(pk=contract.pk)
        return Response(self.get_serializer(contract).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save(), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save())

    def _reason(self, request):
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["reason"]

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._respond(contracts.submit_contract(actor=request.user, contract=self.get_object()))

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._respond(contracts.approve_contract(actor=request.user, contract=self.get_object()))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        reason = self._reason(request)
        return self._respond(contracts.reject_contract(actor=request.user, contract=self.get_object(), reason=reason))

    @extend_schema(request={"multipart/form-data": SignedCopySerializer})
    @action(detail=True, methods=["post"], url_path="signed-copy", parser_classes=[MultiPartParser])
    def signed_copy(self, request, pk=None):
        """Attach the counter-signed scan (PDF, JPEG or PNG, at most 10 MB)."""
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": [_("Attach the signed copy as the “file” field.")]})
        return self._respond(contracts.attach_signed_copy(actor=request.user, contract=self.get_object(), upload=upload))

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        return self._respond(contracts.activate_contract(actor=request.user, contract=self.get_object()))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Close the active contract; ``reason`` is required when quantities were never ordered."""
        reason = str(request.data.get("reason") or "") if hasattr(request.data, "get") else ""
        return self._respond(contracts.complete_contract(actor=request.user, contract=self.get_object(), reason=reason))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None):
        reason = self._reason(request)
        return self._respond(contracts.terminate_contract(actor=request.user, contract=self.get_object(), reason=reason))

    @extend_schema(request=DrawdownSerializer, responses={201: OrderSerializer})
    @action(detail=True, methods=["post"])
    def orders(self, request, pk=None):
        """Enter a draft order against the active contract, drawing down its lines at the contract's prices."""
        serializer = DrawdownSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contract = self.get_object()
        quantities = {}
        positions = {}
        for index, line in enumerate(data["lines"]):
            if line["contract_line"] in quantities:
                raise serializers.ValidationError(
                    {f"lines[{index}].contract_line": [
                        _("Contract line “%(value)s” appears twice; enter its quantity once.") % {"value": line["contract_line"]}
                    ]}
                )
            quantities[line["contract_line"]] = line["quantity"]
            positions[str(line["contract_line"])] = index
        try:
            order = contracts.create_order_from_contract(
                actor=request.user, contract=contract, quantities=quantities, channel=data["channel"]
            )
        except InvalidInput as error:
            # The service names contract-line ids; API clients know the lines by their position in the request.
            error.field_errors = {
                _position_key(key, positions): messages for key, messages in (error.field_errors or {}).items()
            }
            raise
        order = (
            SalesOrder.objects.select_related("customer", "owner")
            .prefetch_related(Prefetch("lines", queryset=SalesOrderLine.objects.select_related("product").order_by("pk")))
            .get(pk=order.pk)
        )
        return Response(OrderSerializer(order, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)
