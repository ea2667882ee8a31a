"""The quotation API: entry, editing and the send, accept and lose actions."""

from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from dentalsales.core.api_fields import (
    PassThroughDecimalField,
    PassThroughField,
    PassThroughIntegerField,
)

from . import contracts, quotations
from .api import OrderSerializer, ReasonSerializer, _sees_cost
from .models import OrderChannel, Quotation, QuotationLine, SalesOrderLine


@extend_schema_field(OpenApiTypes.DATE)
class PassThroughDateField(PassThroughField):
    """A date the service parses, so that its error names the value."""


class QuotationLineSerializer(serializers.ModelSerializer):
    product = PassThroughIntegerField()
    quantity = PassThroughIntegerField()
    unit_price = PassThroughDecimalField(required=False, allow_null=True, help_text="Tax-inclusive; blank for the policy price.")
    product_name = serializers.CharField(source="product.name", read_only=True)
    specification = serializers.CharField(source="product.specification", read_only=True)
    unit = serializers.CharField(source="product.unit", read_only=True)

    class Meta:
        model = QuotationLine
        fields = [
            "id", "product", "product_name", "specification", "unit", "quantity", "unit_price", "amount",
            "tax_rate", "tax_amount", "list_price", "price_reasons",
        ]
        read_only_fields = ["amount", "tax_rate", "tax_amount", "list_price", "price_reasons"]

    def to_representation(self, line):
        data = super().to_representation(line)
        data["product"] = line.product_id
        data["quantity"] = line.quantity
        data["unit_price"] = f"{line.unit_price:.4f}"
        if _sees_cost(self.context):
            data["unit_cost"] = f"{line.unit_cost:.4f}"
        return data


class QuotationSerializer(serializers.ModelSerializer):
    lines = QuotationLineSerializer(many=True)
    customer = PassThroughIntegerField()
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    owner = serializers.PrimaryKeyRelatedField(read_only=True)
    order = serializers.PrimaryKeyRelatedField(read_only=True)
    contract = serializers.SerializerMethodField(help_text="Id of the contract made from this quotation, or null.")
    valid_until = PassThroughDateField(required=False, allow_null=True, help_text="YYYY-MM-DD; default 30 days from today.")
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Quotation
        fields = [
            "id", "number", "customer", "customer_name", "owner", "contact_name", "quotation_date", "valid_until",
            "payment_terms", "delivery_terms", "note", "status", "sent_at", "sent_to", "lost_reason", "order",
            "contract", "lines", "total_amount", "tax_amount", "allowed_actions", "created_at", "updated_at",
        ]
        read_only_fields = [
            "number", "quotation_date", "status", "sent_at", "sent_to", "lost_reason", "total_amount", "tax_amount",
            "created_at", "updated_at",
        ]
        # Length limits are checked by the service, which names the field.
        extra_kwargs = {name: {"max_length": None} for name in ("contact_name", "payment_terms", "delivery_terms")}

    def get_contract(self, quotation) -> int | None:
        # A missing reverse one-to-one raises a subclass of AttributeError, so getattr returns None.
        contract = getattr(quotation, "contract", None)
        return contract.pk if contract else None

    def get_allowed_actions(self, quotation) -> list[str]:
        return quotations.allowed_actions(quotation, self.context["request"].user)

    def to_representation(self, quotation):
        data = super().to_representation(quotation)
        data["customer"] = quotation.customer_id
        data["valid_until"] = quotation.valid_until.isoformat()
        return data

    def header(self, validated_data):
        return {name: validated_data[name] for name in quotations.HEADER_FIELDS if name in validated_data}

    def create(self, validated_data):
        return quotations.create_quotation(
            actor=self.context["request"].user,
            customer=validated_data["customer"],
            lines=[dict(line) for line in validated_data["lines"]],
            **self.header(validated_data),
        )

    def update(self, quotation, validated_data):
        lines = validated_data.get("lines")
        return quotations.update_quotation(
            actor=self.context["request"].user,
            quotation=quotation,
            lines=None if lines is None else [dict(line) for line in lines],
            **self.header(validated_data),
        )


class SendSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, default="")


class AcceptSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=OrderChannel.choices, required=False, default=OrderChannel.EMAIL)


class QuotationViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Quotations visible to the user.

    State changes are POST sub-paths. A refused change returns 400 or 409 with
    ``detail`` in the user's language, a forbidden one 403.
    """

    serializer_class = QuotationSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["status", "customer", "owner"]
    ordering_fields = ["number", "quotation_date", "valid_until", "total_amount"]

    def get_queryset(self):
        return (
            quotations.visible_quotations(self.request.user)
            .select_related("customer", "owner", "contract")
            .prefetch_related(Prefetch("lines", queryset=QuotationLine.objects.select_related("product").order_by("pk")))
            .order_by("-quotation_date", "-number")
        )

    def _respond(self, quotation, status_code=status.HTTP_200_OK):
        quotation = self.get_queryset().get(pk=quotation.pk)
        return Response(self.get_serializer(quotation).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save(), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save())

    @extend_schema(request=SendSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Mark the draft sent and e-mail it to ``email``."""
        serializer = SendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quotation = quotations.send_quotation(
            actor=request.user, quotation=self.get_object(), email=serializer.validated_data["email"]
        )
        return self._respond(quotation)

    @extend_schema(request=AcceptSerializer, responses={201: OrderSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Turn the sent quotation into a draft sales order; returns the order."""
        serializer = AcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = quotations.accept_quotation(
            actor=request.user, quotation=self.get_object(), channel=serializer.validated_data["channel"]
        )
        order = (
            type(order)
            .objects.select_related("customer", "owner")
            .prefetch_related(Prefetch("lines", queryset=SalesOrderLine.objects.select_related("product").order_by("pk")))
            .get(pk=order.pk)
        )
        return Response(OrderSerializer(order, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="accept-contract")
    def accept_contract(self, request, pk=None):
        """Turn the sent quotation into a draft contract with its lines and prices; returns the contract."""
        # Imported here because the contract API imports this module's date field.
        from .contract_api import ContractSerializer, ContractViewSet

        contract = contracts.create_contract_from_quotation(actor=request.user, quotation=self.get_object())
        contract = ContractViewSet.detail_queryset(request.user).get(pk=contract.pk)
        return Response(
            ContractSerializer(contract, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def lose(self, request, pk=None):
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quotation = quotations.mark_lost(
            actor=request.user, quotation=self.get_object(), reason=serializer.validated_data["reason"]
        )
        return self._respond(quotation)
