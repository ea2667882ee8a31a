from .models import Notification


def notifications_for(user, *, unread_only=False):
    queryset = Notification.objects.filter(recipient=user)
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset


def unread_count(user):
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
