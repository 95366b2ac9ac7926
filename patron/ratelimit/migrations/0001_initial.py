"""Rate counters (ADR 0070). On PostgreSQL the table is UNLOGGED: a counter write then
writes no WAL, so its commit does not wait for a disk flush (the cost of a logged one
was most of the upsert's); the table is emptied after a crash, which only restarts the
current windows, and is not copied to standbys, which never serve API requests."""

from typing import Any

from django.db import migrations, models


def _logged(flag: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE ratelimit_ratecounter SET {flag}")

    return run


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("key", models.CharField(max_length=100, primary_key=True, serialize=False)),
                ("slot", models.BigIntegerField()),
                ("count", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(_logged("UNLOGGED"), _logged("LOGGED"), elidable=False),
    ]
