from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0006_profiles"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="body_html",
            field=models.TextField(
                blank=True, default="", editable=False, verbose_name="body as HTML"
            ),
        ),
    ]
