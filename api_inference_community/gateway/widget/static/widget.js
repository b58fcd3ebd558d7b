// The widget of a model page: read the form, call the model's inference route, show the answer
// with its renderer, the compute and usage headers, and the same call as Python and curl.

import { buildBody, InputError, readForm } from "./body.js";
import { call, errorMessage, USAGE_HEADERS } from "./call.js";
import { media, previewUrl, setupMedia } from "./media.js";
import { renderers } from "./renderers.js";
import { snippets } from "./snippets.js";

const form = document.getElementById("widget");
const $ = (id) => document.getElementById(id);

function contextOf(values) {
  const imageField = values.find((item) => item.kind === "image");
  return {
    input: (path) => values.find((item) => item.path === path)?.value,
    imageUrl: imageField ? previewUrl(form.querySelector(`[data-path="${imageField.path}"]`).name) : null,
  };
}

function showUsage(response) {
  const list = $("usage");
  list.replaceChildren();
  for (const [header, label] of USAGE_HEADERS) {
    const value = response.headers.get(header);
    if (value === null) continue;
    const term = document.createElement("dt");
    term.textContent = label;
    const detail = document.createElement("dd");
    detail.textContent = value;
    detail.dataset.header = header;
    list.append(term, detail);
  }
}

function showSnippets(values, contentType) {
  const endpoint = new URL(form.dataset.endpoint, window.location.origin).href;
  const code = snippets({
    url: endpoint,
    method: form.dataset.clientMethod,
    values,
    contentType,
    token: form.dataset.auth === "token",
  });
  $("snippet-python").textContent = code.python;
  $("snippet-curl").textContent = code.curl;
}

function refreshSnippets() {
  try {
    const values = readForm(form, media);
    const lone = values.length === 1 && values[0].value?.file;
    showSnippets(values, lone ? values[0].value.file.type || "application/octet-stream" : "application/json");
  } catch (error) {
    // an incomplete form: the snippets show the last complete call
  }
}

function fail(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

async function submit(event) {
  event.preventDefault();
  const button = $("compute");
  const progress = $("progress");
  $("error").hidden = true;
  let values;
  try {
    values = readForm(form, media);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    fail(error.message);
    error.field?.focus();
    return;
  }
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  progress.textContent = "Computing…";
  delete progress.dataset.estimate;
  const started = performance.now();
  try {
    const request = await buildBody(values);
    showSnippets(values, request.contentType);
    const { response, waited } = await call(form.dataset.endpoint, request, (loading) => {
      progress.textContent = `The model is loading (estimated ${loading.estimated_time.toFixed(1)} s); waiting for it…`;
      progress.dataset.estimate = loading.estimated_time;
    });
    if (!response.ok) {
      $("result").hidden = true;
      fail(`Error ${response.status}: ${await errorMessage(response)}`);
      progress.textContent = "";
      return;
    }
    const type = response.headers.get("content-type") || "";
    const answer = type.includes("json") ? await response.json() : await response.blob();
    const render = renderers[form.dataset.renderer];
    $("output").replaceChildren(await render(answer, contextOf(values)));
    $("raw").textContent = answer instanceof Blob ? `(${answer.type}, ${answer.size} bytes)` : JSON.stringify(answer, null, 2);
    showUsage(response);
    $("result").hidden = false;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    progress.textContent = waited.length
      ? `Done in ${seconds} s, after waiting for the model to load (estimated ${waited[0].toFixed(1)} s).`
      : `Done in ${seconds} s.`;
    progress.dataset.waited = String(waited.length > 0);
  } catch (error) {
    fail(`The call failed: ${error.message}`);
    progress.textContent = "";
  } finally {
    button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

function setupCopy() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const text = $(button.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(text);
        button.dataset.copied = "true";
        button.textContent = "Copied";
      } catch (error) {
        const range = document.createRange();
        range.selectNodeContents($(button.dataset.copy));
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
        button.textContent = "Selected: press Ctrl+C";
      }
    });
  }
}

if (form) {
  form.noValidate = true; // the widget checks the fields itself (media may come from a drop or a sample)
  setupMedia(form);
  setupCopy();
  form.addEventListener("submit", submit);
  form.addEventListener("input", refreshSnippets);
  form.addEventListener("change", refreshSnippets);
  form.addEventListener("media", refreshSnippets);
  refreshSnippets();
  form.dataset.ready = "true";
}
