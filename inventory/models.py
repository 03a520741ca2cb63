from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length

models.CharField.register_lookup(Length)

# The fields a client or staff member may set, in the order they are shown; the files and timestamps are
# the upload pipeline's.
EDITABLE_FIELDS = (
    "name",
    "description",
    "category",
    "material",
    "color",
    "dimensions",
    "origin_source",
    "import_cost",
    "retail_price",
    "tags",
)


class InventoryItem(models.Model):
    """A product of the business, usually with a photo (seed table `user_inventory`)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inventory_items")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=100, blank=True)
    material = models.CharField(max_length=100, blank=True)
    color = models.CharField(max_length=100, blank=True)
    dimensions = models.CharField(max_length=255, blank=True)
    origin_source = models.CharField(max_length=255, blank=True)
    import_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    retail_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    image = models.FileField(max_length=1024, blank=True, upload_to="inventory/")
    thumbnail = models.FileField(max_length=1024, blank=True, upload_to="inventory/thumbnails/")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "user_inventory"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="inventory_owner_created_idx"),
            models.Index(fields=["owner", "category"], name="inventory_owner_category_idx"),
            GinIndex(fields=["tags"], name="inventory_tags_gin"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(name__length__gt=0), name="inventory_name_not_empty"),
            models.CheckConstraint(condition=Q(import_cost__gte=0), name="inventory_import_cost_non_negative"),
            models.CheckConstraint(condition=Q(retail_price__gte=0), name="inventory_retail_price_non_negative"),
        ]

    def __str__(self) -> str:
        return self.name
