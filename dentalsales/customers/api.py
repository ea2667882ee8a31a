from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from django.shortcuts import get_object_or_404
from django.urls import reverse
from rest_framework.fields import empty
from rest_framework import mixins, serializers, viewsets
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from dentalsales.accounts.models import User
from dentalsales.catalog.models import Category
from dentalsales.core.errors import DomainError
from dentalsales.core.models import Region
from dentalsales.crm.models import ProspectSource
from dentalsales.crm.services import log_export

from . import grading, services
from .models import Contact, Customer, CustomerDocument, DeliveryAddress, Qualification, QualificationKind
from .selectors import can_export_contacts, search_customers, visible_contacts, visible_customers


class CustomerNotFoundMixin:
    """Answer 404, not 400, when a service reports the customer or row as not found.

    Services raise ``InvalidInput`` with code ``not_found`` for a customer the
    user may not see; to the API that is the same as a customer that does
    not exist, so neither reveals which customers exist.
    """

    def handle_exception(self, exc):
        if isinstance(exc, DomainError) and exc.code == "not_found":
            exc = NotFound(str(exc))
        return super().handle_exception(exc)


def customer_filter_id(request):
    """Return the id in ``?customer=``, or None without one.

    Raises ``ValidationError`` for text that is not an id, and ``NotFound``
    for a customer the user may not see or that does not exist.
    """
    customer = request.query_params.get("customer", "")
    if not customer:
        return None
    if not customer.isdigit():
        raise ValidationError({"customer": [_("“%(value)s” is not a customer id.") % {"value": customer}]})
    if not visible_customers(request.user).filter(pk=int(customer)).exists():
        raise NotFound(_("Customer %(value)s not found.") % {"value": customer})
    return int(customer)


class CustomerReferenceField(serializers.PrimaryKeyRelatedField):
    """The id of the customer a row belongs to; an unknown id is a 404, like a customer the user may not see."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Customer.objects.all())
        super().__init__(**kwargs)

    def fail(self, key, **kwargs):
        if key == "does_not_exist":
            raise NotFound(_("Customer %(value)s not found.") % {"value": kwargs.get("pk_value")})
        super().fail(key, **kwargs)


class QualificationSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=QualificationKind.choices)
    device_classes = serializers.ListField(child=serializers.ChoiceField(choices=["I", "II", "III"]), required=False)
    categories = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), many=True, required=False)
    verified_by_name = serializers.CharField(source="verified_by.display_name", read_only=True, default="")
    scan = serializers.SerializerMethodField(help_text="URL of the scan, served only to users who may see the customer; null without a scan.")

    class Meta:
        model = Qualification
        fields = [
            "id", "kind", "number", "issuing_authority", "valid_until", "device_classes", "categories", "covers_drugs",
            "scan", "verification_status", "verified_by", "verified_by_name", "verified_at", "verification_note",
        ]
        read_only_fields = ["verification_status", "verified_by", "verified_at", "verification_note"]

    def get_scan(self, qualification) -> str | None:
        if not qualification.scan:
            return None
        return _absolute(self.context.get("request"), reverse(
            "customers:qualification_scan", args=[qualification.customer_id, qualification.pk]
        ))


def _absolute(request, path):
    return request.build_absolute_uri(path) if request is not None else path


class ExplicitBooleanField(serializers.BooleanField):
    """A boolean that must be given, in JSON and in form data alike (a form leaves an unticked box out)."""

    default_empty_html = empty


class VerificationSerializer(serializers.Serializer):
    """The quality officer's decision on a qualification waiting for verification."""

    approve = ExplicitBooleanField(
        help_text="true to verify, false to reject; required, so that an empty request decides nothing.",
        error_messages={"required": gettext_lazy("Give approve: true to verify the qualification or false to reject it.")},
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=300, help_text="Required when rejecting: what is wrong."
    )


class GradeSerializer(serializers.Serializer):
    category = serializers.CharField()
    grade = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(max_length=300)


class CustomerSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)
    owner_name = serializers.CharField(source="owner.display_name", read_only=True)
    region = serializers.SlugRelatedField(
        slug_field="code", queryset=Region.objects.all(), required=False, allow_null=True,
        help_text="Six-, four- or two-digit National Bureau of Statistics code.",
    )
    region_name = serializers.CharField(source="region.full_name", read_only=True, default="")
    qualifications = QualificationSerializer(many=True, required=False)
    code = serializers.CharField(required=False, allow_blank=True, max_length=30)
    grade_reason = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=300,
        help_text="Why the category or grade changes; required on update when either changes (supervisors and managers only).",
    )
    prospect_source = serializers.ChoiceField(
        choices=ProspectSource.choices, write_only=True, required=False,
        help_text="Where a potential customer came from; its pipeline record is opened with it. Default: other.",
    )
    prospect_source_detail = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=200)
    allow_duplicate_name = serializers.BooleanField(
        write_only=True, required=False, default=False,
        help_text="On creation, true accepts a name that matches another customer's; otherwise such a name is refused with the other customer's code.",
    )

    class Meta:
        model = Customer
        fields = [
            "id", "code", "name", "customer_type", "category", "grade", "owner", "owner_name", "region", "region_name",
            "address", "contact_name", "contact_phone", "credit_limit", "payment_terms_days", "min_shelf_life_days",
            "uscc", "uscc_override_reason", "is_active", "qualifications", "created_at", "updated_at",
            "grade_reason", "prospect_source", "prospect_source_detail", "allow_duplicate_name",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"uscc": {"validators": []}}

    def create(self, validated_data):
        validated_data.pop("grade_reason", None)
        return services.create_customer(actor=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        for name in ("code", "prospect_source", "prospect_source_detail", "allow_duplicate_name"):
            validated_data.pop(name, None)
        return services.update_customer(actor=self.context["request"].user, customer=instance, **validated_data)


class CustomerViewSet(CustomerNotFoundMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Customers visible to the user: a representative's own, a supervisor's team's, everyone's for managers.

    ``?search=`` matches code, name, USCC, full pinyin, pinyin initials, the
    receiving contact phone or (from 4 digits) a contact's mobile number.
    """

    serializer_class = CustomerSerializer
    filterset_fields = ["customer_type", "category", "grade", "owner", "is_active"]
    ordering_fields = ["code", "name", "created_at"]
    # Search is the pinyin-aware selector below, not DRF's SearchFilter.
    filter_backends = [DjangoFilterBackend, OrderingFilter]

    def get_queryset(self):
        queryset = (
            visible_customers(self.request.user)
            .select_related("owner", "region")
            .prefetch_related(
                Prefetch("qualifications", queryset=Qualification.objects.select_related("verified_by").prefetch_related("categories").order_by("kind", "pk"))
            )
            .order_by("code")
        )
        return search_customers(queryset, self.request.query_params.get("search", ""), self.request.user)

    @extend_schema(request=QualificationSerializer(many=True), responses=CustomerSerializer)
    @action(detail=True, methods=["put"])
    def qualifications(self, request, pk=None):
        """Replace the customer's qualifications; for the quality officer, managers and administrators."""
        serializer = QualificationSerializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        customer = services.replace_qualifications(
            actor=request.user, customer=self.get_object(), qualifications=serializer.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=customer.pk)).data)

    @extend_schema(request=VerificationSerializer, responses=QualificationSerializer)
    @action(
        detail=True, methods=["post"], url_path=r"qualifications/(?P<qualification_id>[0-9]+)/verify",
        serializer_class=VerificationSerializer,
    )
    def verify_qualification(self, request, pk=None, qualification_id=None):
        """Record the quality officer's verification (首营审核): ``approve`` true or false (required), ``note`` required to reject."""
        customer = self.get_object()
        qualification = get_object_or_404(Qualification, pk=qualification_id, customer=customer)
        serializer = VerificationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        qualification = services.verify_qualification(actor=request.user, qualification=qualification, **serializer.validated_data)
        return Response(QualificationSerializer(qualification, context=self.get_serializer_context()).data)

    @extend_schema(request=GradeSerializer, responses=CustomerSerializer)
    @action(detail=True, methods=["post"])
    def grade(self, request, pk=None):
        """Set the category and grade by hand with a reason; for supervisors and managers."""
        serializer = GradeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = self.get_object()
        grading.set_grade(actor=request.user, customer=customer, **serializer.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=customer.pk)).data)


class CustomerScopedViewSet(CustomerNotFoundMixin, viewsets.ModelViewSet):
    """Rows of one kind belonging to customers; ``?customer=<id>`` narrows to one customer.

    Rows of a customer the user may not see are a 404, whether read, listed
    with ``?customer=``, created or changed.
    """

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def visible_rows(self):
        raise NotImplementedError

    def get_queryset(self):
        queryset = self.visible_rows()
        customer = customer_filter_id(self.request)
        if customer is not None:
            queryset = queryset.filter(customer_id=customer)
        return queryset

    def _customer(self, serializer):
        customer = serializer.validated_data.pop("customer", None)
        if customer is None:
            raise ValidationError({"customer": ["This field is required."]})
        return customer


class ContactSerializer(serializers.ModelSerializer):
    customer = CustomerReferenceField()
    mobile = serializers.CharField(required=False, allow_blank=True, max_length=20)
    decision_role = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        model = Contact
        fields = [
            "id", "customer", "name", "title", "department", "mobile", "phone", "email", "wechat", "birthday",
            "decision_role", "is_primary", "note", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # The service validates every field and names the value in its message.
        extra_kwargs = {"email": {"validators": []}, "name": {"required": False}}

    def to_representation(self, contact):
        data = super().to_representation(contact)
        # The year of birth is personal data that only users with the export
        # permission receive, as on the customer page.
        request = self.context.get("request")
        if contact.birthday and not (request and can_export_contacts(request.user)):
            data["birthday"] = contact.birthday.strftime("%m-%d")
        return data


class ContactViewSet(CustomerScopedViewSet):
    """Contacts of the customers whose contacts the user may see (the owner's team and managers).

    Another team's contact returns 404. The list needs ``?customer=<id>``
    unless the user has the permission to export customer contacts; such a
    bulk list is written to the export log. Without that permission the
    birthday is given as month and day (``12-01``).
    """

    serializer_class = ContactSerializer

    def visible_rows(self):
        return visible_contacts(self.request.user).order_by("customer_id", "-is_primary", "name", "pk")

    def list(self, request, *args, **kwargs):
        # Contacts are personal data: listed one customer at a time, or in
        # bulk only with the export permission, and then logged as an export.
        if customer_filter_id(request) is not None:
            return super().list(request, *args, **kwargs)
        if not can_export_contacts(request.user):
            raise PermissionDenied(
                _("Name a customer with ?customer=<id>; listing the contacts of all customers needs the permission "
                  "to export customer contacts.")
            )
        response = super().list(request, *args, **kwargs)
        rows = response.data.get("results", []) if isinstance(response.data, dict) else response.data
        log_export(request.user, "contacts api", request.query_params, len(rows))
        return response

    def perform_create(self, serializer):
        customer = self._customer(serializer)
        serializer.instance = services.create_contact(actor=self.request.user, customer=customer, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.validated_data.pop("customer", None)
        serializer.instance = services.update_contact(
            actor=self.request.user, contact=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.delete_contact(actor=self.request.user, contact=instance)


class AddressSerializer(serializers.ModelSerializer):
    customer = CustomerReferenceField()
    region = serializers.CharField(help_text="Six-digit National Bureau of Statistics code of the district or county.")
    region_name = serializers.CharField(source="region.full_name", read_only=True)

    class Meta:
        model = DeliveryAddress
        fields = ["id", "customer", "label", "region", "region_name", "detail", "postcode", "recipient", "recipient_phone", "is_default"]
        extra_kwargs = {name: {"required": False} for name in ["detail", "recipient", "recipient_phone"]}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["region"] = instance.region.code
        return data


class AddressViewSet(CustomerScopedViewSet):
    """Delivery addresses of the customers the user may see."""

    serializer_class = AddressSerializer

    def visible_rows(self):
        return DeliveryAddress.objects.filter(customer__in=visible_customers(self.request.user)).select_related("region").order_by("customer_id", "-is_default", "pk")

    def perform_create(self, serializer):
        customer = self._customer(serializer)
        serializer.instance = services.create_address(actor=self.request.user, customer=customer, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.validated_data.pop("customer", None)
        serializer.instance = services.update_address(
            actor=self.request.user, address=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.delete_address(actor=self.request.user, address=instance)


class DocumentSerializer(serializers.ModelSerializer):
    customer = CustomerReferenceField()
    uploaded_by_name = serializers.CharField(source="uploaded_by.display_name", read_only=True)
    file = serializers.FileField(help_text="PDF, JPEG or PNG, at most 10 MB.")

    class Meta:
        model = CustomerDocument
        fields = ["id", "customer", "kind", "title", "file", "size", "uploaded_by", "uploaded_by_name", "uploaded_at"]
        read_only_fields = ["size", "uploaded_by", "uploaded_at"]
        extra_kwargs = {"title": {"required": False}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # The file is served by a view that checks the user may see the customer; MEDIA_URL serves nothing.
        data["file"] = _absolute(
            self.context.get("request"), reverse("customers:document_file", args=[instance.customer_id, instance.pk])
        )
        return data


class DocumentViewSet(CustomerScopedViewSet):
    """Documents of the customers the user may see; upload as multipart with ``customer``, ``kind``, ``title`` and ``file``."""

    serializer_class = DocumentSerializer
    parser_classes = [MultiPartParser, FormParser]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def visible_rows(self):
        return CustomerDocument.objects.filter(customer__in=visible_customers(self.request.user)).select_related("uploaded_by").order_by("-uploaded_at", "-pk")

    def perform_create(self, serializer):
        customer = self._customer(serializer)
        data = serializer.validated_data
        serializer.instance = services.upload_document(
            actor=self.request.user, customer=customer, upload=data["file"], title=data.get("title", ""), kind=data.get("kind", "other")
        )

    def perform_destroy(self, instance):
        services.delete_document(actor=self.request.user, document=instance)
