// The customer's chat page: send through POST /chat/api/messages, poll GET /chat/api/messages?after=.
"use strict";
(function () {
  const POLL_MS = 1500;
  const list = document.getElementById("messages");
  const form = document.getElementById("send-form");
  const input = document.getElementById("text");
  const sendButton = document.getElementById("send");
  const errorBox = document.getElementById("error");
  const shown = new Set();
  let cursor = "";
  let polling = false;

  function newClientId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function showError(text) {
    errorBox.textContent = text || "";
    errorBox.hidden = !text;
  }

  function bubble(role, text, id) {
    const div = document.createElement("div");
    div.className = "msg msg-" + role;
    div.textContent = text;
    if (id) div.dataset.id = id;
    list.appendChild(div);
    list.scrollTop = list.scrollHeight;
    return div;
  }

  function addItems(items) {
    for (const item of items) {
      if (shown.has(item.id)) continue;
      shown.add(item.id);
      if (item.image) picture(item);
      else bubble(item.role, item.text, item.id);
    }
  }

  // A picture from an agent: shown in the chat, tap to see it full size.
  function picture(item) {
    const div = bubble(item.role, "", item.id);
    div.classList.add("msg-picture");
    const link = document.createElement("a");
    link.href = item.image;
    link.target = "_blank";
    link.rel = "noopener";
    const img = document.createElement("img");
    img.src = item.image;
    img.alt = item.text;
    img.addEventListener("load", () => { list.scrollTop = list.scrollHeight; });
    link.appendChild(img);
    div.appendChild(link);
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (e) { /* not JSON */ }
    return "网络不太好，请稍后再试。";
  }

  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const response = await fetch("/chat/api/messages?after=" + encodeURIComponent(cursor),
                                   { credentials: "same-origin" });
      if (!response.ok) {
        showError(await errorText(response));
        return;
      }
      const page = await response.json();
      addItems(page.items);
      cursor = page.cursor;
    } catch (e) {
      /* offline for a moment: the next poll tries again */
    } finally {
      polling = false;
    }
  }

  async function send(text) {
    text = text.trim();
    if (!text) {
      showError("请先输入您想说的话，再点“发送”。");
      return;
    }
    showError("");
    const clientId = newClientId();
    const pending = bubble("customer", text);
    pending.classList.add("msg-pending");
    sendButton.disabled = true;
    try {
      for (let attempt = 0; attempt < 3; attempt++) {  // a retried send keeps its client_id: answered once
        let response;
        try {
          response = await fetch("/chat/api/messages", {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ text: text, client_id: clientId }),
          });
        } catch (e) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          continue;
        }
        pending.remove();
        if (!response.ok) {
          showError(await errorText(response));
          return;
        }
        const body = await response.json();
        addItems(body.items);
        input.value = "";
        return;
      }
      pending.remove();
      showError("网络不太好，消息没有发出去，请稍后再试。");
    } finally {
      sendButton.disabled = false;
      input.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(input.value);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(input.value);
    }
  });
  input.addEventListener("input", () => showError(""));
  for (const chip of document.querySelectorAll(".chip")) {
    chip.addEventListener("click", () => send(chip.dataset.text));
  }
  poll();
  setInterval(poll, POLL_MS);
})();
