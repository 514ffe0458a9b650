/* The dashboard's "正在和机器人聊" list: customers talking with the bot now (last message within 30
   minutes, no person yet), their last intents and misunderstandings; 查看 shows the transcript, 接管
   takes the chat over (the bot goes quiet, the customer is told) and opens it in the console.
   Its own file and functions: refreshed every 5 s, independently of dashboard.js. */
"use strict";

(() => {
  const { $, el, api, toast, fmtWait } = Console;

  const conf = (c) => (c === null || c === undefined ? "" : "（" + Math.round(c * 100) + "%）");

  async function loadBotChats() {
    if ($("#app").hidden) return;
    try {
      const data = await api("GET", "/api/console/bot-chats");
      renderBotChats(data.items);
    } catch (e) {
      if (e.status !== 401) toast(e.message, "error");
    }
  }

  function renderBotChats(items) {
    const rows = items.map((c) => el("tr", { class: "bot-chat", dataset: { id: String(c.id) } },
      el("td", { text: c.customer + (c.name ? "（" + c.name + "）" : "") }),
      el("td", { text: c.recent.map((t) => (t.intent || "没听懂") + conf(t.confidence)).join(" → ") }),
      el("td", { class: "misses", text: String(c.misses) }),
      el("td", { text: fmtWait(c.idle_s) + "前" }),
      el("td", { class: "actions" },
        el("button", { type: "button", class: "view", text: "查看", onclick: () => viewBotChat(c.id) }),
        el("button", { type: "button", class: "takeover", text: "接管", onclick: () => takeOver(c.id) }))));
    $("#bot-chats tbody").replaceChildren(...rows);
    $("#bot-chats-empty").hidden = rows.length > 0;
  }

  async function viewBotChat(id) {
    try {
      const v = await api("GET", "/api/console/bot-chats/" + id);
      $("#bot-chat-who").textContent = v.customer.label + (v.customer.name ? "（" + v.customer.name + "）" : "");
      $("#bot-chat-lines").replaceChildren(...v.messages.map((m) => el("li", { class: "msg-" + m.direction },
        el("strong", { text: m.direction === "customer" ? "客户：" : "机器人：" }), m.text,
        m.intent ? el("span", { class: "muted", text: " " + m.intent + conf(m.confidence) }) : null)));
      $("#bot-chat-take").onclick = () => { $("#bot-chat-dialog").close(); takeOver(id); };
      $("#bot-chat-dialog").showModal();
    } catch (e) { toast(e.message, "error"); }
  }

  async function takeOver(id) {
    try {
      const out = await api("POST", "/api/console/bot-chats/" + id + "/take");
      toast("已接管，会话 #" + out.handoff_id, "ok");
      location.href = "/console/#c=" + out.handoff_id;
    } catch (e) {
      toast(e.message, "error");
      await loadBotChats();
    }
  }

  let timer = null;
  document.addEventListener("DOMContentLoaded", () => {
    for (const b of document.querySelectorAll("#bot-chat-dialog .cancel")) b.addEventListener("click", () => $("#bot-chat-dialog").close());
    setInterval(loadBotChats, 5000);
    new MutationObserver(() => { if (!$("#app").hidden) { clearTimeout(timer); timer = setTimeout(loadBotChats, 100); } })
      .observe($("#app"), { attributes: true, attributeFilter: ["hidden"] });
  });
})();
