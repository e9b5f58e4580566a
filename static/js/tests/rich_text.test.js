import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  LINK_REL,
  LINK_TARGET,
  cleanNodes,
  cleanValue,
  safeHref,
} from "../chat/rich_text.js";

const el = (tag, attrs = {}, ...children) => ({ tag, attrs, children });
const text = (value) => ({ text: value });

// A plain tree as the HTML it stands for, to compare in one line.
function html(nodes) {
  return nodes
    .map((node) => {
      if (typeof node.text === "string") return node.text;
      const attrs = Object.entries(node.attrs)
        .map(([name, value]) => ` ${name}="${value}"`)
        .join("");
      return `<${node.tag}${attrs}>${html(node.children)}</${node.tag}>`;
    })
    .join("");
}

const clean = (nodes, options) => html(cleanNodes(nodes, options));

describe("cleanNodes", () => {
  test("keeps the subset's elements", () => {
    const tree = [
      el("p", {}, el("strong", {}, text("b")), el("em", {}, text("i")), el("s", {}, text("s"))),
      el("pre", {}, el("code", { class: "language-py" }, text("x < y"))),
      el("blockquote", {}, el("p", {}, text("q"))),
      el("ol", { start: "3" }, el("li", {}, text("a"), el("br"))),
      el("ul", {}, el("li", {}, el("code", {}, text("c")))),
    ];
    assert.equal(
      clean(tree),
      "<p><strong>b</strong><em>i</em><s>s</s></p>" +
        '<pre><code class="language-py">x < y</code></pre>' +
        "<blockquote><p>q</p></blockquote>" +
        '<ol start="3"><li>a<br></br></li></ol><ul><li><code>c</code></li></ul>',
    );
  });

  test("every link gets rel and target, whatever it came with", () => {
    const link = el("a", { href: "https://example.com/", rel: "opener", target: "_self" });
    link.children.push(text("x"));
    assert.equal(
      clean([link]),
      `<a href="https://example.com/" rel="${LINK_REL}" target="${LINK_TARGET}">x</a>`,
    );
  });

  test("drops scripts, styles, frames and foreign content with what they hold", () => {
    const tree = [
      el("script", {}, text("window.__xss++")),
      el("style", {}, text("body{display:none}")),
      el("iframe", { src: "https://evil.example/" }, text("frame")),
      el("#foreign", {}, el("a", { href: "https://x.example/" }, text("svg link"))),
      el("template", {}, el("p", {}, text("hidden"))),
      text("kept"),
    ];
    assert.equal(clean(tree), "kept");
  });

  test("unwraps other elements: their text stays, as text", () => {
    const tree = [
      el("div", { onclick: "x()" }, el("h1", {}, text("title")), el("img", { src: "x" })),
      el("form", { action: "https://evil.example/" }, el("button", {}, text("go"))),
    ];
    assert.equal(clean(tree), "titlego");
  });

  test("drops event handlers, styles and unknown attributes", () => {
    const tree = [
      el("p", { onmouseover: "x()", style: "position:fixed", id: "a" }, text("hi")),
      el("span", { class: "mention", onclick: "x()", "data-user-id": "7" }, text("@bob")),
    ];
    assert.equal(clean(tree), '<p>hi</p><span class="mention" data-user-id="7">@bob</span>');
  });

  test("a link to a URL not allowed becomes its text", () => {
    const hrefs = [
      "javascript:alert(1)",
      "JaVaScRiPt:alert(1)",
      "java\tscript:alert(1)",
      " javascript:alert(1)",
      "\u0001javascript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "vbscript:msgbox(1)",
      "/relative",
      "//evil.example/",
      "file:///etc/passwd",
      "",
    ];
    for (const href of hrefs) {
      assert.equal(clean([el("a", { href }, text("x"))]), "x", href);
    }
  });

  test("classes: only a language on code and the mention classes on span", () => {
    const broken = el("code", { class: 'language-js" onload="x' }, text("c"));
    assert.equal(clean([broken]), "<code>c</code>");
    assert.equal(clean([el("code", { class: "hljs" }, text("c"))]), "<code>c</code>");
    assert.equal(
      clean([el("span", { class: "mention evil mention-all" }, text("@room"))]),
      '<span class="mention mention-all">@room</span>',
    );
    assert.equal(clean([el("span", { class: "evil" }, text("t"))]), "<span>t</span>");
    const list = el("ol", { start: "1e9" }, el("li", {}, text("a")));
    assert.equal(clean([list]), "<ol><li>a</li></ol>");
  });

  test("marks my mentions, not others'", () => {
    const tree = [
      el("span", { class: "mention", "data-user-id": "7" }, text("@me")),
      el("span", { class: "mention", "data-user-id": "8" }, text("@bob")),
      el("span", { class: "mention mention-all" }, text("@room")),
    ];
    assert.equal(
      clean(tree, { myId: 7, allIncludesMe: false }),
      '<span class="mention mention-me" data-user-id="7">@me</span>' +
        '<span class="mention" data-user-id="8">@bob</span>' +
        '<span class="mention mention-all">@room</span>',
    );
    assert.match(clean(tree, { myId: 9, allIncludesMe: true }), /mention-all mention-me">@room/);
    // A class that says "mention-me" already is not believed: it is the reader's to say.
    const claimed = [el("span", { class: "mention mention-me", "data-user-id": "8" }, text("@b"))];
    assert.equal(clean(claimed, { myId: 7 }), '<span class="mention" data-user-id="8">@b</span>');
  });

  test("past the depth limit, what is left is text", () => {
    let tree = text("deep");
    for (let i = 0; i < 100; i += 1) tree = el("blockquote", {}, tree);
    const out = clean([tree]);
    assert.equal((out.match(/<blockquote>/g) ?? []).length, 40);
    assert.ok(out.includes("deep"));
  });

  test("ignores what is not a node", () => {
    assert.deepEqual(cleanNodes([null, 3, "x", { tag: 5 }, { text: "ok" }]), [{ text: "ok" }]);
  });
});

describe("safeHref and cleanValue", () => {
  test("absolute http(s) and mailto URLs only, as the browser reads them", () => {
    assert.equal(safeHref("https://example.com/a b"), "https://example.com/a%20b");
    assert.equal(safeHref("HTTP://EXAMPLE.COM"), "http://example.com/");
    assert.equal(safeHref("mailto:a@b.example"), "mailto:a@b.example");
    assert.equal(safeHref("ftp://example.com/"), null);
    assert.equal(safeHref("example.com"), null);
  });

  test("an attribute not in the allow-list has no value", () => {
    assert.equal(cleanValue("a", "onclick", "x()"), null);
    assert.equal(cleanValue("span", "data-user-id", "7 "), null);
    assert.equal(cleanValue("span", "data-user-id", "42"), "42");
  });
});
