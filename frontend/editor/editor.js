// Sightline's SQL editor: CodeMirror 6 over an existing <textarea>.
// Built by `npm run build:editor` into public/vendor/sightline-editor.js (an IIFE, no imports at
// run time) and served from our own origin. The Rust/Leptos side talks to it only through
// `window.SightlineEditor`; the textarea stays the source of truth for forms and signals.
//
// API (every function takes the original <textarea> element):
//   mount(textarea, {dialect})  hide the textarea, put an editor right after it. Idempotent.
//   setValue(textarea, text[, fresh])
//                               replace the document; sets textarea.value, does NOT fire 'input'.
//                               With fresh = true the undo history starts over (another tab).
//   getValue(textarea)          the document (textarea.value when not mounted).
//   setSchema(textarea, schema[, {defaultSchema, defaultTable}])
//                               {"table": ["col", ...], "schema.table": [...]} for completion.
//   setDialect(textarea, d)     'postgres' | 'mysql' | 'sqlite' (anything else: standard SQL).
//   focus(textarea)
//   insert(textarea, text)      put text at the cursor (replacing the selection) and focus.
//   markError(textarea, pos)    mark the word at pos (0-based, UTF-16 units, as CodeMirror counts)
//                               as the error and move the cursor there; null clears the mark
//                               (and closes an open completion list: a run is starting).
//                               The mark goes away with the next edit.
//   destroy(textarea)           remove the editor and show the textarea again.
// Before mount, setSchema/setDialect remember their argument and mount uses it; setValue sets
// textarea.value; focus focuses the textarea; getValue returns textarea.value.
//
// Events: every edit made in the editor sets textarea.value and fires a bubbling 'input' on the
// textarea. Mod-Enter (Ctrl-Enter, Cmd-Enter on macOS) fires a bubbling CustomEvent
// 'sightline-run' on the textarea's parent instead of inserting a line. When mounted, the parent
// gets data-editor="ready". When this script has loaded, window 'sightline-editor-ready' fires
// and window.SightlineEditor.ready is true.
//
// Keyboard: Tab indents; to leave the editor by keyboard press Escape, then Tab (CodeMirror's
// tab-focus mode; Ctrl-M toggles it for good). Escape also closes the completion list.

import { EditorState, Compartment, Annotation, Prec, StateEffect, StateField } from "@codemirror/state";
import {
  EditorView,
  keymap,
  lineNumbers,
  highlightActiveLine,
  highlightActiveLineGutter,
  drawSelection,
  placeholder,
  Decoration,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  syntaxHighlighting,
  defaultHighlightStyle,
  bracketMatching,
  indentOnInput,
  LanguageSupport,
} from "@codemirror/language";
import {
  autocompletion,
  completionKeymap,
  closeBrackets,
  closeBracketsKeymap,
  closeCompletion,
  currentCompletions,
} from "@codemirror/autocomplete";
import {
  PostgreSQL,
  MySQL,
  SQLite,
  StandardSQL,
  keywordCompletionSource,
  schemaCompletionSource,
} from "@codemirror/lang-sql";

const VIEW = "_sightlineView";

// The error the database reported, marked in the text until the next edit.
const setError = StateEffect.define();
const errorMark = Decoration.mark({ class: "cm-sl-error", attributes: { title: "The database reported the error here" } });
const errorLine = Decoration.line({ class: "cm-sl-error-line" });
const errorField = StateField.define({
  create: () => Decoration.none,
  update(marks, tr) {
    for (const e of tr.effects) {
      if (e.is(setError)) {
        if (e.value == null) return Decoration.none;
        const { from, to } = e.value;
        const line = tr.state.doc.lineAt(from);
        const ranges = [errorLine.range(line.from)];
        if (to > from) ranges.push(errorMark.range(from, to));
        return Decoration.set(ranges, true);
      }
    }
    return tr.docChanged ? Decoration.none : marks;
  },
  provide: (f) => EditorView.decorations.from(f),
});
const CONF = "_sightlineConfig";

// Marks transactions made by setValue, so they do not echo an 'input' event back to Rust.
const external = Annotation.define();

function dialectOf(name) {
  switch (String(name || "").toLowerCase()) {
    case "postgres":
    case "postgresql":
      return PostgreSQL;
    case "mysql":
    case "mariadb":
      return MySQL;
    case "sqlite":
      return SQLite;
    default:
      return StandardSQL;
  }
}

// What the language compartment is built from; kept on the textarea so it survives until mount.
function config(textarea) {
  if (!textarea[CONF]) textarea[CONF] = { dialect: "postgres", schema: undefined, extra: {} };
  return textarea[CONF];
}

// What sql() builds, except that keywords are not offered right after a dot ("orders.to" should
// offer the column "total", not the keyword "to"; lang-sql only skips keywords at the dot itself).
function language(conf) {
  const dialect = dialectOf(conf.dialect);
  const keywords = keywordCompletionSource(dialect);
  const notAfterDot = (context) => {
    const word = context.matchBefore(/[\w$]+$/);
    const start = word ? word.from : context.pos;
    if (start > 0 && context.state.sliceDoc(start - 1, start) === ".") return null;
    return keywords(context);
  };
  return new LanguageSupport(dialect.language, [
    dialect.language.data.of({
      autocomplete: schemaCompletionSource({
        dialect,
        schema: conf.schema,
        defaultSchema: conf.extra.defaultSchema,
        defaultTable: conf.extra.defaultTable,
      }),
    }),
    dialect.language.data.of({ autocomplete: notAfterDot }),
  ]);
}

const theme = EditorView.theme(
  {
    "&": {
      width: "100%",
      maxHeight: "24rem",
      fontSize: "14px",
      backgroundColor: "#fff",
      color: "#1d2430",
      border: "1px solid #dde2ea",
      borderRadius: "6px",
    },
    "&.cm-focused": { outline: "2px solid #2f6feb", outlineOffset: "1px" },
    ".cm-scroller": {
      overflow: "auto",
      fontFamily:
        'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace',
      lineHeight: "1.5",
    },
    ".cm-content, .cm-gutter": { minHeight: "12rem" },
    ".cm-content": { padding: "6px 0" },
    ".cm-gutters": {
      backgroundColor: "#f6f7f9",
      color: "#8a93a3",
      borderRight: "1px solid #dde2ea",
      borderRadius: "6px 0 0 6px",
    },
    ".cm-activeLine": { backgroundColor: "#f3f6fc" },
    ".cm-activeLineGutter": { backgroundColor: "#e8eefb", color: "#1d2430" },
    "&.cm-focused .cm-matchingBracket": { backgroundColor: "#d7e3fd", outline: "1px solid #9db8f5" },
    ".cm-placeholder": { color: "#8a93a3" },
    ".cm-sl-error": {
      textDecoration: "underline wavy #c62f3b",
      textDecorationSkipInk: "none",
      backgroundColor: "#fdecee",
    },
    ".cm-sl-error-line": { backgroundColor: "#fff4f5" },
    ".cm-tooltip.cm-tooltip-autocomplete": {
      border: "1px solid #dde2ea",
      borderRadius: "6px",
      boxShadow: "0 4px 12px rgba(16, 24, 40, .12)",
      overflow: "hidden",
    },
    ".cm-tooltip-autocomplete > ul": {
      fontFamily:
        'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace',
    },
    ".cm-tooltip-autocomplete > ul > li[aria-selected]": { backgroundColor: "#2f6feb", color: "#fff" },
  },
  { dark: false },
);

function mount(textarea, options) {
  if (!textarea) return null;
  if (textarea[VIEW]) return textarea[VIEW];
  const conf = config(textarea);
  if (options && options.dialect) conf.dialect = options.dialect;
  const parent = textarea.parentElement;
  const lang = new Compartment();
  const hist = new Compartment();
  const langExt = lang.of(language(conf));

  const run = () => {
    const target = textarea.parentElement || parent;
    if (target) target.dispatchEvent(new CustomEvent("sightline-run", { bubbles: true }));
    return true;
  };

  const escape = (view) => {
    const shown = currentCompletions(view.state).length > 0;
    closeCompletion(view);
    return shown;
  };

  const label =
    textarea.getAttribute("aria-label") ||
    (textarea.labels && textarea.labels[0] && textarea.labels[0].textContent.trim()) ||
    "SQL";

  const extensions = [
    // Above every other keymap (the default one binds Mod-Enter to insertBlankLine).
    Prec.highest(
      keymap.of([
        { key: "Mod-Enter", run, preventDefault: true },
        // CodeMirror's own Escape also "closes" a completion that shows no list, which would
        // make the Escape-then-Tab way out need two Escapes; only a visible list takes Escape.
        { key: "Escape", run: escape },
      ]),
    ),
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightActiveLine(),
    drawSelection(),
    hist.of(history()),
    indentOnInput(),
    bracketMatching(),
    closeBrackets(),
    autocompletion({ icons: false }),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    langExt,
    keymap.of([
      ...closeBracketsKeymap,
      ...defaultKeymap,
      ...historyKeymap,
      ...completionKeymap,
      indentWithTab,
    ]),
    theme,
    errorField,
    EditorView.contentAttributes.of({ "aria-label": label, spellcheck: "false" }),
    EditorView.updateListener.of((update) => {
      if (!update.docChanged) return;
      textarea.value = update.state.doc.toString();
      if (update.transactions.some((tr) => tr.annotation(external))) return;
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }),
  ];
  if (textarea.placeholder) extensions.push(placeholder(textarea.placeholder));
  if (textarea.readOnly || textarea.disabled) {
    extensions.push(EditorState.readOnly.of(true), EditorView.editable.of(false));
  }

  const view = new EditorView({
    state: EditorState.create({ doc: textarea.value, extensions }),
  });
  // Another tab's text with its own undo history: the text replaced in a transaction (open
  // tooltips and pending measurements follow it; replacing the whole state while a scroll
  // measurement was pending made CodeMirror measure old positions in the new, shorter text),
  // the error mark cleared, and the history switched off and on again, which empties it.
  view._sightlineFresh = (text) => {
    closeCompletion(view);
    view.dispatch({
      changes: { from: 0, to: view.state.doc.length, insert: text },
      selection: { anchor: 0 },
      effects: [setError.of(null), hist.reconfigure([])],
      annotations: external.of(true),
    });
    view.dispatch({ effects: hist.reconfigure(history()) });
  };
  textarea.insertAdjacentElement("afterend", view.dom);
  textarea.style.display = "none";
  textarea[VIEW] = view;
  view._sightlineLanguage = lang;
  if (parent) parent.setAttribute("data-editor", "ready");
  return view;
}

function viewOf(textarea) {
  return (textarea && textarea[VIEW]) || null;
}

function reconfigure(textarea) {
  const view = viewOf(textarea);
  if (view) view.dispatch({ effects: view._sightlineLanguage.reconfigure(language(config(textarea))) });
}

function setValue(textarea, text, fresh) {
  if (!textarea) return;
  text = text == null ? "" : String(text);
  const view = viewOf(textarea);
  if (!view) {
    textarea.value = text;
    return;
  }
  if (fresh) {
    view._sightlineFresh(text);
    textarea.value = text;
    return;
  }
  if (view.state.doc.toString() === text) {
    textarea.value = text;
    return;
  }
  view.dispatch({
    changes: { from: 0, to: view.state.doc.length, insert: text },
    selection: { anchor: Math.min(view.state.selection.main.head, text.length) },
    annotations: external.of(true),
  });
}

function getValue(textarea) {
  if (!textarea) return "";
  const view = viewOf(textarea);
  return view ? view.state.doc.toString() : textarea.value;
}

function setSchema(textarea, schema, options) {
  if (!textarea) return;
  const conf = config(textarea);
  conf.schema = schema && typeof schema === "object" ? schema : undefined;
  conf.extra = options && typeof options === "object" ? options : {};
  reconfigure(textarea);
}

function setDialect(textarea, dialect) {
  if (!textarea) return;
  config(textarea).dialect = dialect;
  reconfigure(textarea);
}

function focus(textarea) {
  if (!textarea) return;
  const view = viewOf(textarea);
  if (view) view.focus();
  else if (typeof textarea.focus === "function") textarea.focus();
}

function insert(textarea, text) {
  if (!textarea) return;
  text = text == null ? "" : String(text);
  const view = viewOf(textarea);
  if (!view) {
    const start = textarea.selectionStart ?? textarea.value.length;
    const end = textarea.selectionEnd ?? start;
    textarea.setRangeText(text, start, end, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
    return;
  }
  view.dispatch(view.state.replaceSelection(text), { scrollIntoView: true });
  view.focus();
}

function markError(textarea, pos) {
  const view = viewOf(textarea);
  if (!view) return;
  const doc = view.state.doc;
  if (pos == null || !(pos >= 0) || pos > doc.length) {
    // The page clears the mark when a run starts; an open completion list goes with it
    // (a run from the Run button would otherwise leave it over the editor).
    closeCompletion(view);
    view.dispatch({ effects: setError.of(null) });
    return;
  }
  // The word (or quoted name) the position points at; at least one character.
  const rest = view.state.sliceDoc(pos, Math.min(doc.length, pos + 200));
  const word = /^("[^"]*"|`[^`]*`|[\w$.]+)/u.exec(rest);
  const to = Math.min(doc.length, pos + (word ? word[0].length : 1));
  view.dispatch({
    effects: [setError.of({ from: pos, to }), EditorView.scrollIntoView(pos, { y: "center" })],
    selection: { anchor: pos },
  });
}

function destroy(textarea) {
  const view = viewOf(textarea);
  if (!view) return;
  const parent = textarea.parentElement;
  textarea.value = view.state.doc.toString();
  view.destroy();
  view.dom.remove();
  delete textarea[VIEW];
  textarea.style.display = "";
  if (parent) parent.removeAttribute("data-editor");
}

if (!(window.SightlineEditor && window.SightlineEditor.ready)) {
  window.SightlineEditor = {
    mount,
    setValue,
    getValue,
    setSchema,
    setDialect,
    focus,
    insert,
    markError,
    destroy,
    ready: true,
  };
  window.dispatchEvent(new Event("sightline-editor-ready"));
}
