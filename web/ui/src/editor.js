// The Editor tab: the workspace's file tree and a CodeMirror 6 editor.
// Each opened file keeps its own editor state, so switching files keeps
// unsaved changes (shown with a dot); Save / Ctrl-S / Cmd-S writes it.
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection, highlightSpecialChars, rectangularSelection, crosshairCursor, dropCursor } from "@codemirror/view";
import { EditorState, Compartment } from "@codemirror/state";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { indentOnInput, bracketMatching, foldGutter, foldKeymap, syntaxHighlighting, defaultHighlightStyle, StreamLanguage, indentUnit } from "@codemirror/language";
import { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { oneDark } from "@codemirror/theme-one-dark";
import { go } from "@codemirror/lang-go";
import { sql, PostgreSQL } from "@codemirror/lang-sql";
import { markdown } from "@codemirror/lang-markdown";
import { yaml } from "@codemirror/lang-yaml";
import { json } from "@codemirror/lang-json";
import { javascript } from "@codemirror/lang-javascript";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { dockerFile } from "@codemirror/legacy-modes/mode/dockerfile";
import { h, setChildren, richText } from "./dom.js";
import { api } from "./api.js";

/** The language support for a file name, or null for plain text. */
function languageFor(path) {
  const name = path.split("/").pop().toLowerCase();
  const ext = name.includes(".") ? name.split(".").pop() : "";
  switch (ext) {
    case "go": return go();
    case "sql": return sql({ dialect: PostgreSQL });
    case "md": case "markdown": return markdown();
    case "yaml": case "yml": return yaml();
    case "json": return json();
    case "js": case "mjs": case "cjs": return javascript();
    case "ts": return javascript({ typescript: true });
    case "sh": case "bash": case "env": return StreamLanguage.define(shell);
  }
  if (name === "dockerfile" || name.startsWith("dockerfile.")) return StreamLanguage.define(dockerFile);
  if (name === "makefile" || name === ".bashrc" || name === ".profile") return StreamLanguage.define(shell);
  return null;
}

export class EditorPanel {
  /** @param {{sid: string}} o */
  constructor({ sid }) {
    this.sid = sid;
    this.files = new Map(); // path → {state, saved (text), dirty}
    this.current = null;
    this.entries = [];
    this.collapsed = new Set();
    this.language = new Compartment();

    this.treeEl = h("ul.tree", { role: "tree", "aria-label": "Files" });
    this.pathEl = h("span.editor-path", "No file open");
    this.dirtyEl = h("span.dirty-dot", { hidden: true, title: "Unsaved changes", "aria-label": "Unsaved changes" });
    this.statusEl = h("span.save-status", { "data-testid": "save-status", "aria-live": "polite" });
    this.saveBtn = h("button.btn.btn-primary.btn-small", { type: "button", "data-testid": "save-file", disabled: true, onclick: () => this.save(), title: "Save (Ctrl-S / ⌘S)" }, "Save");
    this.cmHost = h("div.cm-host", { "data-testid": "editor" });
    this.placeholder = h("div.editor-empty", "Pick a file on the left to edit it. Saved files are what Check tests.");
    this.treeStatus = h("div.tree-status");

    this.el = h("div.editor-pane", { role: "tabpanel" },
      h("div.file-side",
        h("div.file-side-head", h("span", "Files"), h("button.icon-btn", { type: "button", title: "Refresh the file list", "aria-label": "Refresh the file list", onclick: () => this.refresh() }, "⟳")),
        this.treeStatus,
        this.treeEl),
      h("div.editor-main",
        h("div.editor-bar", this.dirtyEl, this.pathEl, h("span.spacer"), this.statusEl, this.saveBtn),
        this.placeholder,
        this.cmHost),
    );
    this.cmHost.hidden = true;

    const saveKey = { key: "Mod-s", preventDefault: true, run: () => (this.save(), true) };
    this.baseExtensions = [
      lineNumbers(), highlightActiveLineGutter(), highlightSpecialChars(), history(), foldGutter(), drawSelection(), dropCursor(),
      EditorState.allowMultipleSelections.of(true), indentOnInput(), syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      bracketMatching(), closeBrackets(), rectangularSelection(), crosshairCursor(), highlightActiveLine(), highlightSelectionMatches(),
      keymap.of([saveKey, ...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap, indentWithTab]),
      oneDark,
      EditorView.theme({ "&": { height: "100%" }, ".cm-scroller": { fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace' } }),
      EditorView.updateListener.of((u) => { if (u.docChanged) this.changed(); }),
    ];
    this.view = new EditorView({ parent: this.cmHost, state: EditorState.create({ doc: "", extensions: this.baseExtensions }) });
    this.loaded = false;
  }

  /** Called when the tab shows: loads the tree the first time. */
  shown() {
    if (!this.loaded) this.refresh();
    if (this.current) this.view.focus();
  }

  async refresh() {
    this.treeStatus.textContent = "Loading…";
    this.treeStatus.className = "tree-status";
    try {
      const res = await api.files(this.sid);
      this.entries = res.entries || [];
      this.root = res.root;
      this.loaded = true;
      this.treeStatus.textContent = "";
      this.treeStatus.title = res.root || "";
      this.renderTree();
    } catch (e) {
      this.treeStatus.className = "tree-status tree-error";
      setChildren(this.treeStatus, h("div", richText(e.message)), e.advice && h("div.muted", richText(e.advice)),
        h("button.btn.btn-small", { type: "button", onclick: () => this.refresh() }, "Retry"));
    }
  }

  renderTree() {
    const items = [];
    for (const e of this.entries) {
      const parts = e.path.split("/");
      // Hidden when any ancestor folder is collapsed.
      let hidden = false;
      for (let i = 1; i < parts.length; i++) if (this.collapsed.has(parts.slice(0, i).join("/"))) hidden = true;
      if (hidden) continue;
      const depth = parts.length - 1;
      const name = parts[parts.length - 1];
      const isDir = e.type === "dir";
      const f = this.files.get(e.path);
      const open = isDir && !this.collapsed.has(e.path);
      items.push(h("li", { role: "treeitem", "aria-expanded": isDir ? String(open) : null, "aria-selected": String(e.path === this.current) },
        h("button.tree-item", {
          type: "button",
          class: "tree-item" + (isDir ? " tree-dir" : "") + (e.path === this.current ? " active" : ""),
          style: { paddingLeft: `${8 + depth * 14}px` },
          "data-testid": `file-${e.path}`,
          title: e.path,
          onclick: () => (isDir ? this.toggleDir(e.path) : this.open(e.path)),
        },
        h("span.tree-icon", { "aria-hidden": "true" }, isDir ? (open ? "▾" : "▸") : ""),
        h("span.tree-name", name),
        f && f.dirty && h("span.dirty-dot", { "aria-label": "unsaved" }))));
    }
    if (!items.length) items.push(h("li.muted.tree-empty", "No files."));
    setChildren(this.treeEl, items);
  }

  toggleDir(path) {
    if (this.collapsed.has(path)) this.collapsed.delete(path);
    else this.collapsed.add(path);
    this.renderTree();
  }

  /** Opens path; an unmodified file is read again so it shows what the shell changed. */
  async open(path) {
    this.stash();
    const known = this.files.get(path);
    if (known && known.dirty) {
      this.show(path, known);
      return;
    }
    this.setStatus("Opening…");
    try {
      const res = await api.readFile(this.sid, path);
      const f = {
        saved: res.content,
        dirty: false,
        state: EditorState.create({ doc: res.content, extensions: [this.baseExtensions, this.language.of(languageFor(path) || [])] }),
      };
      this.files.set(path, f);
      this.show(path, f);
      this.setStatus("");
    } catch (e) {
      this.setStatus(`Could not open ${path}: ${e.message}`, true, e.advice);
    }
  }

  /** Keeps the current file's editor state before switching away. */
  stash() {
    if (this.current && this.files.has(this.current)) this.files.get(this.current).state = this.view.state;
  }

  show(path, f) {
    this.current = path;
    this.view.setState(f.state);
    this.placeholder.hidden = true;
    this.cmHost.hidden = false;
    this.pathEl.textContent = path;
    this.saveBtn.disabled = false;
    this.dirtyEl.hidden = !f.dirty;
    this.renderTree();
    this.view.focus();
  }

  changed() {
    const f = this.files.get(this.current);
    if (!f) return;
    const dirty = this.view.state.doc.toString() !== f.saved;
    if (dirty !== f.dirty) {
      f.dirty = dirty;
      this.dirtyEl.hidden = !dirty;
      this.renderTree();
    }
    if (dirty && this.statusEl.textContent === "Saved") this.setStatus("");
  }

  async save() {
    const path = this.current;
    const f = this.files.get(path);
    if (!f || this.saving) return;
    const text = this.view.state.doc.toString();
    this.saving = true;
    this.saveBtn.disabled = true;
    this.setStatus("Saving…");
    try {
      await api.writeFile(this.sid, path, text);
      f.saved = text;
      if (this.current === path) {
        f.dirty = this.view.state.doc.toString() !== text;
        this.dirtyEl.hidden = !f.dirty;
      }
      this.renderTree();
      this.setStatus("Saved");
    } catch (e) {
      this.setStatus(`Not saved: ${e.message}`, true, e.advice || "Your text is still here; try Save again.");
    } finally {
      this.saving = false;
      this.saveBtn.disabled = !this.current;
    }
  }

  setStatus(text, error = false, advice = "") {
    this.statusEl.className = "save-status" + (error ? " save-error" : text === "Saved" ? " save-ok" : "");
    this.statusEl.setAttribute("role", error ? "alert" : "status");
    setChildren(this.statusEl, richText(text), advice && h("span.muted", " — ", richText(advice)));
  }

  /** Whether any opened file has unsaved changes. */
  hasUnsaved() {
    this.stash();
    for (const f of this.files.values()) if (f.dirty) return true;
    return false;
  }

  dispose() {
    this.view.destroy();
    this.el.remove();
  }
}
