from django.shortcuts import get_object_or_404
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import selectors, services
from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "title", "body", "link", "category", "created_at", "read_at"]


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in user's own notifications, newest first; ``?unread=1`` keeps the unread ones."""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        return selectors.notifications_for(self.request.user, unread_only=self.request.query_params.get("unread") == "1")

    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = get_object_or_404(selectors.notifications_for(request.user), pk=pk)
        services.mark_read(notification=notification, actor=request.user)
        return Response(self.get_serializer(notification).data)

    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked_read": services.mark_all_read(actor=request.user)})
