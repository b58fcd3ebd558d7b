// One inference call, as the API's clients make it: POST to the model's route; while the model
// loads (503 with `estimated_time`), say so and send it again with `x-wait-for-model: true`.
// Same-origin fetch: the gateway's login cookie, when there is one, goes with it.

const MAX_ATTEMPTS = 5;

async function loadingAnswer(response) {
  if (response.status !== 503) return null;
  try {
    const answer = await response.clone().json();
    return typeof answer.estimated_time === "number" ? answer : null;
  } catch (error) {
    return null;
  }
}

// {response, waited: [estimated seconds of each loading answer]}
export async function call(endpoint, request, onLoading) {
  const waited = [];
  for (let attempt = 1; ; attempt++) {
    const headers = { "Content-Type": request.contentType };
    if (waited.length) headers["x-wait-for-model"] = "true";
    const response = await fetch(endpoint, {
      method: "POST",
      body: request.body,
      headers,
      credentials: "same-origin",
    });
    const loading = await loadingAnswer(response);
    if (!loading || attempt >= MAX_ATTEMPTS) return { response, waited };
    waited.push(loading.estimated_time);
    onLoading(loading);
  }
}

// The API's error message(s) of a failed answer.
export async function errorMessage(response) {
  try {
    const answer = await response.json();
    const error = answer.error ?? answer.detail ?? answer;
    return Array.isArray(error) ? error.join("; ") : String(typeof error === "string" ? error : JSON.stringify(error));
  } catch (problem) {
    return `${response.status} ${response.statusText}`.trim();
  }
}

export const USAGE_HEADERS = [
  ["x-compute-time", "Compute time (s)"],
  ["x-compute-type", "Compute type"],
  ["x-compute-characters", "Characters"],
  ["x-compute-images", "Images"],
  ["x-compute-audio-length", "Audio length (s)"],
  ["x-request-id", "Request id"],
];
