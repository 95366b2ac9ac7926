"""Write services of the imports app (see jobs.py, rollback.py and exports.py)."""

from patron.imports.services.exports import ExportSpec, contacts_export
from patron.imports.services.jobs import (
    import_columns_to_custom_fields,
    import_job_configure,
    import_job_create,
    import_job_resume,
    import_job_run,
    import_job_start,
)
from patron.imports.services.mappings import import_mapping_delete, import_mapping_save
from patron.imports.services.preview import (
    import_job_preview,
    import_job_preview_queue,
    import_job_preview_run,
)
from patron.imports.services.rollback import import_job_rollback

__all__ = [
    "ExportSpec",
    "contacts_export",
    "import_columns_to_custom_fields",
    "import_job_configure",
    "import_job_create",
    "import_job_preview",
    "import_job_preview_queue",
    "import_job_preview_run",
    "import_job_resume",
    "import_job_rollback",
    "import_job_run",
    "import_job_start",
    "import_mapping_delete",
    "import_mapping_save",
]
