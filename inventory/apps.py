from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from inventory.upload_kind import PHOTO
        from uploads import kinds

        kinds.register(PHOTO)
