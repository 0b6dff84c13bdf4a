"""Copy the artifact files of versions registered before 0012 into the database.

A version whose file is not under MODEL_ARTIFACT_DIR here, or does not hash to the version's
sha256, is left alone: it loads from its file as before, where the file is, and
`manage.py store_artifacts` copies it in later. One file is read at a time (a few MB each).
"""

import hashlib
from pathlib import Path

from django.conf import settings
from django.db import migrations


def copy_artifact_files(apps, schema_editor):
    ModelVersion = apps.get_model("predictions", "ModelVersion")
    ModelArtifact = apps.get_model("predictions", "ModelArtifact")
    versions = ModelVersion.objects.filter(artifact__isnull=True).only("pk", "artifact_path", "sha256")
    for version in versions.order_by("version"):
        try:
            data = (Path(settings.MODEL_ARTIFACT_DIR) / version.artifact_path).read_bytes()
        except OSError:  # missing, or a directory we may not read: leave it to its file
            continue
        if hashlib.sha256(data).hexdigest() == version.sha256:
            ModelArtifact.objects.create(model_version=version, data=data, size=len(data))


class Migration(migrations.Migration):

    dependencies = [
        ('predictions', '0011_model_artifact'),
    ]

    operations = [
        # Reversing keeps the rows: 0012's reversal drops them with the table, and the files stay.
        migrations.RunPython(copy_artifact_files, migrations.RunPython.noop),
    ]
