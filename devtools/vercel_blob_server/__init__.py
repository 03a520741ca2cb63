"""A local Vercel Blob server for development and tests, speaking the wire protocol of Vercel's SDKs.

    server = VercelBlobServer(token="vercel_blob_rw_<storeId>_<secret>", port=0).start()
    server.api_url    # VERCEL_BLOB_API_URL, e.g. http://127.0.0.1:41234/api/blob
    server.url_base   # VERCEL_BLOB_URL_BASE, e.g. http://127.0.0.1:41234
    server.faults.fail(503, times=2)   # run-time faults: fail, rate_limit, slow, cut
    server.refuse_connections()        # and accept_connections()
    server.request_count("put")        # requests received per route
    server.stop()

Run it from the command line with `python manage.py vercel_blob_server`. What it implements and
where it departs from the real service is in docs/vercel-blob.md.
"""

from devtools.vercel_blob_server.faults import FaultPlan, FaultRule
from devtools.vercel_blob_server.server import VercelBlobServer
from devtools.vercel_blob_server.state import store_id_from_token

__all__ = ["FaultPlan", "FaultRule", "VercelBlobServer", "store_id_from_token"]
