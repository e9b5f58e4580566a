// attachments.js: files sent with a message (docs/protocol.md, "Attachments"). A file is
// uploaded first (POST /api/rooms/<slug>/attachments/), which gives an attachment record;
// message.send then names the records by id. This module holds what the composer needs
// to know about its uploads (the queue), the checks made before uploading, the words for
// sizes, types and refusals, and the records read from messages. Pure: no DOM, no
// network, so node tests it; attachments_ui.js draws and uploads.

export const UPLOADING = "uploading";
export const DONE = "done";
export const FAILED = "failed";

// What the page assumes until the server says (data- attributes, then hello's limits).
export const DEFAULT_LIMITS = Object.freeze({
  uploadMax: 10 * 1024 * 1024,
  uploadTypes: [], // none listed: the server alone decides
  attachmentsMax: 10,
});

// The box a thumbnail is drawn in when the server made none (an image it did not shrink).
export const THUMBNAIL_BOX = 400;

const SIZE_UNITS = ["KB", "MB", "GB", "TB"];

/** A size for people: "812 bytes", "48 KB", "1.2 MB" (units of 1024, as Django's). */
export function formatSize(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) return "";
  const size = bytes;
  if (size < 1024) return size === 1 ? "1 byte" : `${Math.round(size)} bytes`;
  let value = size / 1024;
  let unit = 0;
  // 1023.7 KB would round to "1024 KB": say "1 MB" instead.
  while (value >= 1023.5 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value < 9.95 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${shown} ${SIZE_UNITS[unit]}`;
}

// Short names for the types people meet most; others by their file's extension.
const TYPE_LABELS = {
  "application/pdf": "PDF document",
  "application/zip": "ZIP archive",
  "application/json": "JSON file",
  "text/plain": "Text file",
  "text/csv": "CSV file",
  "text/markdown": "Markdown file",
};

/** What kind of file a record is, for its card: "PDF document", "PNG image", "DOCX file". */
export function typeLabel(record) {
  const type = String(record?.content_type ?? "").toLowerCase();
  if (TYPE_LABELS[type]) return TYPE_LABELS[type];
  const [major, minor = ""] = type.split("/");
  if (major === "image" && minor) return `${minor.replace(/^x-/, "").toUpperCase()} image`;
  const extension = /\.([A-Za-z0-9]{1,8})$/.exec(String(record?.name ?? ""))?.[1];
  if (extension) return `${extension.toUpperCase()} file`;
  return type || "File";
}

// --- records --------------------------------------------------------------------------

/**
 * Whether a URL is a path of this site ("/files/7/cat.png"): never another origin
 * ("//host", "/\host"), a scheme (javascript:, data:), or whitespace, which browsers
 * strip before parsing ("/\t/host" is "//host").
 */
export function isLocalPath(url) {
  return typeof url === "string" && /^\/(?!\/)[^\s\\\x00-\x1f\x7f]*$/.test(url);
}

const positiveInt = (value) => (Number.isInteger(value) && value > 0 ? value : null);

function thumbnailOf(value) {
  if (!value || !isLocalPath(value.url)) return null;
  const width = positiveInt(value.width);
  const height = positiveInt(value.height);
  return width && height ? { url: value.url, width, height } : null;
}

/**
 * A well-formed attachment record from anything (a frame, storage, an upload's answer,
 * a data- attribute), or null: the page draws no shape it did not check, and no URL but
 * this site's.
 */
export function attachmentOf(value) {
  if (!value || typeof value !== "object") return null;
  const { id, name, url } = value;
  if (!Number.isInteger(id) || id < 1 || typeof name !== "string" || !isLocalPath(url)) {
    return null;
  }
  const image = value.image === true;
  return {
    id,
    name: name || "file",
    size: Number.isInteger(value.size) && value.size >= 0 ? value.size : null,
    content_type: typeof value.content_type === "string" ? value.content_type : "",
    url,
    image,
    width: image ? positiveInt(value.width) : null,
    height: image ? positiveInt(value.height) : null,
    thumbnail: image ? thumbnailOf(value.thumbnail) : null,
  };
}

/** A message's attachments, well-formed ones only ([] from a server without them). */
export function attachmentsOf(msg) {
  const list = msg?.attachments;
  return Array.isArray(list) ? list.map(attachmentOf).filter(Boolean) : [];
}

/**
 * How to draw an image record small: {src, width, height}: its thumbnail, or, when the
 * server made none, the image itself scaled into THUMBNAIL_BOX; null when it is not an
 * image that can be drawn so (it gets a file card).
 */
export function thumbnailBox(record, box = THUMBNAIL_BOX) {
  if (!record?.image) return null;
  const { thumbnail, width, height } = record;
  if (thumbnail) return { src: thumbnail.url, width: thumbnail.width, height: thumbnail.height };
  if (!width || !height) return null;
  const scale = Math.min(1, box / width, box / height);
  return {
    src: record.url,
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

// --- checks before uploading ----------------------------------------------------------

// The server takes a file's type from its name's extension, not from what the browser
// says (which differs between systems: a .csv is "application/vnd.ms-excel" on some):
// chat/services/attachments.py's EXTENSION_TYPES, which this follows.
export const EXTENSION_TYPES = Object.freeze({
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  pdf: "application/pdf",
  txt: "text/plain",
  log: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
  html: "text/html",
  htm: "text/html",
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  mp4: "video/mp4",
  webm: "video/webm",
  odt: "application/vnd.oasis.opendocument.text",
  ods: "application/vnd.oasis.opendocument.spreadsheet",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
});

/** A file's type as the server will judge it: by its extension, else what the browser says. */
export function fileTypeOf(file) {
  const extension = /\.([^./\\]+)$/.exec(String(file?.name ?? ""))?.[1]?.toLowerCase();
  const known = extension && Object.hasOwn(EXTENSION_TYPES, extension);
  return known ? EXTENSION_TYPES[extension] : String(file?.type ?? "").toLowerCase();
}

/**
 * Whether a file's type is among `allowed` (MIME types; none listed: the server alone
 * decides). A file of no type known here is left to the server, which looks at it.
 */
export function typeAllowed(file, allowed) {
  if (!Array.isArray(allowed) || allowed.length === 0) return true;
  const type = fileTypeOf(file);
  if (!type) return true;
  return allowed.some((item) => String(item).trim().toLowerCase() === type);
}

/**
 * What the file picker offers (its `accept`): the allowed types and their extensions, so
 * that every system's picker knows them; "" (anything) when none are listed.
 */
export function acceptOf(allowed) {
  if (!Array.isArray(allowed) || allowed.length === 0) return "";
  const types = allowed.map((item) => String(item).trim().toLowerCase()).filter(Boolean);
  const extensions = Object.entries(EXTENSION_TYPES)
    .filter(([, type]) => types.includes(type))
    .map(([extension]) => `.${extension}`);
  return [...types, ...extensions].join(",");
}

/**
 * Why `file` ({name, size, type}) may not be uploaded now, as a sentence, or null:
 * too many files for one message (`count` are already attached), too large, or a type
 * the server does not take. limits: {uploadMax, uploadTypes, attachmentsMax}.
 */
export function refusalOf(file, limits, count = 0) {
  const { uploadMax, uploadTypes, attachmentsMax } = { ...DEFAULT_LIMITS, ...limits };
  const name = file?.name || "This file";
  if (attachmentsMax && count >= attachmentsMax) {
    const files = attachmentsMax === 1 ? "one file" : `${attachmentsMax} files`;
    return `“${name}” was not attached: a message can carry at most ${files}.`;
  }
  if (uploadMax && Number(file?.size) > uploadMax) {
    return (
      `“${name}” is too large (${formatSize(file.size)}): ` +
      `files can be at most ${formatSize(uploadMax)}.`
    );
  }
  if (!typeAllowed(file, uploadTypes)) {
    return `“${name}” cannot be attached: files of this type are not allowed here.`;
  }
  return null;
}

/**
 * What to say when the server refused an upload: its own words when it gave some (the
 * `error.detail` of its JSON), else what the status means. `status` 0: no answer at all.
 */
export function uploadErrorText(status, data = null, retryAfter = null) {
  const detail = data?.error?.detail;
  if (typeof detail === "string" && detail) return detail;
  if (status === 0) return "The upload did not reach the server; try again.";
  if (status === 413) return "The file is too large for the server.";
  if (status === 415) return "Files of this type cannot be attached.";
  if (status === 403) return "You may not attach files here (try reloading the page).";
  if (status === 404) return "This room no longer exists.";
  if (status === 429) {
    const seconds = Math.ceil(Number(retryAfter));
    return Number.isFinite(seconds) && seconds > 0
      ? `Too many uploads: try again in ${seconds} s.`
      : "Too many uploads: try again in a moment.";
  }
  return `The upload failed (the server answered ${status}); try again.`;
}

// --- the composer's uploads -----------------------------------------------------------

/**
 * Whether the composer may send: some text or at least one finished upload, and no
 * upload still running (its id is not known yet). Failed uploads do not count.
 */
export function maySend(text, entries = []) {
  if (entries.some((entry) => entry.status === UPLOADING)) return false;
  return Boolean(text) || entries.some((entry) => entry.status === DONE);
}

/**
 * The files attached in one composer, in the order they were added. Each entry is
 * {localId, name, size, type, status, loaded, total, record, reason}:
 * - "uploading": `loaded` of `total` bytes sent so far;
 * - "done": `record` is the server's attachment record (its id goes with the message);
 * - "failed": `reason` says why, as a sentence (refused here or by the server).
 * onChange(entry, what): what is "add", "progress", "done", "failed" or "remove".
 */
export class UploadQueue {
  /** limits: {uploadMax, uploadTypes, attachmentsMax}, read at each add (hello may change them). */
  constructor({ limits = DEFAULT_LIMITS, onChange = () => {} } = {}) {
    this.limits = limits;
    this.onChange = onChange;
    this.entries = [];
    this.nextId = 1;
  }

  get(localId) {
    return this.entries.find((entry) => entry.localId === localId);
  }

  get size() {
    return this.entries.length;
  }

  /** Whether an upload is still running. */
  get uploading() {
    return this.entries.some((entry) => entry.status === UPLOADING);
  }

  /** The entries that go with the message: running and finished uploads. */
  counted() {
    return this.entries.filter((entry) => entry.status !== FAILED);
  }

  /** The finished uploads' records, in order. */
  records() {
    return this.entries.filter((entry) => entry.status === DONE).map((entry) => entry.record);
  }

  ids() {
    return this.records().map((record) => record.id);
  }

  /**
   * Take a file ({name, size, type}): an entry "uploading" when it passes the checks
   * (the caller uploads it), else "failed" with the reason.
   */
  add(file) {
    const reason = refusalOf(file, this.limits, this.counted().length);
    const size = Number.isFinite(Number(file?.size)) ? Number(file.size) : 0;
    const entry = {
      localId: this.nextId++,
      name: String(file?.name || "file"),
      size,
      type: String(file?.type ?? ""),
      status: reason === null ? UPLOADING : FAILED,
      loaded: 0,
      total: size,
      record: null,
      reason,
    };
    this.entries.push(entry);
    this.onChange(entry, "add");
    return entry;
  }

  /** Put back a record uploaded before (a failed message taken back to edit). */
  adopt(value) {
    const record = attachmentOf(value);
    if (!record) return null;
    const entry = {
      localId: this.nextId++,
      name: record.name,
      size: record.size ?? 0,
      type: record.content_type,
      status: DONE,
      loaded: record.size ?? 0,
      total: record.size ?? 0,
      record,
      reason: null,
    };
    this.entries.push(entry);
    this.onChange(entry, "add");
    return entry;
  }

  /** Bytes sent so far; ignored once the upload is over. */
  progress(localId, loaded, total) {
    const entry = this.get(localId);
    if (entry?.status !== UPLOADING) return;
    if (Number.isFinite(total) && total > 0) entry.total = total;
    entry.loaded = Math.max(0, Math.min(Number(loaded) || 0, entry.total));
    this.onChange(entry, "progress");
  }

  /** The server took the file and answered with its record. */
  finish(localId, value) {
    const entry = this.get(localId);
    if (entry?.status !== UPLOADING) return entry ?? null;
    const record = attachmentOf(value);
    if (!record) {
      this.fail(localId, "The server's answer to the upload was not understood; try again.");
      return entry;
    }
    Object.assign(entry, { status: DONE, record, loaded: entry.total });
    this.onChange(entry, "done");
    return entry;
  }

  fail(localId, reason) {
    const entry = this.get(localId);
    if (entry?.status !== UPLOADING) return;
    Object.assign(entry, { status: FAILED, reason });
    this.onChange(entry, "failed");
  }

  /**
   * Drop an entry (its × was pressed); return it, so that the caller can stop its upload
   * or drop its record on the server, or null when there is none.
   */
  remove(localId) {
    const entry = this.get(localId);
    if (!entry) return null;
    this.entries = this.entries.filter((other) => other !== entry);
    this.onChange(entry, "remove");
    return entry;
  }

  /** Empty the queue (the message went: its records are the message's now). */
  clear() {
    for (const entry of [...this.entries]) this.remove(entry.localId);
  }
}

/** How far an entry's upload is, from 0 to 1. */
export function progressOf(entry) {
  if (entry.status === DONE) return 1;
  return entry.total > 0 ? Math.min(1, entry.loaded / entry.total) : 0;
}
