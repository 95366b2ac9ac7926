from django.db import migrations


def create_workspace(apps, schema_editor):
    from patron.contacts.models import DEFAULT_LIFECYCLE_STAGES

    Workspace = apps.get_model("core", "Workspace")
    Workspace.objects.get_or_create(pk=1, defaults={"lifecycle_stages": DEFAULT_LIFECYCLE_STAGES})


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(create_workspace, migrations.RunPython.noop)]
