import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  acceptOf,
  attachmentOf,
  attachmentsOf,
  DONE,
  FAILED,
  fileTypeOf,
  formatSize,
  isLocalPath,
  maySend,
  progressOf,
  refusalOf,
  thumbnailBox,
  typeLabel,
  uploadErrorText,
  UploadQueue,
  UPLOADING,
} from "../chat/attachments.js";

const MiB = 1024 * 1024;
const LIMITS = {
  uploadMax: 10 * MiB,
  uploadTypes: ["image/png", "image/jpeg", "application/pdf", "text/plain", "text/csv"],
  attachmentsMax: 3,
};

const CAT = {
  id: 7,
  name: "cat.png",
  size: 48213,
  content_type: "image/png",
  url: "/files/7/cat.png",
  image: true,
  width: 1200,
  height: 800,
  thumbnail: { url: "/files/7/thumbnail/", width: 400, height: 267 },
};
const PDF = {
  id: 8,
  name: "plan.pdf",
  size: 1258291,
  content_type: "application/pdf",
  url: "/files/8/plan.pdf",
  image: false,
  width: null,
  height: null,
  thumbnail: null,
};

const file = (name, size = 1000, type = "") => ({ name, size, type });

function queueWithLog(limits = LIMITS) {
  const log = [];
  const onChange = (entry, what) => log.push([what, entry.name]);
  const queue = new UploadQueue({ limits, onChange });
  return { queue, log };
}

describe("formatSize", () => {
  test("bytes, then KB and MB with one decimal below 10, whole above", () => {
    assert.equal(formatSize(0), "0 bytes");
    assert.equal(formatSize(1), "1 byte");
    assert.equal(formatSize(812), "812 bytes");
    assert.equal(formatSize(1024), "1 KB");
    assert.equal(formatSize(1536), "1.5 KB");
    assert.equal(formatSize(49152), "48 KB");
    assert.equal(formatSize(1258291), "1.2 MB");
    assert.equal(formatSize(10 * MiB), "10 MB");
    assert.equal(formatSize(3 * 1024 * MiB), "3 GB");
  });

  test("a size that would round to 1024 of a unit says the next unit", () => {
    assert.equal(formatSize(1024 * 1024 - 10), "1 MB");
    assert.equal(formatSize(10 * 1024 - 20), "10 KB"); // 9.98 KB: not "10.0"
  });

  test("nothing for what is not a size", () => {
    assert.equal(formatSize(null), "");
    assert.equal(formatSize(-1), "");
    assert.equal(formatSize("lots"), "");
  });
});

describe("records: attachmentOf and attachmentsOf", () => {
  test("a well-formed record comes through whole", () => {
    assert.deepEqual(attachmentOf(CAT), CAT);
    assert.deepEqual(attachmentOf(PDF), PDF);
  });

  test("an old server's message (no field) and bad lists give no files", () => {
    assert.deepEqual(attachmentsOf({ id: 1 }), []);
    assert.deepEqual(attachmentsOf({ attachments: null }), []);
    assert.deepEqual(attachmentsOf({ attachments: "cat.png" }), []);
    assert.deepEqual(attachmentsOf(null), []);
  });

  test("bad entries are left out, good ones kept in order", () => {
    const msg = {
      attachments: [
        null,
        "x",
        { ...CAT, id: "7" },
        { ...CAT, id: 0 },
        { ...CAT, name: 5 },
        { ...CAT, url: undefined },
        PDF,
        CAT,
      ],
    };
    assert.deepEqual(
      attachmentsOf(msg).map((record) => record.id),
      [8, 7],
    );
  });

  test("only this site's paths are taken as URLs", () => {
    for (const url of ["/files/7/cat.png", "/files/7/my%20cat.png"]) {
      assert.equal(isLocalPath(url), true, url);
    }
    for (const url of [
      "javascript:alert(1)",
      "data:text/html,x",
      "https://evil.example/x",
      "//evil.example/x",
      "/\\evil.example/x",
      "/\t/evil.example/x",
      "/files/7/a b.png",
      "files/7",
      "",
      null,
    ]) {
      assert.equal(isLocalPath(url), false, String(url));
    }
    assert.equal(attachmentOf({ ...CAT, url: "javascript:alert(1)" }), null);
    // A thumbnail elsewhere is dropped; the record stays, drawn another way.
    const elsewhere = { ...CAT, thumbnail: { ...CAT.thumbnail, url: "//x/y" } };
    assert.equal(attachmentOf(elsewhere).thumbnail, null);
  });

  test("odd fields get safe values: no size, no type, not an image", () => {
    const record = attachmentOf({
      id: 3,
      name: "",
      url: "/files/3/file",
      size: -5,
      content_type: 4,
      image: "yes",
      width: 10,
      thumbnail: CAT.thumbnail,
    });
    assert.deepEqual(record, {
      id: 3,
      name: "file",
      size: null,
      content_type: "",
      url: "/files/3/file",
      image: false,
      width: null,
      height: null,
      thumbnail: null,
    });
  });
});

describe("drawing: thumbnailBox and typeLabel", () => {
  test("an image is drawn at its thumbnail's size", () => {
    assert.deepEqual(thumbnailBox(CAT), { src: "/files/7/thumbnail/", width: 400, height: 267 });
  });

  test("an image without a thumbnail is the image itself, scaled into the box", () => {
    const wide = { ...CAT, thumbnail: null, width: 1600, height: 400 };
    assert.deepEqual(thumbnailBox(wide), { src: CAT.url, width: 400, height: 100 });
    const small = { ...CAT, thumbnail: null, width: 120, height: 90 };
    assert.deepEqual(thumbnailBox(small), { src: CAT.url, width: 120, height: 90 });
  });

  test("a file, or an image of unknown size, gets a card", () => {
    assert.equal(thumbnailBox(PDF), null);
    assert.equal(thumbnailBox({ ...CAT, thumbnail: null, width: null }), null);
  });

  test("types are named for people", () => {
    assert.equal(typeLabel(PDF), "PDF document");
    assert.equal(typeLabel(CAT), "PNG image");
    const docx = { name: "notes.docx", content_type: "application/x-whatever" };
    assert.equal(typeLabel(docx), "DOCX file");
    assert.equal(typeLabel({ name: "noext", content_type: "" }), "File");
  });
});

describe("checks before uploading", () => {
  test("a file within the limits passes", () => {
    assert.equal(refusalOf(file("cat.png", 5 * MiB, "image/png"), LIMITS, 0), null);
    assert.equal(refusalOf(file("exactly.pdf", 10 * MiB), LIMITS, 0), null);
  });

  test("too large: the file's size and the limit, in words", () => {
    assert.equal(
      refusalOf(file("big.pdf", 12 * MiB, "application/pdf"), LIMITS, 0),
      "“big.pdf” is too large (12 MB): files can be at most 10 MB.",
    );
  });

  test("a type not allowed is refused, by the name's extension as the server judges", () => {
    assert.equal(
      refusalOf(file("setup.exe", 10, "application/x-msdownload"), LIMITS, 0),
      "“setup.exe” cannot be attached: files of this type are not allowed here.",
    );
    assert.match(refusalOf(file("page.html", 10, "text/html"), LIMITS, 0), /not allowed/);
    // Windows says a .csv is a spreadsheet: the extension decides, as on the server.
    assert.equal(refusalOf(file("data.CSV", 10, "application/vnd.ms-excel"), LIMITS, 0), null);
    // Neither the name nor the browser tells: the server looks.
    assert.equal(refusalOf(file("README", 10, ""), LIMITS, 0), null);
    // No list from the server: it alone decides.
    const exe = file("setup.exe", 10, "application/x-msdownload");
    assert.equal(refusalOf(exe, { uploadTypes: [] }), null);
  });

  test("too many for one message", () => {
    assert.equal(
      refusalOf(file("four.png", 10, "image/png"), LIMITS, 3),
      "“four.png” was not attached: a message can carry at most 3 files.",
    );
    assert.match(refusalOf(file("two.png"), { attachmentsMax: 1 }, 1), /at most one file\.$/);
  });

  test("fileTypeOf and acceptOf follow the server's table of extensions", () => {
    assert.equal(fileTypeOf(file("photo.JPG", 1, "")), "image/jpeg");
    const unknown = file("archive.tar.unknown", 1, "application/X-Thing");
    assert.equal(fileTypeOf(unknown), "application/x-thing");
    const accept = acceptOf(["image/jpeg", "text/plain"]).split(",");
    assert.deepEqual(accept, ["image/jpeg", "text/plain", ".jpg", ".jpeg", ".txt", ".log"]);
    assert.equal(acceptOf([]), "");
  });
});

describe("uploadErrorText", () => {
  test("the server's own words first", () => {
    const data = { error: { code: "too_large", detail: "Files are limited to 10 MB." } };
    assert.equal(uploadErrorText(413, data), "Files are limited to 10 MB.");
    const bad = { error: { code: "bad_file", detail: "This file is not a picture." } };
    assert.equal(uploadErrorText(400, bad), "This file is not a picture.");
  });

  test("without them, what the status means", () => {
    assert.match(uploadErrorText(0), /did not reach the server/);
    assert.equal(uploadErrorText(413, null), "The file is too large for the server.");
    assert.equal(uploadErrorText(415, null), "Files of this type cannot be attached.");
    assert.equal(uploadErrorText(429, null, "12.2"), "Too many uploads: try again in 13 s.");
    assert.equal(uploadErrorText(429, null, null), "Too many uploads: try again in a moment.");
    assert.match(uploadErrorText(502, "<html>"), /answered 502/);
  });
});

describe("UploadQueue", () => {
  test("a file goes uploading, moves on with progress, and is done with its record", () => {
    const { queue, log } = queueWithLog();
    const entry = queue.add(file("cat.png", 48213, "image/png"));
    assert.equal(entry.status, UPLOADING);
    assert.equal(queue.uploading, true);
    queue.progress(entry.localId, 24000, 48000);
    assert.equal(progressOf(entry), 0.5);
    queue.progress(entry.localId, 99999, 48000); // never past the end
    assert.equal(progressOf(entry), 1);
    queue.finish(entry.localId, CAT);
    assert.equal(entry.status, DONE);
    assert.deepEqual(entry.record, CAT);
    assert.equal(queue.uploading, false);
    assert.deepEqual(queue.ids(), [7]);
    assert.deepEqual(log, [
      ["add", "cat.png"],
      ["progress", "cat.png"],
      ["progress", "cat.png"],
      ["done", "cat.png"],
    ]);
  });

  test("a file refused here is failed at once, with the reason, and never counts", () => {
    const { queue } = queueWithLog();
    const big = queue.add(file("big.pdf", 11 * MiB));
    assert.equal(big.status, FAILED);
    assert.match(big.reason, /too large/);
    assert.equal(queue.uploading, false);
    assert.deepEqual(queue.counted(), []);
  });

  test("the server's refusal fails the upload; later news of it is ignored", () => {
    const { queue } = queueWithLog();
    const entry = queue.add(file("broken.png", 10, "image/png"));
    queue.fail(entry.localId, "This file is not a picture.");
    assert.equal(entry.status, FAILED);
    assert.equal(entry.reason, "This file is not a picture.");
    queue.progress(entry.localId, 5, 10);
    queue.finish(entry.localId, CAT);
    assert.equal(entry.status, FAILED);
    assert.deepEqual(queue.ids(), []);
  });

  test("an answer that is not a record fails the upload", () => {
    const { queue } = queueWithLog();
    const entry = queue.add(file("cat.png", 10, "image/png"));
    queue.finish(entry.localId, { id: "seven" });
    assert.equal(entry.status, FAILED);
    assert.match(entry.reason, /not understood/);
  });

  test("at most attachmentsMax files go with one message; failed ones leave room", () => {
    const { queue } = queueWithLog();
    queue.add(file("huge.png", 99 * MiB)); // refused: does not count
    const kept = [1, 2, 3].map((n) => queue.add(file(`${n}.png`, 10, "image/png")));
    assert.ok(kept.every((entry) => entry.status === UPLOADING));
    const fourth = queue.add(file("4.png", 10, "image/png"));
    assert.equal(fourth.status, FAILED);
    assert.match(fourth.reason, /at most 3 files/);
    queue.remove(kept[0].localId);
    assert.equal(queue.add(file("5.png", 10, "image/png")).status, UPLOADING);
  });

  test("the limits are read at each add (hello may change them)", () => {
    const limits = { ...LIMITS };
    const { queue } = queueWithLog(limits);
    limits.uploadMax = 100;
    assert.equal(queue.add(file("a.png", 101, "image/png")).status, FAILED);
  });

  test("remove hands the entry back (to abort or drop it); clear empties the queue", () => {
    const { queue, log } = queueWithLog();
    const a = queue.add(file("a.png", 10, "image/png"));
    const b = queue.add(file("b.pdf", 10));
    queue.finish(b.localId, PDF);
    assert.equal(queue.remove(a.localId), a);
    assert.equal(queue.remove(a.localId), null);
    assert.deepEqual(queue.records(), [PDF]);
    queue.clear();
    assert.equal(queue.size, 0);
    assert.deepEqual(log.slice(-2), [
      ["remove", "a.png"],
      ["remove", "b.pdf"],
    ]);
  });

  test("adopt puts back a record uploaded before, done; a bad one is ignored", () => {
    const { queue } = queueWithLog();
    const entry = queue.adopt(CAT);
    assert.equal(entry.status, DONE);
    assert.equal(entry.name, "cat.png");
    assert.equal(queue.adopt({ id: 1 }), null);
    assert.deepEqual(queue.ids(), [7]);
  });
});

describe("maySend", () => {
  const uploading = { status: UPLOADING };
  const done = { status: DONE };
  const failed = { status: FAILED };

  test("text alone, or a finished file alone, may go", () => {
    assert.equal(maySend("hi", []), true);
    assert.equal(maySend("", [done]), true);
    assert.equal(maySend("hi", [done, failed]), true);
  });

  test("nothing, or only failed files, may not", () => {
    assert.equal(maySend("", []), false);
    assert.equal(maySend("", [failed]), false);
  });

  test("not while an upload is still running, even with text", () => {
    assert.equal(maySend("hi", [uploading]), false);
    assert.equal(maySend("", [done, uploading]), false);
  });
});
