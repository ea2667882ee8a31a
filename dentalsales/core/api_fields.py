"""Serializer fields that leave validation to the service, so the API and the screens give the same messages."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class PassThroughField(serializers.Field):
    """Accept the raw JSON value; the service checks it and names the value in its error."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.INT)
class PassThroughIntegerField(PassThroughField):
    pass


@extend_schema_field(OpenApiTypes.DECIMAL)
class PassThroughDecimalField(PassThroughField):
    pass
