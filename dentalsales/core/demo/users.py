"""Demo staff: one login per role and a sales team."""

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from dentalsales.accounts.models import Team, User
from dentalsales.accounts.roles import Role
from dentalsales.core.models import Region

DEMO_PASSWORD = "dentalsales"
TEAM_NAME = "华东销售一组"
SHANGHAI = "31"

# username, family name, given name, role
DEMO_USERS = [
    ("admin", "系统", "管理员", Role.ADMINISTRATOR),
    ("manager", "陈", "志强", Role.MANAGER),
    ("supervisor", "李", "明华", Role.SUPERVISOR),
    ("rep", "张", "伟", Role.REPRESENTATIVE),
    ("rep2", "刘", "洋", Role.REPRESENTATIVE),
    ("logistics", "赵", "磊", Role.LOGISTICS),
    ("finance", "周", "静", Role.FINANCE),
    ("quality", "吴", "敏", Role.QUALITY_OFFICER),
]


def create_users():
    """Create the demo users and the team; return {username: User}."""
    # One hash for all: hashing is deliberately slow and every demo login
    # shares the same published password anyway.
    password = make_password(DEMO_PASSWORD)
    groups = {group.name: group for group in Group.objects.filter(name__in=[role.value for *_, role in DEMO_USERS])}
    users = {}
    for username, last_name, first_name, role in DEMO_USERS:
        is_admin = role == Role.ADMINISTRATOR
        user = User.objects.create(
            username=username,
            last_name=last_name,
            first_name=first_name,
            email=f"{username}@example.com",
            password=password,
            is_staff=is_admin,
            is_superuser=is_admin,
        )
        user.groups.add(groups[role.value])
        users[username] = user

    team = Team.objects.create(
        name=TEAM_NAME, supervisor=users["supervisor"], region=Region.objects.filter(code=SHANGHAI).first()
    )
    for username in ("supervisor", "rep", "rep2"):
        users[username].team = team
        users[username].save(update_fields=["team"])
    return users
