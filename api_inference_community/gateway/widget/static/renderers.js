// One renderer per shape of answer (the `renderer` of each task in forms.py).
// A renderer takes the answer (parsed JSON, or a Blob for image and audio answers) and the call's
// context ({input(path), imageUrl}) and returns a DOM node. Text is always set as text, never as
// markup; raw values are kept in data- attributes.

const PALETTE = ["#d7263d", "#1b998b", "#2e86ab", "#f46036", "#8f2d56", "#5b8e7d", "#c5d86d", "#6f1d1b"];

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const fmt = (score) => (typeof score === "number" ? score.toFixed(3) : "—");

function bar(score) {
  const value = typeof score === "number" ? Math.max(0, Math.min(1, score)) : 0;
  return el("meter", { min: 0, max: 1, value, "aria-label": `score ${fmt(score)}` });
}

function scoredList(items, className) {
  const list = el("ol", { class: className });
  for (const item of items) {
    list.append(el("li", { "data-label": item.label, "data-score": item.score },
      el("span", { class: "label" }, item.label), bar(item.score), el("span", { class: "score" }, fmt(item.score))));
  }
  return list;
}

function labelScores(data) {
  if (Array.isArray(data) && data.length === 1 && Array.isArray(data[0])) data = data[0];
  if (data && !Array.isArray(data) && Array.isArray(data.labels)) {
    return data.labels.map((label, i) => ({ label, score: data.scores?.[i] }));
  }
  return (Array.isArray(data) ? data : [data]).map((item) => ({
    label: String(item?.label ?? item?.answer ?? item?.token_str ?? JSON.stringify(item)),
    score: item?.score,
  }));
}

function highlight(text, spans) {
  // text with spans [{start, end, label, score}] marked, in order, overlaps skipped
  const out = el("p", { class: "highlighted" });
  let at = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    if (span.start < at || span.end > text.length) continue;
    out.append(text.slice(at, span.start));
    out.append(el("mark", { "data-label": span.label, "data-score": span.score, title: `${span.label} ${fmt(span.score)}` },
      text.slice(span.start, span.end), el("span", { class: "tag" }, span.label)));
    at = span.end;
  }
  out.append(text.slice(at));
  return out;
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("the image cannot be shown"));
    image.src = url;
  });
}

function canvasOf(image, label) {
  const canvas = el("canvas", { width: image.naturalWidth, height: image.naturalHeight, role: "img", "aria-label": label });
  canvas.getContext("2d").drawImage(image, 0, 0);
  return canvas;
}

function swatch(color) {
  const node = el("span", { class: "swatch", "aria-hidden": "true" });
  node.style.backgroundColor = color; // CSSOM, allowed by the page's style-src
  return node;
}

function numbers(values) {
  const list = el("ol", { class: "values" });
  for (const value of values) list.append(el("li", { "data-value": value }, Number(value).toFixed(4)));
  return list;
}

function shapeOf(value) {
  const shape = [];
  while (Array.isArray(value)) { shape.push(value.length); value = value[0]; }
  return shape;
}

function firstVector(value) {
  while (Array.isArray(value) && Array.isArray(value[0])) value = value[0];
  return Array.isArray(value) ? value : [];
}

function base64Blob(data, type) {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type });
}

function generatedText(data) {
  const item = Array.isArray(data) ? data[0] : data;
  if (typeof item === "string") return item;
  for (const key of ["generated_text", "summary_text", "translation_text", "text", "answer"]) {
    if (typeof item?.[key] === "string") return item[key];
  }
  return JSON.stringify(data);
}

export const renderers = {
  labels: (data) => scoredList(labelScores(data), "labels"),

  entities: (data, ctx) => {
    const entities = (Array.isArray(data) ? data : []).map((e) => ({
      ...e, label: e.entity_group ?? e.entity ?? "", score: e.score,
    }));
    const text = String(ctx.input("inputs") ?? "");
    const table = el("ol", { class: "entities" });
    for (const e of entities) {
      table.append(el("li", { "data-label": e.label, "data-score": e.score, "data-word": e.word },
        el("span", { class: "label" }, e.label), " ", el("q", {}, e.word ?? text.slice(e.start, e.end)), " ",
        el("span", { class: "score" }, fmt(e.score))));
    }
    const none = entities.length ? "" : el("p", { class: "empty" }, "No entity found.");
    return el("div", {}, highlight(text, entities), table, none);
  },

  "fill-mask": (data) => {
    const list = el("ol", { class: "labels fill-mask" });
    for (const item of Array.isArray(data) ? data : []) {
      list.append(el("li", { "data-label": item.token_str, "data-score": item.score },
        el("span", { class: "label" }, item.token_str), bar(item.score), el("span", { class: "score" }, fmt(item.score)),
        el("span", { class: "sequence" }, item.sequence)));
    }
    return list;
  },

  answer: (data, ctx) => {
    const answers = Array.isArray(data) ? data : [data];
    const context = String(ctx.input("inputs.context") ?? "");
    const best = answers[0];
    const marked = best && Number.isInteger(best.start)
      ? highlight(context, [{ start: best.start, end: best.end, label: "answer", score: best.score }]) : "";
    return el("div", {}, el("p", { class: "answer", "data-score": best?.score }, best?.answer ?? ""), marked,
      scoredList(answers.map((a) => ({ label: a.answer, score: a.score })), "labels"));
  },

  "table-answer": (data) => el("div", {},
    el("p", { class: "answer" }, data.answer ?? ""),
    el("p", {}, `Aggregator: ${data.aggregator ?? "NONE"}; cells: `, (data.cells || []).join(", "))),

  text: (data) => {
    const node = el("div", {}, el("p", { class: "generated" }, generatedText(data)));
    const chunks = (Array.isArray(data) ? data[0] : data)?.chunks;
    if (Array.isArray(chunks)) {
      const list = el("ol", { class: "chunks" });
      for (const chunk of chunks) list.append(el("li", {}, `${(chunk.timestamp || []).join("–")} s: ${chunk.text}`));
      node.append(list);
    }
    return node;
  },

  embedding: (data) => {
    const shape = shapeOf(data);
    const first = firstVector(data);
    return el("div", {},
      el("p", { class: "shape", "data-shape": shape.join("x") }, `Size: ${shape.join(" × ")}`),
      el("p", {}, `First ${Math.min(8, first.length)} values${shape.length > 1 ? " of the first vector" : ""}:`),
      numbers(first.slice(0, 8)));
  },

  similarity: (data, ctx) => {
    const sentences = ctx.input("inputs.sentences") || [];
    const body = el("tbody");
    (Array.isArray(data) ? data : []).forEach((score, i) => {
      body.append(el("tr", { "data-score": score }, el("th", { scope: "row" }, sentences[i] ?? `#${i + 1}`),
        el("td", {}, bar(score)), el("td", { class: "score" }, fmt(score))));
    });
    return el("table", { class: "similarity" },
      el("caption", {}, `Similarity to “${ctx.input("inputs.source_sentence") ?? ""}”`),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Sentence"), el("th", { scope: "col" }, "Similarity"),
        el("th", { scope: "col" }, "Score"))), body);
  },

  boxes: async (data, ctx) => {
    const items = Array.isArray(data) ? data : [];
    const legend = el("ol", { class: "boxes" });
    const node = el("div", {});
    const image = ctx.imageUrl ? await loadImage(ctx.imageUrl) : null;
    const canvas = image ? canvasOf(image, `${items.length} detected objects drawn on the image`) : null;
    const draw = canvas?.getContext("2d");
    items.forEach((item, i) => {
      const color = PALETTE[i % PALETTE.length];
      const { xmin, ymin, xmax, ymax } = item.box || {};
      if (draw) {
        draw.lineWidth = Math.max(2, canvas.width / 200);
        draw.strokeStyle = color;
        draw.strokeRect(xmin, ymin, xmax - xmin, ymax - ymin);
        draw.fillStyle = color;
        draw.font = `${Math.max(12, canvas.width / 40)}px sans-serif`;
        draw.fillText(`${item.label} ${fmt(item.score)}`, xmin + 3, Math.max(12, ymin - 3));
      }
      legend.append(el("li", { "data-label": item.label, "data-score": item.score, "data-box": [xmin, ymin, xmax, ymax].join(",") },
        swatch(color), el("span", { class: "label" }, item.label), ` ${fmt(item.score)} (${xmin}, ${ymin})–(${xmax}, ${ymax})`));
    });
    if (canvas) node.append(canvas);
    node.append(items.length ? legend : el("p", { class: "empty" }, "No object found."));
    return node;
  },

  masks: async (data, ctx) => {
    const items = Array.isArray(data) ? data : [];
    const node = el("div", {});
    const legend = el("ol", { class: "masks" });
    const image = ctx.imageUrl ? await loadImage(ctx.imageUrl) : null;
    const canvas = image ? canvasOf(image, `${items.length} masks overlaid on the image`) : null;
    for (const [i, item] of items.entries()) {
      const color = PALETTE[i % PALETTE.length];
      if (canvas) {
        const mask = await loadImage(`data:image/png;base64,${item.mask}`);
        const layer = document.createElement("canvas");
        layer.width = canvas.width;
        layer.height = canvas.height;
        const paint = layer.getContext("2d");
        paint.drawImage(mask, 0, 0, layer.width, layer.height);
        const pixels = paint.getImageData(0, 0, layer.width, layer.height);
        const [r, g, b] = [1, 3, 5].map((at) => parseInt(color.slice(at, at + 2), 16));
        for (let p = 0; p < pixels.data.length; p += 4) {
          const alpha = pixels.data[p] > 127 ? 140 : 0;
          pixels.data.set([r, g, b, alpha], p);
        }
        paint.putImageData(pixels, 0, 0);
        canvas.getContext("2d").drawImage(layer, 0, 0);
      }
      legend.append(el("li", { "data-label": item.label, "data-score": item.score },
        swatch(color), el("span", { class: "label" }, item.label), ` ${fmt(item.score)}`));
    }
    if (canvas) node.append(canvas);
    node.append(items.length ? legend : el("p", { class: "empty" }, "No mask found."));
    return node;
  },

  depth: (data, ctx) => {
    const shape = shapeOf(data.predicted_depth);
    const figure = el("figure", { class: "pair" });
    if (ctx.imageUrl) figure.append(el("img", { src: ctx.imageUrl, alt: "The image sent" }));
    figure.append(el("img", { src: `data:image/png;base64,${data.depth}`, alt: "Its depth map", class: "depth" }),
      el("figcaption", { "data-shape": shape.join("x") }, `Depth map; predicted depth: ${shape.join(" × ")} values`));
    return figure;
  },

  image: (blob) => {
    const image = el("img", { src: URL.createObjectURL(blob), alt: "The image the model answered", class: "answer-image" });
    const caption = el("figcaption", {}, blob.type);
    image.addEventListener("load", () => { caption.textContent = `${image.naturalWidth} × ${image.naturalHeight}, ${blob.type}`; });
    return el("figure", {}, image, caption);
  },

  audio: (blob) => {
    const url = URL.createObjectURL(blob);
    const player = el("audio", { controls: "", src: url, "aria-label": "The speech the model answered" });
    const caption = el("p", { class: "audio-info" }, blob.type);
    player.addEventListener("loadedmetadata", () => {
      caption.textContent = `${player.duration.toFixed(2)} s, ${blob.type}`;
      caption.dataset.duration = player.duration;
    });
    return el("div", {}, player, caption, el("a", { href: url, download: "speech" }, "Download"));
  },

  "audio-list": (data) => {
    const list = el("ol", { class: "audio-list" });
    for (const item of Array.isArray(data) ? data : []) {
      const url = URL.createObjectURL(base64Blob(item.blob, item["content-type"]));
      list.append(el("li", { "data-label": item.label }, el("span", { class: "label" }, item.label),
        el("audio", { controls: "", src: url, "aria-label": item.label })));
    }
    return list;
  },

  segments: (data) => {
    const body = el("tbody");
    for (const item of Array.isArray(data) ? data : []) {
      body.append(el("tr", { "data-label": item.class ?? item.label },
        el("td", {}, item.class ?? item.label ?? ""), el("td", {}, fmt(item.start)), el("td", {}, fmt(item.end))));
    }
    return el("table", { class: "segments" }, el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Class"),
      el("th", { scope: "col" }, "Start (s)"), el("th", { scope: "col" }, "End (s)"))), body);
  },

  values: (data, ctx) => {
    const table = ctx.input("inputs.data") || {};
    const columns = Object.keys(table);
    const body = el("tbody");
    (Array.isArray(data) ? data : []).forEach((value, row) => {
      body.append(el("tr", { "data-value": value }, ...columns.map((c) => el("td", {}, table[c][row])),
        el("td", { class: "prediction" }, value)));
    });
    return el("table", { class: "values" }, el("thead", {}, el("tr", {},
      ...columns.map((c) => el("th", { scope: "col" }, c)), el("th", { scope: "col" }, "Prediction"))), body);
  },
};
