from django.db import migrations


def install(apps, schema_editor):
    from patron.segments.presets import preset_trees
    from patron.segments.rules.catalogue import Catalogue
    from patron.segments.rules.deps import dependencies

    Segment = apps.get_model("segments", "Segment")
    catalogue = Catalogue.build()
    for row in preset_trees():
        Segment.objects.get_or_create(
            template_key=row["template_key"],
            is_template=True,
            defaults={
                "name": row["name"],
                "description": f"{row['group']}: {row['description']}",
                "rules": row["rules"],
                "depends_on": sorted(dependencies(row["rules"], catalogue)),
                "status": "ready",
            },
        )


def uninstall(apps, schema_editor):
    apps.get_model("segments", "Segment").objects.filter(is_template=True).delete()


class Migration(migrations.Migration):
    dependencies = [("segments", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
