// The tutorial's flow from a browser, with no build step and no dependency: the API's URL comes
// from outputs.json (`provisioner outputs --out examples/web/outputs.json`, or
// `provisioner serve --outputs examples/web/outputs.json`). Every answer is shown with its status,
// including the authorizer's 401, which CORS lets the page read. `?auto=1` runs the whole flow
// once (the browser test does), with `username`, `email`, `password` and `code` from the query;
// `until=secret` stops it signed in, once the secret is read.
"use strict";

const $ = (id) => document.getElementById(id);
let apiUrl = null;
let idToken = null;
let accessToken = null;
let refreshToken = null;
const results = [];

// Tokens are credentials: kept by the page, never shown (nor in a screenshot).
const SECRET_FIELDS = ["idToken", "accessToken", "refreshToken"];
const shown = (body) =>
  body && typeof body === "object"
    ? Object.fromEntries(
        Object.entries(body).map(([k, v]) => [k, SECRET_FIELDS.includes(k) ? "(kept, not shown)" : v]),
      )
    : body;

function show(step, status, body) {
  const line = document.createElement("div");
  const kind =
    status === "network error" ? "failed" : typeof status === "number" && status >= 400 ? "refused" : "ok";
  line.className = kind;
  line.textContent = `${step}: ${status} ${body === undefined ? "" : JSON.stringify(shown(body))}`;
  $("log").append(line);
  results.push({ step, status, body: shown(body) });
}

// One call: the status and the JSON body, or "network error" when the browser lets the page see
// nothing (CORS refused, or the API unreachable).
async function call(step, method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers["Authorization"] = `Bearer ${token}`;
  try {
    const answer = await fetch(apiUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let parsed;
    try { parsed = await answer.json(); } catch { parsed = undefined; }
    show(step, answer.status, parsed);
    return { status: answer.status, body: parsed };
  } catch {
    show(step, "network error");
    return { status: "network error" };
  }
}

const form = () => ({
  username: $("username").value,
  email: $("email").value,
  password: $("password").value,
  code: $("code").value,
});

function signedIn(tokens) {
  idToken = tokens ? tokens.idToken : null;
  accessToken = tokens ? tokens.accessToken : null;
  refreshToken = tokens ? tokens.refreshToken : null;
  $("state").textContent = tokens ? `signed in as ${form().username}` : "signed out";
}

const steps = {
  "sign-up": () => {
    const { username, email, password } = form();
    return call("sign up", "POST", "/sign-up", { username, email, password });
  },
  confirm: () => {
    const { username, code } = form();
    return call("confirm", "POST", "/confirm", { username, code });
  },
  "sign-in": async () => {
    const { username, password } = form();
    const answer = await call("sign in", "POST", "/sign-in", { username, password });
    if (answer.status === 200 && answer.body && answer.body.idToken) signedIn(answer.body);
    return answer;
  },
  secret: () => call(idToken ? "secret" : "secret (signed out)", "GET", "/secret", undefined, idToken),
  // Signs out everywhere (the refresh token revoked), then forgets the tokens.
  "sign-out": async () => {
    const answer = accessToken
      ? await call("sign out", "POST", "/sign-out", { refreshToken }, accessToken)
      : show("sign out", "not signed in");
    signedIn(null);
    return answer;
  },
};

async function auto(query) {
  for (const field of ["username", "email", "password", "code"]) {
    $(field).value = query.get(field) || "";
  }
  await steps["sign-up"]();
  await steps.confirm();
  await steps["sign-in"]();
  await steps.secret();
  if (query.get("until") === "secret") return;
  await steps["sign-out"]();
  await steps.secret();
}

async function main() {
  for (const [id, step] of Object.entries(steps)) $(id).addEventListener("click", step);
  try {
    const outputs = await (await fetch("outputs.json", { cache: "no-store" })).json();
    apiUrl = outputs.apiUrl.replace(/\/$/, "");
    $("api").textContent = apiUrl;
  } catch {
    $("api").textContent = "no outputs.json: run `provisioner outputs --out examples/web/outputs.json`";
    show("outputs.json", "network error");
  }
  const query = new URLSearchParams(location.search);
  if (apiUrl && query.get("auto") === "1") await auto(query);
  $("results").textContent = JSON.stringify(results);
  document.body.dataset.done = "yes";
}

main();
