from django.db import migrations

# webhook.manage, granted to the built-in roles that have it in DEFAULT_ROLES (admin).
NEW_CODES = ("webhook.manage",)


def grant(apps, schema_editor):
    from patron.core.permissions import DEFAULT_ROLES

    Role = apps.get_model("accounts", "Role")
    for role in Role.objects.filter(key__in=list(DEFAULT_ROLES)):
        wanted = {c for c in NEW_CODES if c in DEFAULT_ROLES[role.key][1]}
        missing = wanted - set(role.permissions or [])
        if missing:
            role.permissions = sorted(set(role.permissions or []) | missing)
            role.save(update_fields=["permissions"])


def revoke(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for role in Role.objects.all():
        kept = [c for c in role.permissions or [] if c not in NEW_CODES]
        if kept != role.permissions:
            role.permissions = kept
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial"), ("accounts", "0005_segment_permissions")]
    operations = [migrations.RunPython(grant, revoke)]
