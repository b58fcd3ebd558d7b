// The request a widget's form describes: each field's value, read by its kind, placed at its path.
// A lone media file at `inputs` is sent as raw bytes (as InferenceClient sends it); anything else
// is one JSON document, media files in it as base64.

export class InputError extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
}

function labelOf(control) {
  const label = control.form.querySelector(`label[for="${control.id}"]`);
  return label ? label.textContent : control.name;
}

export function parseCsv(text) {
  // {column: [values]} from CSV with a header row (quoted cells may hold commas, quotes doubled).
  const rows = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const cells = [];
    let cell = "";
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted && c === '"' && line[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = !quoted;
      else if (c === "," && !quoted) { cells.push(cell.trim()); cell = ""; }
      else cell += c;
    }
    cells.push(cell.trim());
    rows.push(cells);
  }
  if (rows.length < 2) throw new Error("a header row and at least one row of values are needed");
  const [header, ...body] = rows;
  const table = {};
  header.forEach((name, column) => {
    table[name] = body.map((row) => {
      if (row.length !== header.length) throw new Error(`every row needs ${header.length} cells`);
      return row[column];
    });
  });
  return table;
}

function parse(control, kind, raw) {
  const name = labelOf(control);
  switch (kind) {
    case "lines": return raw.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
    case "list": return raw.split(",").map((item) => item.trim()).filter(Boolean);
    case "int": {
      const value = Number(raw);
      if (!Number.isInteger(value)) throw new InputError(`${name}: expected a whole number`, control);
      return value;
    }
    case "float": {
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new InputError(`${name}: expected a number`, control);
      return value;
    }
    case "csv":
      try { return parseCsv(raw); } catch (error) { throw new InputError(`${name}: ${error.message}`, control); }
    case "json":
      try { return JSON.parse(raw); } catch (error) { throw new InputError(`${name}: not valid JSON`, control); }
    default: return raw;
  }
}

// [{path, kind, arg, value}] of the form's non-empty fields; media values are {file, name}.
export function readForm(form, media) {
  const values = [];
  for (const control of form.querySelectorAll("[data-path]")) {
    const { path, kind } = control.dataset;
    const arg = control.hasAttribute("data-arg") ? control.dataset.arg : null;
    let value;
    if (kind === "image" || kind === "audio") {
      value = media.get(control.name);
      if (!value) {
        if (control.required) throw new InputError(`${labelOf(control)}: choose, drop or record a file`, control);
        continue;
      }
    } else if (kind === "bool") {
      if (!control.checked) continue;
      value = true;
    } else {
      const raw = control.value;
      if (!raw.trim()) {
        if (control.required) throw new InputError(`${labelOf(control)} is required`, control);
        continue;
      }
      value = parse(control, kind, raw);
    }
    values.push({ path, kind, arg, value });
  }
  return values;
}

export function place(document, path, value) {
  const keys = path.split(".");
  let node = document;
  keys.slice(0, -1).forEach((key) => { node = node[key] ??= {}; });
  node[keys[keys.length - 1]] = value;
  return document;
}

function base64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(new Error("the file cannot be read"));
    reader.readAsDataURL(file);
  });
}

export const isMedia = (item) => item.kind === "image" || item.kind === "audio";

// {body, contentType, raw}: raw is true when the body is the media file itself.
export async function buildBody(values) {
  if (values.length === 1 && isMedia(values[0]) && values[0].path === "inputs") {
    const { file } = values[0].value;
    return { body: file, contentType: file.type || "application/octet-stream", raw: true };
  }
  const document = {};
  for (const item of values) place(document, item.path, isMedia(item) ? await base64(item.value.file) : item.value);
  return { body: JSON.stringify(document), contentType: "application/json", raw: false };
}
