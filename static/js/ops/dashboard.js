// dashboard.js: the staff dashboard in the admin (templates/admin/ops/dashboard.html). It
// opens the staff-only socket (/ws/ops/dashboard/, reconnecting with backoff through
// RoomSocket) and draws each snapshot: the numbers, a bar chart of messages per minute,
// the busiest rooms with a line each, the server processes and the newest moderation
// actions. Every text goes in as text, never as HTML.
//
// Configuration comes from data- attributes on the dashboard's element (no inline script).

import { CLOSE_UNAUTHENTICATED } from "../chat/protocol.js";
import { findParts, fillTime, h } from "../chat/render.js";
import { RoomSocket } from "../chat/socket.js";
import { barLayout, niceCeiling, sparklinePoints } from "./chart.js";
import {
  agoText,
  countText,
  directText,
  minuteStart,
  moderationRows,
  processRows,
  roomRows,
  stateText,
  stoppedText,
  thisMinute,
} from "./snapshot.js";

const SVG = "http://www.w3.org/2000/svg";
const CHART = { width: 900, height: 140, gap: 2 };
const SPARKLINE = { width: 120, height: 24 };
const minuteFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

function svg(name, attributes = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

function svgText(x, y, text, className) {
  const node = svg("text", { x, y, class: className });
  node.textContent = text;
  return node;
}

function cell(text, className) {
  return h("td", className, text === undefined || text === null ? "" : String(text));
}

function timeCell(iso) {
  const td = h("td");
  const time = h("time");
  fillTime(time, iso);
  td.append(time);
  return td;
}

/** A table body's only row, saying why there is nothing to list. */
function emptyRow(tbody, text) {
  const td = h("td", "ops-empty", text);
  td.colSpan = tbody.closest("table").querySelectorAll("thead th").length;
  const tr = h("tr");
  tr.append(td);
  tbody.replaceChildren(tr);
}

class DashboardView {
  constructor(root) {
    this.root = root;
    this.parts = findParts(root, {
      status: "status",
      loginLink: "login-link",
      people: "people-online",
      sockets: "sockets-open",
      messagesWindow: "messages-window",
      messagesMinute: "messages-minute",
      chart: "chart",
      directNote: "direct-note",
      rooms: "rooms",
      processes: "processes",
      moderation: "moderation",
    });
    this.interval = null;
  }

  setState(state) {
    this.root.dataset.state = state;
    this.parts.status.textContent = stateText(state, this.interval);
  }

  stop(code) {
    this.root.dataset.state = "stopped";
    this.root.dataset.closeCode = String(code);
    this.parts.status.textContent = stoppedText(code);
    this.parts.loginLink.hidden = code !== CLOSE_UNAUTHENTICATED;
  }

  show(frame) {
    this.interval = frame.interval;
    this.root.dataset.updatedAt = frame.at;
    const activity = frame.activity;
    this.parts.people.textContent = countText(frame.people_online);
    this.parts.sockets.textContent = countText(frame.sockets_open);
    this.parts.messagesWindow.textContent = countText(activity.total);
    this.parts.messagesMinute.textContent = countText(thisMinute(activity.per_minute));
    this.parts.directNote.textContent = directText(activity);
    this.drawChart(activity);
    this.drawRooms(activity);
    this.drawProcesses(frame.processes, Date.parse(frame.at));
    this.drawModeration(frame.moderation);
    if (this.root.dataset.state === "live") this.setState("live"); // the interval is known now
  }

  drawChart(activity) {
    const { ceiling, bars } = barLayout(activity.per_minute, CHART);
    const summary =
      `Messages per minute over the last ${activity.minutes} minutes: ` +
      `${activity.total} in all, ${thisMinute(activity.per_minute)} this minute.`;
    const chart = svg("svg", {
      viewBox: `0 -14 ${CHART.width} ${CHART.height + 30}`,
      class: "ops-chart-svg",
      role: "img",
      "aria-label": summary,
    });
    const rule = (y, className) =>
      svg("line", { x1: 0, y1: y, x2: CHART.width, y2: y, class: className });
    chart.append(rule(0, "ops-chart-top"), rule(CHART.height, "ops-chart-base"));
    for (const bar of bars) {
      const { x, y, width, height } = bar;
      const rect = svg("rect", { x, y, width, height, class: "ops-bar" });
      rect.dataset.value = String(bar.value);
      const title = svg("title");
      const minute = minuteFormat.format(new Date(minuteStart(activity, bar.index)));
      title.textContent = `${minute}: ${bar.value} ${bar.value === 1 ? "message" : "messages"}`;
      rect.append(title);
      chart.append(rect);
    }
    chart.append(svgText(2, -3, `${ceiling} per minute`, "ops-chart-label"));
    const first = minuteFormat.format(new Date(minuteStart(activity, 0)));
    chart.append(svgText(0, CHART.height + 14, first, "ops-chart-label"));
    const last = svgText(CHART.width, CHART.height + 14, "now", "ops-chart-label");
    last.setAttribute("text-anchor", "end");
    chart.append(last);
    this.parts.chart.dataset.total = String(activity.total);
    this.parts.chart.replaceChildren(chart);
  }

  drawRooms(activity) {
    const rows = roomRows(activity);
    const tbody = this.parts.rooms;
    if (!rows.length) {
      emptyRow(tbody, `No messages in rooms in the last ${activity.minutes} minutes.`);
      return;
    }
    // One scale for every room's line, so that the lines compare.
    const ceiling = niceCeiling(Math.max(...rows.flatMap((row) => row.perMinute)));
    tbody.replaceChildren(
      ...rows.map((row) => {
        const tr = h("tr");
        tr.dataset.slug = row.slug;
        const name = h("td");
        const slug = h("span", "ops-muted", `#${row.slug}`);
        name.append(h("span", "ops-room-name", row.name), " ", slug);
        const line = svg("svg", {
          viewBox: `0 -1 ${SPARKLINE.width} ${SPARKLINE.height + 2}`,
          class: "ops-sparkline",
          "aria-hidden": "true",
        });
        const points = sparklinePoints(row.perMinute, { ...SPARKLINE, ceiling });
        line.append(svg("polyline", { points }));
        const lineCell = h("td");
        lineCell.append(line);
        tr.append(name, cell(row.total, "ops-count"), cell(row.thisMinute, "ops-count"), lineCell);
        return tr;
      }),
    );
  }

  drawProcesses(processes, nowMs) {
    const tbody = this.parts.processes;
    if (processes === null || processes === undefined) {
      emptyRow(tbody, "Unavailable: the store of heartbeats could not be read.");
      return;
    }
    const rows = processRows(processes, nowMs);
    if (!rows.length) {
      emptyRow(tbody, "No process has published a heartbeat yet.");
      return;
    }
    tbody.replaceChildren(
      ...rows.map((row) => {
        const tr = h("tr");
        tr.dataset.process = row.process;
        tr.append(
          cell(row.process),
          cell(row.tabs, "ops-count"),
          cell(row.rooms, "ops-count"),
          cell(row.total, "ops-count"),
          cell(row.databaseQueue, "ops-count"),
          timeCell(row.startedAt),
          cell(row.heartbeat),
        );
        return tr;
      }),
    );
  }

  drawModeration(actions) {
    const rows = moderationRows(actions);
    const tbody = this.parts.moderation;
    if (!rows.length) {
      emptyRow(tbody, "No moderation actions yet.");
      return;
    }
    tbody.replaceChildren(
      ...rows.map((row) => {
        const tr = h("tr");
        const when = timeCell(row.at);
        when.title = agoText(row.at, Date.now());
        tr.append(
          when,
          cell(row.actor),
          cell(row.action),
          cell(row.target),
          cell(row.room),
          cell(row.detail),
          cell(row.reason, "ops-reason"),
        );
        return tr;
      }),
    );
  }
}

function start(root) {
  const view = new DashboardView(root);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new RoomSocket({
    url: () => `${scheme}://${location.host}${root.dataset.wsPath}`,
    onFrame: (frame) => {
      if (frame.type !== "snapshot") return; // pong, and frames of later versions
      if (!socket.live) socket.markLive();
      view.show(frame);
    },
    onState: (state) => view.setState(state),
    onStop: (code) => view.stop(code),
    isOffline: () => navigator.onLine === false,
  });
  window.addEventListener("online", () => socket.reconnectNow());
  socket.connect();
}

const root = globalThis.document?.querySelector('[data-js="ops-dashboard"]');
if (root) start(root);
