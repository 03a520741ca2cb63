from django.urls import path

from uploads.api.direct import DirectS3AbortApi, DirectS3Api, DirectS3CompleteApi, DirectTargetApi, DirectVercelApi
from uploads.api.uploads import UploadDetailApi, UploadListCreateApi

urlpatterns = [
    path("", UploadListCreateApi.as_view(), name="upload-list"),
    path("<int:upload_id>/", UploadDetailApi.as_view(), name="upload-detail"),
    path("direct/", DirectTargetApi.as_view(), name="upload-direct"),
    path("direct/vercel", DirectVercelApi.as_view(), name="upload-direct-vercel"),
    path("direct/s3", DirectS3Api.as_view(), name="upload-direct-s3"),
    path("direct/s3/<int:upload_id>/complete", DirectS3CompleteApi.as_view(), name="upload-direct-s3-complete"),
    path("direct/s3/<int:upload_id>/abort", DirectS3AbortApi.as_view(), name="upload-direct-s3-abort"),
]
