from django.urls import path

from storage_app.api.uploads import UploadDetailApi, UploadListCreateApi

urlpatterns = [
    path("", UploadListCreateApi.as_view(), name="upload-list"),
    path("<int:upload_id>/", UploadDetailApi.as_view(), name="upload-detail"),
]
