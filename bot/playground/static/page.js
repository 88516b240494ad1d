// The playground page: draws what the server rendered, posts what you type and click.
"use strict";

const view = { person: null, conversation: null, home: false, thread: null, version: null, state: null, modalHtml: null };
const $ = (id) => document.getElementById(id);

async function act(name, body) {
  const answer = await fetch("/do/" + name, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ as: view.person, ...body }),
  });
  const result = await answer.json();
  $("error").hidden = result.ok;
  $("error").textContent = result.ok ? "" : result.error;
  return result;
}

async function poll() {
  const since = view.version === null ? "" : "&since=" + view.version;
  const person = view.person;
  try {
    const answer = await fetch("/state?as=" + encodeURIComponent(person || "") + since);
    const state = await answer.json();
    if (person === view.person) {
      view.state = state;
      view.version = state.version;
      render();
    }
  } catch (error) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  setTimeout(poll, 0);
}

function render() {
  const state = view.state;
  if (!view.person) {
    view.person = state.people[0].id;
    view.version = null; // this state was nobody's: read the first person's at once
    $("person").innerHTML = state.people
      .map((p) => `<option value="${p.id}">${p.name.replace(/</g, "&lt;")}</option>`)
      .join("");
  }
  if (!view.conversation) {
    // A message link (/archives/…) arrives as #CHANNEL/TS: open that conversation and thread.
    const [linked, ts] = decodeURIComponent(location.hash.slice(1)).split("/");
    const known = state.conversations.find((c) => c.id === linked);
    view.conversation = known ? known.id : state.conversations[0].id;
    if (known && ts && known.threads[ts]) view.thread = ts;
  }
  $("now").textContent = state.now;
  const item = (c) =>
    `<button type="button" class="conversation${!view.home && c.id === view.conversation ? " current" : ""}" data-conversation="${c.id}">${escape(c.title)}<span class="count">${c.count || ""}</span></button>`;
  setHtml($("channels"), state.conversations.filter((c) => c.kind === "channel").map(item).join(""));
  setHtml($("dms"), state.conversations.filter((c) => c.kind === "dm").map(item).join(""));
  document.querySelector(".home-tab").classList.toggle("current", view.home);
  const current = state.conversations.find((c) => c.id === view.conversation);
  if (view.home) {
    $("title").textContent = "App Home";
    setHtml($("messages"), state.home || '<p class="empty">Opening App Home…</p>');
  } else {
    $("title").textContent = current.title;
    setHtml($("messages"), current.html);
  }
  $("messages").dataset.where = view.home ? "home" : "message";
  $("composer").hidden = view.home;
  const thread = !view.home && view.thread && current.threads[view.thread];
  $("thread").hidden = !thread;
  if (thread) setHtml($("thread-messages"), thread);
  if (state.modal !== view.modalHtml) {
    view.modalHtml = state.modal;
    $("modal").innerHTML = state.modal || "";
    $("modal-backdrop").hidden = !state.modal;
  }
}

// Replaces an element's HTML only when it changed, so that what is on screen stays put
// (and clickable) while the page waits for the next change.
function setHtml(element, html) {
  if (element.lastHtml === html) return;
  element.lastHtml = html;
  element.innerHTML = html;
  // A timeline that changed shows its newest message, as Slack does.
  if (element.classList.contains("messages")) element.scrollTop = element.scrollHeight;
}

function escape(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function formValues() {
  const values = {};
  for (const block of $("modal").querySelectorAll(".bk-input[data-block-id]")) {
    const element = block.querySelector("[data-action-id]");
    if (!element) continue;
    let value;
    if (element.tagName === "SELECT") {
      const option = element.selectedOptions[0];
      value = { type: "static_select", selected_option: element.value ? { text: { type: "plain_text", text: option.text }, value: element.value } : null };
    } else if (element.classList.contains("bk-checkboxes")) {
      const chosen = [...element.querySelectorAll("input:checked")].map((box) => ({ value: box.value }));
      value = { type: "checkboxes", selected_options: chosen };
    } else {
      value = { type: "plain_text_input", value: element.value === "" ? null : element.value };
    }
    values[block.dataset.blockId] = { [element.dataset.actionId]: value };
  }
  return values;
}

document.addEventListener("click", async (event) => {
  // A message's "More actions" menu closes when anything else is clicked, as Slack's does.
  for (const menu of document.querySelectorAll(".more-actions[open]")) {
    if (!menu.contains(event.target)) menu.open = false;
  }
  const target = event.target.closest("button");
  if (!target) return;
  if (target.dataset.shortcut) {
    const message = target.closest(".message[data-ts]");
    target.closest(".more-actions").open = false;
    return act("shortcut", { callback_id: target.dataset.shortcut, channel: message.dataset.channel, ts: message.dataset.ts });
  }
  if (target.dataset.jump) return act("clock", { by: target.dataset.jump });
  if (target.dataset.home) {
    view.home = true;
    view.thread = null;
    render();
    return act("home", {});
  }
  if (target.dataset.conversation) {
    view.home = false;
    view.conversation = target.dataset.conversation;
    view.thread = null;
    return render();
  }
  if (target.dataset.thread) {
    view.thread = target.dataset.thread;
    render();
    return $("thread-text").focus();
  }
  if (target.id === "thread-close") {
    view.thread = null;
    return render();
  }
  if (target.closest("#modal")) {
    if (target.classList.contains("close")) return act("close", {});
    if (target.classList.contains("submit")) {
      const result = await act("submit", { values: formValues() });
      for (const error of $("modal").querySelectorAll(".bk-error")) error.hidden = true;
      for (const [blockId, message] of Object.entries((result.ok && result.errors) || {})) {
        const box = $("modal").querySelector(`.bk-input[data-block-id="${CSS.escape(blockId)}"] .bk-error`);
        if (box) {
          box.textContent = message;
          box.hidden = false;
        }
      }
      return;
    }
  }
  if (!target.classList.contains("bk-button")) return;
  if (target.dataset.url) window.open(target.dataset.url, "_blank", "noopener");
  const message = target.closest(".message[data-ts]");
  const where = target.closest("#modal") ? "modal" : message ? "message" : "home";
  return act("click", {
    where,
    action_id: target.dataset.actionId,
    block_id: target.dataset.blockId,
    value: target.dataset.value,
    channel: message ? message.dataset.channel : null,
    ts: message ? message.dataset.ts : null,
  });
});

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = await act("type", { channel: view.conversation, text: $("text").value });
  if (result.ok) $("text").value = "";
});

$("thread-composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = await act("type", { channel: view.conversation, thread_ts: view.thread, text: $("thread-text").value });
  if (result.ok) $("thread-text").value = "";
});

$("person").addEventListener("change", () => {
  view.person = $("person").value;
  view.version = null;
  view.modalHtml = undefined;
  if (view.home) act("home", {});
  fetch("/state?as=" + encodeURIComponent(view.person)).then((r) => r.json()).then((state) => {
    view.state = state;
    render();
  });
});

poll();
