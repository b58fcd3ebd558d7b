// "Copy as Python / curl": the call the widget makes, as huggingface_hub's InferenceClient makes it
// (or as a plain POST for tasks the client has no method for), and as curl.

import { isMedia, place } from "./body.js";

const MARK = "@@MEDIA@@";

export function pyLiteral(value) {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(", ")}]`;
  if (value.file) return JSON.stringify(value.name);
  return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pyLiteral(v)}`).join(", ")}}`;
}

export const shellQuote = (text) => `'${String(text).replace(/'/g, "'\\''")}'`;

function clientCall(method, values) {
  const positional = [];
  const keywords = {};
  for (const item of values) {
    if (item.arg === "") positional.push(pyLiteral(item.value));
    else if (item.arg.includes(".")) place(keywords, item.arg, item.value);
    else keywords[item.arg] = item.value;
  }
  const args = [...positional, ...Object.entries(keywords).map(([k, v]) => `${k}=${pyLiteral(v)}`)];
  return `result = client.${method}(${args.join(", ")})`;
}

function python({ url, method, values, token }) {
  if (method && values.every((item) => item.arg !== null)) {
    const lines = ["from huggingface_hub import InferenceClient", ""];
    if (token) lines.unshift("import os", "");
    lines.push(`client = InferenceClient(${JSON.stringify(url)}${token ? ', token=os.environ["HF_TOKEN"]' : ""})`);
    lines.push(clientCall(method, values), "print(result)");
    return lines.join("\n");
  }
  // No InferenceClient method for this task (or a parameter it does not take): a plain POST.
  const headers = token ? ', headers={"Authorization": f"Bearer {os.environ[\'HF_TOKEN\']}"}' : "";
  const lines = ["import requests", ""];
  if (token) lines.unshift("import os");
  if (values.length === 1 && isMedia(values[0]) && values[0].path === "inputs") {
    lines.push(`with open(${JSON.stringify(values[0].value.name)}, "rb") as f:`,
      `    response = requests.post(${JSON.stringify(url)}, data=f.read()${headers})`);
  } else {
    const document = {};
    const files = values.filter(isMedia).map((item) => item.value.name);
    for (const item of values) place(document, item.path, isMedia(item) ? MARK : item.value);
    let literal = pyLiteral(document);
    for (const name of files) {
      literal = literal.replace(JSON.stringify(MARK), `base64.b64encode(open(${JSON.stringify(name)}, "rb").read()).decode()`);
    }
    if (files.length) lines.unshift("import base64");
    lines.push(`response = requests.post(${JSON.stringify(url)}, json=${literal}${headers})`);
  }
  lines.push("print(response.json())");
  return lines.join("\n");
}

function curl({ url, values, contentType, token }) {
  const lines = [`curl ${shellQuote(url)}`];
  if (token) lines.push('-H "Authorization: Bearer $HF_TOKEN"');
  if (values.length === 1 && isMedia(values[0]) && values[0].path === "inputs") {
    lines.push(`-H ${shellQuote(`Content-Type: ${contentType}`)}`, `--data-binary @${shellQuote(values[0].value.name)}`);
    return lines.join(" \\\n  ");
  }
  const document = {};
  const files = values.filter(isMedia).map((item) => item.value.name);
  for (const item of values) place(document, item.path, isMedia(item) ? MARK : item.value);
  const parts = JSON.stringify(document).split(MARK);
  let data = shellQuote(parts[0]);
  files.forEach((name, i) => { data += `"$(base64 -w0 ${shellQuote(name)})"` + shellQuote(parts[i + 1]); });
  lines.push("-H 'Content-Type: application/json'", `-d ${data}`);
  return lines.join(" \\\n  ");
}

export function snippets(call) {
  return { python: python(call), curl: curl(call) };
}
