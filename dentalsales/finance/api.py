"""The finance API: receivables, payments, credit notes, credit releases and a customer's credit position.

Representatives, supervisors, managers, finance and administrators may
read, each within their customers (the web pages apply the same rule);
other roles get 403. Only finance and administrators record, allocate and
reverse (the services raise 403).
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dentalsales.core.api import idempotency_key_from
from dentalsales.core.api_fields import PassThroughDecimalField, PassThroughField, PassThroughIntegerField
from dentalsales.core.errors import InvalidInput
from dentalsales.core.timeutils import local_today

from . import opening_balances, selectors, services
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
            "id", "number", "customer", "customer_name", "representative", "shipment", "shipment_number", "order",
            "order_number", "reference", "invoiced_on", "due_on", "amount", "credited_amount", "paid_amount",
            "open_amount", "overdue_days", "note",
        ]

    def get_overdue_days(self, receivable) -> int:
        return receivable.overdue_days()


class OpeningBalanceSerializer(serializers.Serializer):
    customer = PassThroughIntegerField()
    amount = PassThroughDecimalField(help_text="Open amount in yuan with at most 2 decimals, above 0.")
    reference = serializers.CharField(
        allow_blank=True, help_text="Invoice or voucher number in the earlier system; unique per customer."
    )
    invoiced_on = PassThroughDateField(help_text="YYYY-MM-DD, not in the future.")
    due_on = PassThroughDateField(
        required=False, allow_null=True, help_text="YYYY-MM-DD; default the invoice date plus the customer's payment terms."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


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
            "revoked_at", "revocation_reason", "is_active",
        ]
        read_only_fields = ["created_at", "revoked_at", "revocation_reason"]
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


CUSTOMER_PARAMETER = OpenApiParameter("customer", OpenApiTypes.INT, required=False, description="Only this customer's rows (customer id).")
STATUS_PARAMETER = OpenApiParameter("status", OpenApiTypes.STR, required=False, description="posted or reversed.")
UNAPPLIED_PARAMETER = OpenApiParameter(
    "unapplied", OpenApiTypes.BOOL, required=False, description="true: only posted documents with an unapplied amount."
)


def _search_parameter(description):
    return OpenApiParameter("search", OpenApiTypes.STR, required=False, description=description)


def _rename_allocation_errors(error, name):
    """Return ``error`` with its ``allocations[i].<field>`` keys named after the request's field ``name``."""
    if not isinstance(error, InvalidInput) or name == "allocations":
        return error
    renamed = {}
    for key, messages in error.field_errors.items():
        if key == "allocations" or key.startswith("allocations["):
            key = name + key.removeprefix("allocations")
        renamed[key] = messages
    error.field_errors = renamed
    return error


def _flatten_allocation_errors(detail, name):
    """Turn DRF's nested ``{name: [{field: [..]}, ..]}`` errors into ``{"name[i].field": [..]}``; keep "detail"."""
    if not isinstance(detail, dict) or not isinstance(detail.get(name), (list, dict)):
        return detail
    flat = {key: value for key, value in detail.items() if key != name}
    nested = detail[name]
    # DRF gives a list per position, or a dict keyed by the positions that failed.
    items = nested.items() if isinstance(nested, dict) else enumerate(nested)
    for index, item in items:
        if isinstance(item, dict):
            for field, messages in item.items():
                flat[f"{name}[{index}].{field}"] = messages
        elif item:
            flat.setdefault(name, []).append(item)
    return flat


class _FinanceViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated, FinanceReadPermission]
    # The selectors search; DRF's SearchFilter would add nothing.
    filter_backends = []

    def _search(self):
        return (self.request.query_params.get("search") or "").strip()[:100]

    def _unapplied(self):
        return (self.request.query_params.get("unapplied") or "").lower() in ("1", "true", "yes")

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


@extend_schema_view(
    list=extend_schema(
        parameters=[
            CUSTOMER_PARAMETER,
            OpenApiParameter("status", OpenApiTypes.STR, required=False, description="open, overdue or settled; default all."),
            _search_parameter("Part of the receivable number, the invoice or reference, or the customer's code or name."),
        ]
    )
)
class ReceivableViewSet(_FinanceViewSet):
    """Receivables of the customers visible to the user; ``?customer=<id>``, ``?status=open|overdue|settled`` and
    ``?search=`` filter.

    ``opening-balances/`` enters an opening balance (finance only).
    """

    serializer_class = ReceivableSerializer

    def get_queryset(self):
        queryset = selectors.receivable_list(
            self.request.user, status=self.request.query_params.get("status", ""), search=self._search()
        )
        return self._customer_filter(queryset)

    @extend_schema(request=OpeningBalanceSerializer, responses={201: ReceivableSerializer})
    @action(detail=False, methods=["post"], url_path="opening-balances")
    def opening_balances(self, request):
        """Enter an opening balance taken over from an earlier system (finance only)."""
        serializer = OpeningBalanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        receivable = opening_balances.create_opening_receivable(
            actor=request.user,
            customer=data["customer"],
            amount=data["amount"],
            reference=data["reference"],
            invoiced_on=data["invoiced_on"],
            due_on=data.get("due_on"),
            note=data.get("note", ""),
        )
        return Response(ReceivableSerializer(receivable).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            CUSTOMER_PARAMETER,
            STATUS_PARAMETER,
            UNAPPLIED_PARAMETER,
            _search_parameter("Part of the payment number, the reference, or the customer's code or name."),
        ]
    )
)
class PaymentViewSet(_CreateThroughServiceMixin, mixins.CreateModelMixin, _FinanceViewSet):
    """Payments of the customers visible to the user (representatives and supervisors read only).

    POST records one (finance only; send an ``Idempotency-Key`` header so
    that a retry records nothing twice); ``{id}/reverse/`` and
    ``{id}/apply/`` change it. Errors of a hand allocation are keyed by the
    field the request used and the position in it: ``allocate[0].amount``
    (or ``allocations[0].amount``).
    """

    serializer_class = PaymentSerializer

    def get_queryset(self):
        queryset = selectors.payment_list(
            self.request.user,
            status=self.request.query_params.get("status", ""),
            search=self._search(),
            unapplied=self._unapplied(),
        )
        allocations = PaymentAllocation.objects.select_related("receivable").order_by("pk")
        return self._customer_filter(queryset).prefetch_related(Prefetch("allocations", queryset=allocations))

    def create(self, request, *args, **kwargs):
        name = "allocations" if hasattr(request.data, "get") and "allocations" in request.data and "allocate" not in request.data else "allocate"
        try:
            return super().create(request, *args, **kwargs)
        except ValidationError as error:
            detail = _flatten_allocation_errors(error.detail, "allocate")
            if name != "allocate" and isinstance(detail, dict):
                detail = {(name + key.removeprefix("allocate") if key.startswith("allocate") else key): value for key, value in detail.items()}
            raise ValidationError(detail) from None
        except InvalidInput as error:
            raise _rename_allocation_errors(error, name) from None

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


@extend_schema_view(
    list=extend_schema(
        parameters=[
            CUSTOMER_PARAMETER,
            STATUS_PARAMETER,
            UNAPPLIED_PARAMETER,
            _search_parameter("Part of the credit note, receivable or source document number, or the customer's code or name."),
        ]
    )
)

class CreditNoteViewSet(_CreateThroughServiceMixin, mixins.CreateModelMixin, _FinanceViewSet):
    """Credit notes; POST issues one by hand (finance only), ``{id}/apply/`` allocates its unapplied amount,
    ``{id}/reverse/`` cancels it."""

    serializer_class = CreditNoteSerializer

    def get_queryset(self):
        queryset = selectors.credit_note_list(
            self.request.user,
            status=self.request.query_params.get("status", ""),
            search=self._search(),
            unapplied=self._unapplied(),
        )
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

    @extend_schema(request=ApplySerializer)
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        """Allocate the unapplied amount: oldest receivables first, or ``allocations`` by hand.

        409 ``nothing_to_apply`` when the customer has no open receivable.
        """
        serializer = ApplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        allocations = [dict(item) for item in serializer.validated_data.get("allocations") or []] or None
        credit_note = services.apply_credit_note(actor=request.user, credit_note=self.get_object(), allocations=allocations)
        return self._respond(credit_note)


class CreditReleaseViewSet(_CreateThroughServiceMixin, mixins.CreateModelMixin, _FinanceViewSet):
    """Temporary credit releases; POST grants one (finance only; 409 ``release_exists`` while another overlaps),
    ``{id}/revoke/`` ends it with a ``reason``."""

    serializer_class = CreditReleaseSerializer

    def get_queryset(self):
        queryset = selectors.visible_credit_releases(self.request.user).select_related("customer", "granted_by")
        return self._customer_filter(queryset).order_by("-valid_until", "-id")

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        release = services.revoke_credit_release(
            actor=request.user, release=self.get_object(), reason=serializer.validated_data["reason"]
        )
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
    """Collection rate per representative and month: collected ÷ to collect (see the user guide).

    To collect in month M: receivables due by the end of M, each with what was still owed at the start of M
    (amount − credit notes − payments applied before M). Collected: payments applied to them during M.
    ``due`` is to collect and ``received`` collected.
    """

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
