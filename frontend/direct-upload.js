// The upload page's script (uploads/templates/uploads/upload.html), bundled with @vercel/blob/client
// by `npm run build` into uploads/static/uploads/direct-upload.js (committed; no CDN at run time).
// Each file goes straight to the store the server names (GET /api/uploads/direct/): Vercel Blob
// through upload() and the app's handleUpload route, S3 through presigned URLs, or, when only local
// storage is left, POST /api/uploads/. Each row shows its progress, then its result.
import { upload } from "@vercel/blob/client";

const config = globalThis.instantoryUpload;
const MULTIPART_OVER = 8 * 1024 * 1024;

function api(path, options = {}) {
  const headers = { "X-CSRFToken": config.csrf, ...(options.headers || {}) };
  return fetch(path, { credentials: "same-origin", ...options, headers });
}

function randomKey() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return "k" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function safeName(name) {
  return name.replace(/[^\w\s.()\-+,&@'=]/gu, "_").replace(/\s+/g, " ").trim().replace(/^[ .]+|[ .]+$/g, "") || "file";
}

function kindOf(file) {
  return file.type.startsWith("image/") ? "image" : "document";
}

function put(url, body, headers, onProgress) {
  // XMLHttpRequest: fetch() reports no upload progress.
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers || {})) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => (xhr.status < 300 ? resolve(xhr) : reject(new Error(`S3 answered ${xhr.status}`)));
    xhr.onerror = () => reject(new Error("S3 could not be reached"));
    xhr.send(body);
  });
}

async function viaVercel(file, kind, progress) {
  const pathname = `${config.folders[kind]}${randomKey()}/${safeName(file.name)}`;
  const blob = await upload(pathname, file, {
    access: config.access,
    handleUploadUrl: "/api/uploads/direct/vercel",
    clientPayload: JSON.stringify({ kind }),
    headers: { "X-CSRFToken": config.csrf },
    multipart: file.size > MULTIPART_OVER,
    onUploadProgress: ({ loaded }) => progress(loaded),
  });
  return { pathname: blob.pathname };
}

async function viaS3(file, kind, progress) {
  const started = await api("/api/uploads/direct/s3", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ filename: file.name, size: file.size, content_type: file.type, kind }),
  });
  const plan = await started.json();
  if (!started.ok) throw new Error(plan.error ? plan.error.message : "refused");
  let parts;
  if (plan.put) {
    await put(plan.put.url, file, plan.put.headers, progress);
  } else {
    const size = plan.multipart.part_size;
    const sent = new Array(plan.multipart.part_urls.length).fill(0);
    parts = await Promise.all(
      plan.multipart.part_urls.map(async (url, index) => {
        const xhr = await put(url, file.slice(index * size, (index + 1) * size), {}, (loaded) => {
          sent[index] = loaded;
          progress(sent.reduce((a, b) => a + b, 0));
        });
        return { part_number: index + 1, etag: xhr.getResponseHeader("ETag") };
      }),
    );
  }
  const done = await api(plan.complete_url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ parts }),
  });
  if (!done.ok) throw new Error((await done.json()).error.message);
  return { upload: plan.upload };
}

function viaServer(file, kind, progress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("file", file);
    form.append("kind", kind);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/uploads/");
    xhr.setRequestHeader("X-CSRFToken", config.csrf);
    xhr.upload.onprogress = (event) => progress(event.loaded);
    xhr.onload = () => {
      const body = JSON.parse(xhr.responseText || "{}");
      if (xhr.status < 300) resolve({ upload: body.id });
      else reject(new Error(JSON.stringify(body)));
    };
    xhr.onerror = () => reject(new Error("the server could not be reached"));
    xhr.send(form);
  });
}

async function finished(sent) {
  // The row, once it leaves awaiting_upload/pending/processing.
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const query = sent.upload ? `/api/uploads/${sent.upload}/` : null;
    const url = query || `/api/uploads/direct/vercel?pathname=${encodeURIComponent(sent.pathname)}`;
    const answer = await api(url);
    const row = answer.ok ? await answer.json() : null;
    if (row && (row.status === "complete" || row.status === "error")) return row;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error("the upload did not finish");
}

async function send(file, list) {
  const row = document.createElement("li");
  row.className = "upload";
  row.innerHTML = '<span class="name"></span> <progress max="100" value="0"></progress> <span class="state">waiting</span>';
  row.querySelector(".name").textContent = file.name;
  list.append(row);
  const bar = row.querySelector("progress");
  const state = row.querySelector(".state");
  const progress = (loaded) => {
    row.dataset.progressEvents = String(Number(row.dataset.progressEvents || 0) + 1);
    bar.value = Math.min(100, Math.round((loaded / Math.max(file.size, 1)) * 100));
  };
  const kind = kindOf(file);
  try {
    const target = await (await api("/api/uploads/direct/")).json();
    row.dataset.backend = target.backend;
    state.textContent = `uploading to ${target.backend}`;
    let sent;
    if (target.backend === "server") sent = await viaServer(file, kind, progress);
    else if (target.url.endsWith("/s3")) sent = await viaS3(file, kind, progress);
    else sent = await viaVercel(file, kind, progress);
    bar.value = 100;
    state.textContent = "processing";
    const result = await finished(sent);
    row.dataset.status = result.status;
    state.textContent = result.status === "complete" ? "done" : `refused: ${result.last_error}`;
    if (result.status === "complete") {
      const link = document.createElement("a");
      if (result.inventory_item) {
        link.href = `/api/inventory/${result.inventory_item}/`;
        link.textContent = "item";
        const thumb = document.createElement("img");
        thumb.className = "thumbnail";
        thumb.alt = `thumbnail of ${file.name}`;
        thumb.src = `/api/inventory/${result.inventory_item}/thumbnail`;
        row.append(" ", thumb);
      } else {
        link.href = `/api/documents/${result.document}/`;
        link.textContent = "document";
      }
      row.append(" ", link);
    }
  } catch (error) {
    row.dataset.status = "error";
    state.textContent = `failed: ${error.message}`;
  }
}

function start() {
  const input = document.getElementById("files");
  const zone = document.getElementById("drop-zone");
  const list = document.getElementById("uploads");
  const take = (files) => Array.from(files).forEach((file) => send(file, list));
  input.addEventListener("change", () => take(input.files));
  zone.addEventListener("dragover", (event) => event.preventDefault());
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    take(event.dataTransfer.files);
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
