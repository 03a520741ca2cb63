from django.urls import path

from uploads.api.uploads import UploadDetailApi, UploadListCreateApi

urlpatterns = [
    path("", UploadListCreateApi.as_view(), name="upload-list"),
    path("<int:upload_id>/", UploadDetailApi.as_view(), name="upload-detail"),
]
