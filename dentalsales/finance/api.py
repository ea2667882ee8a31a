"""The finance API: receivables, payments, credit notes, credit releases and a customer's credit position.

Representatives, supervisors, managers, finance and administrators may
read, each within their customers; other roles get 403. Only finance and
administrators record, allocate and reverse (the services raise 403).
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dentalsales.core.api import idempotency_key_from
from dentalsales.core.api_fields import PassThroughDecimalField, PassThroughField, PassThroughIntegerField
from dentalsales.core.timeutils import local_today

from . import selectors, services
from .models import CreditNote, CreditNoteAllocation, CreditRelease, Payment, PaymentAllocation, Receivable


class FinanceReadPermission(BasePermission):
    message = gettext_lazy("Your role has no access to receivables and payments.")

    def has_permission(self, request, view):
        return selectors.can_view_finance(request.user)


@extend_schema_field(OpenApiTypes.DATE)
class PassThroughDateField(PassThroughField):
    """A date the service parses, so that its error names the value."""


class ReceivableSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    shipment = serializers.PrimaryKeyRelatedField(read_only=True)
    shipment_number = serializers.CharField(source="shipment.number", read_only=True, default=None)
    order_number = serializers.CharField(source="order.number", read_only=True, default=None)
    overdue_days = serializers.SerializerMethodField()

    class Meta:
        model = Receivable
        fields = [
            "id", "number", "customer", "customer_name", "shipment", "shipment_number", "order", "order_number",
            "invoiced_on", "due_on", "amount", "credited_amount", "paid_amount", "open_amount", "overdue_days",
        ]

    def get_overdue_days(self, receivable) -> int:
        return receivable.overdue_days()


class AllocationInputSerializer(serializers.Serializer):
    receivable = PassThroughIntegerField()
    amount = PassThroughDecimalField()


class PaymentAllocationSerializer(serializers.ModelSerializer):
    receivable_number = serializers.CharField(source="receivable.number", read_only=True)

    class Meta:
        model = PaymentAllocation
        fields = ["receivable", "receivable_number", "amount"]


class PaymentSerializer(serializers.ModelSerializer):
    customer = PassThroughIntegerField()
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    received_on = PassThroughDateField(help_text="YYYY-MM-DD, not in the future.")
    method = PassThroughField(help_text="bank_transfer, bank_acceptance, cheque, cash or online.")
    amount = PassThroughDecimalField(help_text="Yuan with at most 2 decimals, above 0.")
    allocations = PaymentAllocationSerializer(many=True, read_only=True)
    allocate = AllocationInputSerializer(
        many=True,
        write_only=True,
        required=False,
        source="allocations_input",
        help_text="Allocation by hand; leave out to settle the oldest receivables first.",
    )

    class Meta:
        model = Payment
        fields = [
            "id", "number", "customer", "customer_name", "received_on", "method", "reference", "note", "amount",
            "allocations", "allocate", "unapplied_amount", "status", "reversal_reason", "reversed_at", "created_at",
        ]
        read_only_fields = ["number", "unapplied_amount", "status", "reversal_reason", "reversed_at", "created_at"]
        extra_kwargs = {"reference": {"max_length": None}, "note": {"max_length": None}}

    def to_internal_value(self, data):
        # The contract names the hand allocation "allocations" on input too.
        if hasattr(data, "get") and "allocations" in data and "allocate" not in data:
            data = {**data, "allocate": data["allocations"]}
        return super().to_internal_value(data)

    def to_representation(self, payment):
        data = super().to_representation(payment)
        data["customer"] = payment.customer_id
        data["received_on"] = payment.received_on.isoformat()
        data["method"] = payment.method
        data["amount"] = f"{payment.amount:.2f}"
        return data

    def create(self, validated_data):
        return services.record_payment(
            idempotency_key=idempotency_key_from(self.context["request"]),
            actor=self.context["request"].user,
            customer=validated_data["customer"],
            received_on=validated_data["received_on"],
            method=validated_data["method"],
            amount=validated_data["amount"],
            reference=validated_data.get("reference", ""),
            note=validated_data.get("note", ""),
            allocations=[dict(item) for item in validated_data.get("allocations_input") or []] or None,
        )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="")


class ApplySerializer(serializers.Serializer):
    allocations = AllocationInputSerializer(many=True, required=False)


class CreditNoteAllocationSerializer(serializers.ModelSerializer):
    receivable_number = serializers.CharField(source="receivable.number", read_only=True)

    class Meta:
        model = CreditNoteAllocation
        fields = ["receivable", "receivable_number", "amount"]


class CreditNoteSerializer(serializers.ModelSerializer):
    customer = PassThroughIntegerField()
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    receivable = PassThroughIntegerField(required=False, allow_null=True)
    amount = PassThroughDecimalField()
    allocations = CreditNoteAllocationSerializer(many=True, read_only=True)

    class Meta:
        model = CreditNote
        fields = [
            "id", "number", "customer", "customer_name", "receivable", "issued_on", "amount", "unapplied_amount",
            "reason", "source_reference", "allocations", "status", "reversal_reason", "reversed_at",
        ]
        read_only_fields = ["number", "issued_on", "unapplied_amount", "status", "reversal_reason", "reversed_at"]
        extra_kwargs = {"reason": {"max_length": None, "allow_blank": True}, "source_reference": {"max_length": None}}

    def to_representation(self, credit_note):
        data = super().to_representation(credit_note)
        data["customer"] = credit_note.customer_id
        data["receivable"] = credit_note.receivable_id
        data["amount"] = f"{credit_note.amount:.2f}"
        return data

    def create(self, validated_data):
        return services.record_credit_note(
            actor=self.context["request"].user,
            customer=validated_data["customer"],
            amount=validated_data["amount"],
            reason=validated_data.get("reason", ""),
            source_reference=validated_data.get("source_reference", ""),
            receivable=validated_data.get("receivable"),
        )


class CreditReleaseSerializer(serializers.ModelSerializer):
    customer = PassThroughIntegerField()
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    valid_from = PassThroughDateField(required=False, allow_null=True, help_text="YYYY-MM-DD; default today.")
    valid_until = PassThroughDateField(help_text="YYYY-MM-DD, at most 90 days after the start.")
    granted_by = serializers.StringRelatedField(read_only=True)
    is_active = serializers.SerializerMethodField()

    class Meta:
        model = CreditRelease
        fields = [
            "id", "customer", "customer_name", "reason", "valid_from", "valid_until", "granted_by", "created_at",
            "revoked_at", "is_active",
        ]
        read_only_fields = ["created_at", "revoked_at"]
        extra_kwargs = {"reason": {"max_length": None, "allow_blank": True}}

    def get_is_active(self, release) -> bool:
        return release.is_active()

    def to_representation(self, release):
        data = super().to_representation(release)
        data["customer"] = release.customer_id
        data["valid_from"] = release.valid_from.isoformat()
        data["valid_until"] = release.valid_until.isoformat()
        return data

    def create(self, validated_data):
        return services.grant_credit_release(
            actor=self.context["request"].user,
            customer=validated_data["customer"],
            reason=validated_data.get("reason", ""),
            valid_from=validated_data.get("valid_from"),
            valid_until=validated_data["valid_until"],
        )


class _FinanceViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated, FinanceReadPermission]

    def _respond(self, instance, status_code=status.HTTP_200_OK):
        instance = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(instance).data, status=status_code)

    def _customer_filter(self, queryset):
        customer = self.request.query_params.get("customer")
        if customer:
            if not customer.isdecimal():
                raise ValidationError({"customer": [_("“%(value)s” is not a customer id.") % {"value": customer}]})
            queryset = queryset.filter(customer_id=int(customer))
        return queryset


class _CreateThroughServiceMixin:
    """Create through the serializer's service call on POST and return the stored row."""

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = serializer.save()
        # A replayed Idempotency-Key returns the first payment unchanged.
        replayed = getattr(instance, "replayed", False)
        return self._respond(instance, status.HTTP_200_OK if replayed else status.HTTP_201_CREATED)


class ReceivableViewSet(_FinanceViewSet):
    """Receivables of the customers visible to the user; ``?customer=<id>`` and ``?status=open|overdue|settled`` filter."""

    serializer_class = ReceivableSerializer

    def get_queryset(self):
        queryset = selectors.receivable_list(self.request.user, status=self.request.query_params.get("status", ""))
        return self._customer_filter(queryset)


class PaymentViewSet(_CreateThroughServiceMixin, mixins.CreateModelMixin, _FinanceViewSet):
    """Payments; POST records one (finance only; send an ``Idempotency-Key`` header so that a retry records
    nothing twice), ``{id}/reverse/`` and ``{id}/apply/`` change it."""

    serializer_class = PaymentSerializer

    def get_queryset(self):
        queryset = selectors.payment_list(self.request.user, status=self.request.query_params.get("status", ""))
        allocations = PaymentAllocation.objects.select_related("receivable").order_by("pk")
        return self._customer_filter(queryset).prefetch_related(Prefetch("allocations", queryset=allocations))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        """Reverse the payment: every receivable it settled is open again."""
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = services.reverse_payment(
            actor=request.user, payment=self.get_object(), reason=serializer.validated_data["reason"]
        )
        return self._respond(payment)

    @extend_schema(request=ApplySerializer)
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        """Allocate the unapplied amount: oldest receivables first, or ``allocations`` by hand."""
        serializer = ApplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        allocations = [dict(item) for item in serializer.validated_data.get("allocations") or []] or None
        payment = services.apply_payment(actor=request.user, payment=self.get_object(), allocations=allocations)
        return self._respond(payment)


class CreditNoteViewSet(_CreateThroughServiceMixin, mixins.CreateModelMixin, _FinanceViewSet):
    """Credit notes; POST issues one by hand (finance only), ``{id}/reverse/`` cancels it."""

    serializer_class = CreditNoteSerializer

    def get_queryset(self):
        queryset = selectors.credit_note_list(self.request.user, status=self.request.query_params.get("status", ""))
        allocations = CreditNoteAllocation.objects.select_related("receivable").order_by("pk")
        return self._customer_filter(queryset).prefetch_related(Prefetch("allocations", queryset=allocations))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        """Reverse the credit note: every receivable it reduced is open again."""
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        credit_note = services.cancel_credit_note(
            actor=request.user, credit_note=self.get_object(), reason=serializer.validated_data["reason"]
        )
        return self._respond(credit_note)


class CreditReleaseViewSet(_CreateThroughServiceMixin, mixins.CreateModelMixin, _FinanceViewSet):
    """Temporary credit releases; POST grants one (finance only), ``{id}/revoke/`` ends it."""

    serializer_class = CreditReleaseSerializer

    def get_queryset(self):
        queryset = selectors.visible_credit_releases(self.request.user).select_related("customer", "granted_by")
        return self._customer_filter(queryset).order_by("-valid_until", "-id")

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        release = services.revoke_credit_release(actor=request.user, release=self.get_object())
        return self._respond(release)


class CreditPositionSerializer(serializers.Serializer):
    credit_limit = serializers.DecimalField(max_digits=16, decimal_places=2)
    open_receivables = serializers.DecimalField(max_digits=16, decimal_places=2)
    open_orders = serializers.DecimalField(max_digits=16, decimal_places=2)
    unapplied_advances = serializers.DecimalField(max_digits=16, decimal_places=2)
    exposure = serializers.DecimalField(max_digits=16, decimal_places=2)
    available = serializers.DecimalField(max_digits=16, decimal_places=2)
    overdue_days_max = serializers.IntegerField()
    overdue_tolerance_days = serializers.IntegerField()
    credit_release_until = serializers.DateField(allow_null=True)


class CustomerCreditView(APIView):
    """The customer's credit position: exposure = open receivables + open orders − unapplied advances and credits.

    A customer the user may not see returns 404.
    """

    permission_classes = [IsAuthenticated, FinanceReadPermission]

    @extend_schema(responses=CreditPositionSerializer)
    def get(self, request, pk):
        customer = get_object_or_404(selectors.finance_customers(request.user), pk=pk)
        position = selectors.credit_position(customer)
        data = {
            **position.as_dict(),
            "overdue_tolerance_days": selectors.overdue_tolerance_days(),
            "credit_release_until": position.active_release.valid_until if position.active_release else None,
        }
        return Response(CreditPositionSerializer(data).data)


class CollectionRateView(APIView):
    """Collection rate per representative and month: posted payments received ÷ receivables falling due."""

    permission_classes = [IsAuthenticated, FinanceReadPermission]

    @extend_schema(
        parameters=[OpenApiParameter("year", OpenApiTypes.INT, required=False, description="Default: this year.")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        year_text = request.query_params.get("year") or str(local_today().year)
        if not year_text.isdecimal() or not 2000 <= int(year_text) <= 2100:
            raise ValidationError({"year": [_("“%(value)s” is not a year from 2000 to 2100.") % {"value": year_text}]})
        rows = selectors.collection_rates(request.user, year=int(year_text))
        return Response(
            {
                "year": int(year_text),
                "results": [
                    {
                        "representative": row["owner"].pk if row["owner"] else None,
                        "representative_name": str(row["owner"] or ""),
                        "due": f"{row['due']:.2f}",
                        "received": f"{row['received']:.2f}",
                        "rate": None if row["rate"] is None else f"{row['rate']:.1f}",
                        "months": [
                            {
                                "month": cell["month"],
                                "due": f"{cell['due']:.2f}",
                                "received": f"{cell['received']:.2f}",
                                "rate": None if cell["rate"] is None else f"{cell['rate']:.1f}",
                            }
                            for cell in row["months"]
                        ],
                    }
                    for row in rows
                ],
            }
        )
