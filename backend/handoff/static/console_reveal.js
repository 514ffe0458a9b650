/* 查看: a masked value of the customer's claim or complaint in the chat view's side panel, shown in
   clear with a reason (POST /api/console/reveal: the server checks the role, the reason and the rate,
   and writes every attempt to the audit log). The clear value stays on screen for 60 seconds or until
   another chat is opened, then is masked again; it is kept only in this closure's memory meanwhile
   (never logged, never in storage). The panel offers 查看 only when the server says this staff
   member's role may reveal (can_reveal); a refusal shows the server's message in the dialog. */
"use strict";

const ConsoleReveal = (() => {
  const { $, el, api } = Console;
  const SHOW_MS = 60 * 1000;
  const shown = new Map();  // "type:id:field" → { value, timer }
  let chatId = null;
  let asking = null;

  const keyOf = (objectType, objectId, field) => objectType + ":" + objectId + ":" + field;

  /* One masked value (with 查看 when `canReveal`), or the clear value while it is shown. */
  function node(objectType, objectId, p, canReveal, what) {
    const key = keyOf(objectType, objectId, p.field);
    const clear = shown.get(key);
    const build = () => node(objectType, objectId, p, canReveal, what);
    const box = el("span", { class: "private", dataset: { field: p.field, revealKey: key } },
      el("span", { class: "label", text: p.label + " " }),
      el("span", { class: "value" + (clear ? " clear" : ""), text: clear ? clear.value : p.masked }),
      clear ? el("span", { class: "muted", text: "（1分钟后重新打码）" }) : null,
      canReveal && !clear ? el("button", { type: "button", class: "reveal", text: "查看",
                                           "aria-label": "查看" + p.label,
                                           onclick: () => ask(objectType, objectId, p, what) })
                          : null);
    box.rebuild = build;
    return box;
  }

  function redraw(key) {
    for (const n of document.querySelectorAll("[data-reveal-key]")) {
      if (n.dataset.revealKey === key && n.rebuild) n.replaceWith(n.rebuild());
    }
  }

  function forget(key) {
    const s = shown.get(key);
    if (!s) return;
    clearTimeout(s.timer);
    shown.delete(key);
    redraw(key);
  }

  function forgetAll() {
    for (const key of [...shown.keys()]) forget(key);
    if ($("#reveal-dialog").open) $("#reveal-dialog").close();
    asking = null;
  }

  function ask(objectType, objectId, p, what) {
    if (document.querySelector("dialog[open]")) return;
    asking = { objectType, objectId, field: p.field, chat: chatId };
    $("#reveal-form").reset();
    $("#reveal-what").textContent = what + " 的" + p.label + "：" + p.masked;
    $("#reveal-error").textContent = "";
    $("#reveal-dialog").showModal();
    $("#reveal-form [name=reason]").focus();
  }

  async function submit(ev) {
    ev.preventDefault();
    const a = asking;
    if (!a) return;
    const reason = String($("#reveal-form [name=reason]").value || "").trim();
    if (!reason) { $("#reveal-error").textContent = "请写明为什么要查看"; return; }
    try {
      const out = await api("POST", "/api/console/reveal",
                            { object_type: a.objectType, object_id: a.objectId, field: a.field, reason });
      if (asking !== a || chatId !== a.chat) return;  // another chat was opened meanwhile
      $("#reveal-dialog").close();
      $("#reveal-form").reset();
      const key = keyOf(a.objectType, a.objectId, a.field);
      forget(key);
      shown.set(key, { value: out.value === null ? "（空）" : out.value, timer: setTimeout(() => forget(key), SHOW_MS) });
      redraw(key);
    } catch (e) {
      if (asking === a) $("#reveal-error").textContent = e.message;
    }
  }

  // Another chat opened, or the chat closed: every clear value is masked again.
  document.addEventListener("chat:rendered", (ev) => {
    const id = ev.detail.handoff.id;
    if (id !== chatId) { forgetAll(); chatId = id; }
  });
  document.addEventListener("chat:closed", () => { forgetAll(); chatId = null; });
  document.addEventListener("DOMContentLoaded", () => {
    $("#reveal-form").addEventListener("submit", submit);
    $("#reveal-dialog").addEventListener("close", () => { asking = null; $("#reveal-form").reset(); });
  });

  return { node, SHOW_MS };
})();
