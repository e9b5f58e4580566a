// attachments_ui.js: a message's files on the page. Images show as thumbnails drawn at
// their thumbnail's size (nothing jumps as they load) that open full size in a viewer (a
// modal <dialog>); other files as a card (name, size, type) that downloads. The records
// are checked by attachments.js; all user text goes in as text. Files being attached in
// the composer are uploads_ui.js's.

import { attachmentsOf, formatSize, thumbnailBox, typeLabel } from "./attachments.js";

const SVG_NS = "http://www.w3.org/2000/svg";
// Drawn, not emoji: a system without an emoji font would show an empty box.
const DOCUMENT_PATH = "M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8zM14 3v5h5";

/** An element with a class and, optionally, text (never HTML); uploads_ui.js's too. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(className, text) {
  const node = el("button", className, text);
  node.type = "button";
  return node;
}

/** An outline icon (24×24, stroked in the text's colour by app.css), hidden from readers. */
export function svgIcon(pathData, className) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", className);
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", pathData);
  svg.append(path);
  return svg;
}

/** "48 KB · PNG image": what a file card and a chip say under the name. */
function sizeAndType(record) {
  return [formatSize(record.size), typeLabel(record)].filter(Boolean).join(" · ");
}

// --- in a message -----------------------------------------------------------------------

function imageLink(record, box) {
  const link = el("a", "attachment-image");
  link.href = record.url;
  link.dataset.name = record.name;
  if (record.width && record.height) {
    link.dataset.width = String(record.width);
    link.dataset.height = String(record.height);
  }
  link.title = `${record.name} (${sizeAndType(record)}): open full size`;
  const img = el("img", "attachment-thumbnail");
  img.src = box.src;
  img.width = box.width;
  img.height = box.height;
  img.alt = record.name;
  img.loading = "lazy";
  img.decoding = "async";
  link.append(img);
  return link;
}

function fileCard(record) {
  const link = el("a", "attachment-file");
  link.href = record.url;
  link.download = record.name; // the server says "attachment" too; this names the file
  link.title = `Download ${record.name}`;
  const icon = svgIcon(DOCUMENT_PATH, "attachment-file-icon");
  const text = el("span", "attachment-file-text");
  text.append(el("span", "attachment-name", record.name));
  text.append(el("span", "attachment-meta", sizeAndType(record)));
  link.append(icon, text);
  return link;
}

/**
 * A message's files, under its body, or null when it has none: images as thumbnails
 * (a link to the original, which the viewer opens), other files as download cards.
 * templates/chat/room_detail.html renders the same list for readers without JavaScript.
 */
export function attachmentList(msg) {
  const records = attachmentsOf(msg);
  if (!records.length) return null;
  const list = el("ul", "attachments");
  list.setAttribute("aria-label", records.length === 1 ? "Attachment" : "Attachments");
  for (const record of records) {
    const box = thumbnailBox(record);
    const item = el("li", box ? "attachment is-image" : "attachment is-file");
    item.append(box ? imageLink(record, box) : fileCard(record));
    list.append(item);
  }
  return list;
}

/**
 * An image full size in a modal <dialog>: its name, a link that opens the original, one
 * that downloads it, and ×. Escape (the dialog's own cancel), × or a click beside the
 * image closes it; the focus then goes back to the thumbnail.
 */
export class AttachmentViewer {
  constructor({ doc = document } = {}) {
    this.doc = doc;
    this.dialog = null; // built on first use
  }

  /** Open the viewer from a click on a thumbnail in `list` (the timeline's <ol>). */
  listen(list) {
    list.addEventListener("click", (event) => {
      const link = event.target.closest("a.attachment-image");
      // A modified click (new tab, download) does what the reader asked of the link.
      if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      this.open(link);
    });
  }

  build() {
    const dialog = el("dialog", "attachment-viewer");
    dialog.setAttribute("aria-labelledby", "attachment-viewer-name");
    const head = el("div", "attachment-viewer-head");
    this.name = el("h2", "attachment-viewer-name");
    this.name.id = "attachment-viewer-name";
    this.openLink = el("a", "btn btn-ghost btn-sm", "Open original");
    this.openLink.target = "_blank";
    this.openLink.rel = "noopener";
    this.downloadLink = el("a", "btn btn-ghost btn-sm", "Download");
    const close = button("attachment-viewer-close", "×");
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", () => dialog.close());
    head.append(this.name, this.openLink, this.downloadLink, close);
    this.image = el("img", "attachment-viewer-image");
    const frame = el("div", "attachment-viewer-frame");
    frame.append(this.image);
    dialog.append(head, frame);
    // A click on the dim area around the image (the dialog or its frame) closes it.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog || event.target === frame) dialog.close();
    });
    dialog.addEventListener("close", () => this.opener?.focus());
    this.doc.body.append(dialog);
    return dialog;
  }

  /** Show the image a thumbnail's link points to. */
  open(link) {
    if (!this.dialog) this.dialog = this.build();
    this.opener = link;
    const name = link.dataset.name || link.querySelector("img")?.alt || "";
    this.name.textContent = name;
    this.image.alt = name;
    this.image.removeAttribute("width");
    this.image.removeAttribute("height");
    // Its size is known before it loads: the dialog does not jump either.
    if (link.dataset.width && link.dataset.height) {
      this.image.width = Number(link.dataset.width);
      this.image.height = Number(link.dataset.height);
    }
    const url = link.getAttribute("href"); // the path, as the record gave it
    this.image.src = url;
    this.openLink.href = url;
    this.downloadLink.href = url;
    this.downloadLink.download = name;
    if (!this.dialog.open) this.dialog.showModal();
  }
}
