# Model artifacts in the database: no volume shared between migrate, web and worker processes.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('predictions', '0010_quality_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='ModelArtifact',
            fields=[
                ('model_version', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='artifact', serialize=False, to='predictions.modelversion')),
                ('data', models.BinaryField(help_text='The joblib bundle, as written at registration')),
                ('size', models.PositiveIntegerField(help_text='Bytes')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
