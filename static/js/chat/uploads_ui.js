// uploads_ui.js: files attached in the composer. They come by the paperclip button, by
// dropping them on the room (a drop zone shows while dragging) or by pasting them (an
// image copied); each shows as a chip above the input (name, size, the upload's progress,
// the refusal, × to remove) while it uploads, through XMLHttpRequest (fetch reports no
// upload progress). The queue's state and the words are attachments.js's; the composer
// (composer.js) asks this which files go with the message. All user text goes in as text.

import {
  acceptOf,
  DONE,
  FAILED,
  formatSize,
  progressOf,
  uploadErrorText,
  UploadQueue,
  UPLOADING,
} from "./attachments.js";
import { button, el, svgIcon } from "./attachments_ui.js";

const PAPERCLIP_PATH =
  "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5";
const UPLOADING_TEXT = "Wait until the files have finished uploading, then send.";
const SESSION_ENDED_TEXT = "Your session has ended: sign in again to attach files.";


/**
 * POST one file as multipart/form-data (field `file`); return {promise, abort}. The
 * promise always resolves, with {status, data, retryAfter}: status 0 when no answer came
 * (a network failure, or abort()).
 */
export function xhrUpload(url, file, { csrfToken = null, onProgress = () => {} } = {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve) => {
    const noAnswer = () => resolve({ status: 0, data: null, retryAfter: null });
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null; // an HTML page (a proxy's 413, Django's CSRF failure)
      }
      resolve({ status: xhr.status, data, retryAfter: xhr.getResponseHeader("Retry-After") });
    });
    for (const type of ["error", "abort", "timeout"]) xhr.addEventListener(type, noAnswer);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    if (csrfToken) xhr.setRequestHeader("X-CSRFToken", csrfToken);
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

function hasFiles(dataTransfer) {
  return Boolean(dataTransfer) && [...dataTransfer.types].includes("Files");
}

export class UploadsView {
  /**
   * - composer: the composer's <form>; input: its textarea; dropArea: where files may be
   *   dropped (the room's column: the timeline and the composer); dropParent: where
   *   "Drop files to attach them" shows while files are dragged there (the timeline's
   *   wrapper);
   * - limits: {uploadMax, uploadTypes, attachmentsMax}, the page's, which hello updates;
   * - uploadUrl; deleteUrl(id): where a pending upload is dropped; csrfToken();
   * - api: Api (for DELETE); onChange(): the composer redraws its Send button;
   * - upload(url, file, {csrfToken, onProgress}) -> {promise, abort}: xhrUpload.
   */
  constructor({
    composer,
    input,
    dropArea,
    dropParent,
    limits,
    uploadUrl,
    deleteUrl,
    csrfToken = () => null,
    api = null,
    onChange = () => {},
    upload = xhrUpload,
  }) {
    Object.assign(this, { composer, input, dropArea, dropParent, limits, uploadUrl });
    Object.assign(this, { deleteUrl, csrfToken, api, onChange, upload });
    this.queue = new UploadQueue({ limits, onChange: (entry, what) => this.changed(entry, what) });
    this.jobs = new Map(); // localId -> the running upload's {abort}
    this.chips = new Map(); // localId -> <li>
    this.disabled = false;
    this.dragDepth = 0;
  }

  build() {
    // The button opens the browser's file picker through this input, never shown.
    this.picker = el("input");
    this.picker.type = "file";
    this.picker.multiple = true;
    this.picker.hidden = true;
    this.picker.dataset.js = "attach-input";
    this.button = button("composer-attach");
    this.button.dataset.js = "attach";
    this.button.title = "Attach files (or drop or paste them here)";
    this.button.setAttribute("aria-label", "Attach files");
    this.button.append(svgIcon(PAPERCLIP_PATH, "composer-attach-icon"));
    this.input.before(this.button, this.picker);
    this.list = el("ul", "attachment-chips");
    this.list.dataset.js = "attachment-chips";
    this.list.setAttribute("aria-label", "Files to send");
    this.list.hidden = true;
    this.composer.prepend(this.list);
    this.dropZone = el("div", "drop-zone");
    this.dropZone.hidden = true;
    this.dropZone.append(el("p", "drop-zone-text", "Drop files to attach them"));
    this.dropParent.append(this.dropZone);
  }

  listen() {
    this.build();
    this.button.addEventListener("click", () => {
      this.picker.accept = acceptOf(this.limits.uploadTypes);
      this.picker.click();
    });
    this.picker.addEventListener("change", () => {
      this.addFiles([...this.picker.files]);
      this.picker.value = ""; // the same file may be picked again
    });
    this.input.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files ?? [])];
      if (!files.length || this.disabled) return;
      event.preventDefault(); // a pasted image is a file here, not its name as text
      this.addFiles(files);
    });
    this.list.addEventListener("click", (event) => {
      const remove = event.target.closest("button.attachment-chip-remove");
      if (remove) this.remove(Number(remove.closest("li").dataset.localId));
    });
    const area = this.dropArea;
    area.addEventListener("dragenter", (event) => {
      if (!this.accepts(event)) return;
      this.dragDepth += 1;
      this.showDropZone(true);
    });
    area.addEventListener("dragover", (event) => {
      if (!this.accepts(event)) return;
      event.dataTransfer.dropEffect = "copy";
      this.showDropZone(true);
    });
    area.addEventListener("dragleave", () => {
      this.dragDepth = Math.max(0, this.dragDepth - 1);
      if (this.dragDepth === 0) this.showDropZone(false);
    });
    area.addEventListener("drop", (event) => {
      this.dragDepth = 0;
      this.showDropZone(false);
      if (!this.accepts(event)) return;
      this.addFiles([...event.dataTransfer.files]);
      this.input.focus();
    });
    // A file dropped beside the room (the sidebar, say) would make the browser leave the
    // page, draft and outbox with it, to show the file.
    for (const type of ["dragover", "drop"]) {
      area.ownerDocument.addEventListener(type, (event) => {
        if (hasFiles(event.dataTransfer)) event.preventDefault();
      });
    }
  }

  /** Whether a drag carries files this composer takes; if so, the browser must not open them. */
  accepts(event) {
    if (this.disabled || !hasFiles(event.dataTransfer)) return false;
    event.preventDefault();
    return true;
  }

  showDropZone(shown) {
    this.dropZone.hidden = !shown;
    this.composer.classList.toggle("is-dropping", shown);
  }

  /** The composer is closed (archived, muted, lost): no files either. */
  setDisabled(disabled) {
    this.disabled = disabled;
    if (this.button) this.button.disabled = disabled;
    if (disabled) this.showDropZone(false);
  }

  /** Take files: each is checked, then uploaded, or shown refused. */
  addFiles(files) {
    if (this.disabled) return;
    for (const file of files) {
      const entry = this.queue.add(file);
      if (entry.status === UPLOADING) this.start(entry, file);
    }
  }

  start(entry, file) {
    const { localId } = entry;
    const job = this.upload(this.uploadUrl, file, {
      csrfToken: this.csrfToken(),
      onProgress: (loaded, total) => this.queue.progress(localId, loaded, total),
    });
    this.jobs.set(localId, job);
    job.promise.then(({ status, data, retryAfter }) => {
      this.jobs.delete(localId);
      if (status === 200 || status === 201) this.queue.finish(localId, data?.attachment);
      else if (status === 401) this.queue.fail(localId, SESSION_ENDED_TEXT);
      else this.queue.fail(localId, uploadErrorText(status, data, retryAfter));
    });
  }

  /** ×: stop the upload, or drop the uploaded file on the server (it was never sent). */
  remove(localId) {
    const entry = this.queue.remove(localId);
    if (!entry) return;
    this.jobs.get(localId)?.abort();
    this.jobs.delete(localId);
    if (entry.status === DONE && this.api) {
      const token = this.csrfToken();
      const headers = token ? { "X-CSRFToken": token } : {};
      // Pending uploads never sent are swept by the server anyway: a failure is no matter.
      this.api
        .request(this.deleteUrl(entry.record.id), { method: "DELETE", headers })
        .catch(() => {});
    }
    this.input.focus();
  }

  // What the composer asks.

  get uploading() {
    return this.queue.uploading;
  }

  entries() {
    return this.queue.entries;
  }

  records() {
    return this.queue.records();
  }

  /** The message went: its files are the message's now (nothing to drop on the server). */
  clear() {
    this.queue.clear();
  }

  /** Put back the files of a failed message taken back to edit. */
  adopt(records) {
    for (const record of records) this.queue.adopt(record);
  }

  notReadyText() {
    return UPLOADING_TEXT;
  }

  // --- chips ------------------------------------------------------------------------------

  changed(entry, what) {
    if (what === "add") this.addChip(entry);
    else if (what === "remove") {
      this.chips.get(entry.localId)?.remove();
      this.chips.delete(entry.localId);
    } else this.drawChip(entry);
    this.list.hidden = this.queue.size === 0;
    if (what !== "progress") this.onChange();
  }

  addChip(entry) {
    const chip = el("li", "attachment-chip");
    chip.dataset.localId = String(entry.localId);
    const name = el("span", "attachment-chip-name", entry.name);
    name.title = entry.name;
    const remove = button("attachment-chip-remove", "×");
    remove.setAttribute("aria-label", `Remove ${entry.name}`);
    remove.title = "Remove";
    chip.append(name, el("span", "attachment-chip-size", formatSize(entry.size)), remove);
    this.chips.set(entry.localId, chip);
    this.list.append(chip);
    this.drawChip(entry);
  }

  drawChip(entry) {
    const chip = this.chips.get(entry.localId);
    if (!chip) return;
    chip.dataset.status = entry.status; // for CSS and tests
    let bar = chip.querySelector("progress");
    if (entry.status === UPLOADING) {
      if (!bar) {
        bar = el("progress", "attachment-chip-progress");
        bar.max = 1;
        bar.setAttribute("aria-label", `Uploading ${entry.name}`);
        chip.querySelector(".attachment-chip-size").after(bar);
      }
      bar.value = progressOf(entry);
    } else bar?.remove();
    if (entry.status === FAILED && !chip.querySelector(".attachment-chip-reason")) {
      const reason = el("span", "attachment-chip-reason", entry.reason);
      reason.setAttribute("role", "alert");
      chip.append(reason);
    }
  }
}
