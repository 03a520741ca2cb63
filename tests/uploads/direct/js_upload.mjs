// Runs the official @vercel/blob/client upload() against the app's route and the local Vercel Blob
// server (tests/uploads/direct/test_js_client.py). argv: a JSON object {pathname, file, handleUploadUrl,
// apiToken, clientPayload, multipart, contentType, rwToken}. Prints {ok, blob} or {ok: false, name, message}.
import { readFile } from "node:fs/promises";
import { openAsBlob } from "node:fs";
import { put } from "@vercel/blob";
import { upload } from "@vercel/blob/client";

const spec = JSON.parse(process.argv[2]);
try {
  const body = spec.large ? await openAsBlob(spec.file) : await readFile(spec.file);
  const headers = spec.apiToken ? { Authorization: `Token ${spec.apiToken}` } : {};
  const started = process.hrtime.bigint();
  // With a read-write token: the raw client (put), the baseline of bench/direct.py.
  const blob = spec.rwToken
    ? await put(spec.pathname, body, { access: "public", token: spec.rwToken, multipart: Boolean(spec.multipart) })
    : await upload(spec.pathname, body, {
    access: "public",
    handleUploadUrl: spec.handleUploadUrl,
    clientPayload: spec.clientPayload,
    headers,
    multipart: Boolean(spec.multipart),
    contentType: spec.contentType,
    });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ ok: true, blob, seconds }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, name: error.constructor.name, message: String(error.message) }));
}
