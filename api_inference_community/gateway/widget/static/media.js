// Media inputs: a file picker, drag-and-drop onto the field, a generated sample, and recording from
// the microphone where the browser allows it. The chosen file of each field is kept in `media`
// ({file, name}) and previewed.

export const media = new Map();
const previews = new Map();

function sizeText(bytes) {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`;
}

export function choose(name, file, filename) {
  const chosenName = filename || file.name || "upload";
  media.set(name, { file, name: chosenName });
  const preview = document.getElementById(`${name}-preview`);
  if (previews.has(name)) URL.revokeObjectURL(previews.get(name));
  const url = URL.createObjectURL(file);
  previews.set(name, url);
  if (preview) {
    preview.src = url;
    preview.hidden = false;
  }
  const chosen = document.getElementById(`${name}-chosen`);
  if (chosen) chosen.textContent = `${chosenName} (${sizeText(file.size)})`;
  document.getElementById(name)?.dispatchEvent(new Event("media", { bubbles: true }));
}

export const previewUrl = (name) => previews.get(name);

function sampleImage() {
  // a yellow square on a blue background, 96 × 96, made here (no file needed)
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 96;
  const paint = canvas.getContext("2d");
  paint.fillStyle = "#1f4e9c";
  paint.fillRect(0, 0, 96, 96);
  paint.fillStyle = "#f5c518";
  paint.fillRect(28, 28, 40, 40);
  return new Promise((resolve) => canvas.toBlob((blob) => resolve(new File([blob], "sample.png", { type: "image/png" })), "image/png"));
}

function sampleSound() {
  // one second of a 440 Hz tone at 16 kHz, as a 16-bit PCM WAV file
  const rate = 16000;
  const samples = rate;
  const buffer = new ArrayBuffer(44 + samples * 2);
  const view = new DataView(buffer);
  const text = (at, value) => [...value].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + samples * 2, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, samples * 2, true);
  for (let i = 0; i < samples; i++) view.setInt16(44 + i * 2, Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 12000), true);
  return Promise.resolve(new File([buffer], "sample.wav", { type: "audio/wav" }));
}

function setupRecording(button) {
  const name = button.dataset.target;
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === "undefined") {
    button.disabled = true;
    button.title = "Recording needs a microphone and a page served over https or from this machine";
    return;
  }
  let recorder = null;
  button.addEventListener("click", async () => {
    if (recorder) {
      recorder.stop();
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const parts = [];
      recorder = new MediaRecorder(stream);
      recorder.addEventListener("dataavailable", (event) => parts.push(event.data));
      recorder.addEventListener("stop", () => {
        stream.getTracks().forEach((track) => track.stop());
        const type = recorder.mimeType || "audio/webm";
        choose(name, new Blob(parts, { type }), `recording.${type.includes("ogg") ? "ogg" : "webm"}`);
        recorder = null;
        button.textContent = "Record";
        button.setAttribute("aria-pressed", "false");
      });
      recorder.start();
      button.textContent = "Stop recording";
      button.setAttribute("aria-pressed", "true");
    } catch (error) {
      document.getElementById(`${name}-chosen`).textContent = `Cannot record: ${error.message}`;
    }
  });
}

export function setupMedia(form) {
  for (const picker of form.querySelectorAll('input[type="file"]')) {
    picker.addEventListener("change", () => { if (picker.files[0]) choose(picker.name, picker.files[0]); });
  }
  for (const zone of form.querySelectorAll("[data-drop]")) {
    zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragging"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dragging");
      const file = event.dataTransfer?.files?.[0];
      if (file) choose(zone.dataset.drop, file);
    });
  }
  for (const button of form.querySelectorAll("button[data-sample]")) {
    button.addEventListener("click", async () => {
      const file = await (button.dataset.sample === "image" ? sampleImage() : sampleSound());
      choose(button.dataset.target, file);
    });
  }
  form.querySelectorAll("button.record").forEach(setupRecording);
}
