// room_prefs_ui.js: how the room in view notifies me, from its header: every message,
// mentions only, nothing, or my default; and mute (the room keeps its counts but never
// alerts and stays out of the title's total). The tab's room states say what is set
// now, on every tab (preferences.updated); changes go to the HTTP API.

const LEVEL_NAMES = { all: "all messages", mentions: "mentions only", nothing: "nothing" };

/** The option a room's notify record selects: its own level, or "default". */
export function selectedLevel(notify) {
  return notify?.custom ? notify.level : "default";
}

export class RoomPrefsView {
  /** tab: the Tab; slug: the room in view; ui: {root, level, muted}; showNotice(text). */
  constructor({ tab, slug, ui, showNotice }) {
    Object.assign(this, { tab, slug, ui, showNotice });
    this.url = ui.root?.dataset.url;
  }

  listen() {
    if (!this.ui.root) return;
    this.tab.rooms.onChange((slug) => {
      if (slug === null || slug === this.slug) this.draw();
    });
    this.ui.level.addEventListener("change", () => this.save({ level: this.ui.level.value }));
    this.ui.muted.addEventListener("change", () => this.save({ muted: this.ui.muted.checked }));
    this.draw();
  }

  draw() {
    const room = this.tab.rooms.get(this.slug);
    // Only members have settings: a reader of a public room sees nothing here.
    this.ui.root.hidden = !room?.notify;
    if (!room?.notify) return;
    const { notify } = room;
    this.ui.level.value = selectedLevel(notify);
    const defaultOption = this.ui.level.querySelector('option[value="default"]');
    if (defaultOption && !notify.custom) {
      defaultOption.textContent = `Default (${LEVEL_NAMES[notify.level] ?? notify.level})`;
    }
    this.ui.muted.checked = Boolean(notify.muted);
  }

  async save(change) {
    try {
      await this.tab.api.post(this.url, change);
      // preferences.updated redraws every tab, this one included.
    } catch (error) {
      this.showNotice(error?.detail || "Could not change how this room notifies you.");
      this.draw();
    }
  }
}
