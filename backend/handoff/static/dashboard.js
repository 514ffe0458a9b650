/* The supervisor dashboard: figures of today, the at-risk list (open, take, reassign), agents with
   their load; the charts (15-minute buckets, agents' load, reasons, intents) are dashboard_charts.js's.
   Reloads on live events and every 5 s. */
"use strict";

(() => {
  const { $, el, api, toast, fmtWait, slaOf, SLA_LABEL } = Console;
  const { STATE_LABEL } = DashboardCharts;
  const STATUS_LABEL = { queued: "排队中", agent: "服务中", closed: "已结束" };
  const GROUP_LABEL = { claims: "理赔", complaints: "投诉", general: "综合" };
  let data = null;
  let fetchedAt = 0;

  const secs = (s) => (s === null || s === undefined ? "—" : fmtWait(s));
  const pct = (x) => (x === null || x === undefined ? "—" : Math.round(x * 1000) / 10 + "%");

  async function load() {
    try {
      data = await api("GET", "/api/console/dashboard");
      fetchedAt = Date.now();
      render();
    } catch (e) {
      if (e.status !== 401) toast(e.message, "error");
    }
  }

  function agentName(id) {
    if (!id) return "—";
    const a = data.agents.find((x) => x.staff_id === id);
    return a && a.username ? a.username : "#" + id;
  }

  function render() {
    $("#t-queue").textContent = String(data.queue_length);
    $("#t-frt").textContent = secs(data.first_response_p50_s) + " / " + secs(data.first_response_p90_s);
    $("#t-within").textContent = pct(data.within_3min_share);
    $("#t-breaches").textContent = String(data.breaches_today);
    $("#t-breaches").parentElement.classList.toggle("alert", data.breaches_today > 0);
    $("#t-csat").textContent = data.satisfaction_avg === null ? "—"
      : data.satisfaction_avg.toFixed(1) + " 分（" + data.satisfaction_count + " 人评）";
    $("#t-handoffs").textContent = String(data.handoffs_today);
    $("#updated").textContent = "更新于 " + new Date(fetchedAt).toLocaleTimeString("zh-CN", { hour12: false });

    const rows = data.at_risk.map((r) => {
      const tr = el("tr", { class: "risk", dataset: { id: String(r.id), waitS: String(r.wait_s), sla: r.sla } },
        el("td", { text: "#" + r.id }),
        el("td", { text: STATUS_LABEL[r.status] || r.status }),
        el("td", {}, el("span", { class: "wait" }), " ", el("span", { class: "sla-label" })),
        el("td", { text: GROUP_LABEL[r.skill_group] || r.skill_group }),
        el("td", { text: agentName(r.agent_id) }),
        el("td", { class: "actions" },
          el("a", { href: "/console/#c=" + r.id, text: "打开" }),
          r.status === "queued" ? el("button", { type: "button", class: "take", text: "接入", onclick: () => take(r.id) }) : null,
          el("button", { type: "button", class: "reassign", text: "改派", onclick: () => openReassign(r.id) })));
      return tr;
    });
    $("#at-risk tbody").replaceChildren(...rows);
    $("#at-risk-empty").hidden = rows.length > 0;

    $("#agents tbody").replaceChildren(...data.agents.map((a) => el("tr", { class: "state-" + a.state },
      el("td", { text: a.username || "#" + a.staff_id }),
      el("td", { text: STATE_LABEL[a.state] || a.state }),
      el("td", { class: "load", dataset: { staffId: String(a.staff_id) } },
        el("span", { class: "load-text", text: a.load + "/" + a.capacity }), " ",
        capacityButton(a, -1), capacityButton(a, +1)))));

    DashboardCharts.update(data);
    tick();
  }

  function tick() {
    if (!data) return;
    const extra = (Date.now() - fetchedAt) / 1000;
    $("#t-oldest").textContent = data.queue_length ? fmtWait(data.oldest_wait_s + extra) : "—";
    for (const tr of document.querySelectorAll("#at-risk tr.risk")) {
      const wait = Number(tr.dataset.waitS) + extra;
      const sla = slaOf(wait, false, tr.dataset.sla);
      tr.classList.remove("sla-ok", "sla-warn", "sla-breach");
      tr.classList.add("sla-" + sla);
      tr.querySelector(".wait").textContent = fmtWait(wait);
      tr.querySelector(".sla-label").textContent = SLA_LABEL[sla];
    }
  }

  // The supervisor sets an agent's capacity N (concurrent chats, 1–20) in place: − / + save at once.
  const MIN_CAPACITY = 1;
  const MAX_CAPACITY = 20;
  const saving = new Set();
  function capacityButton(a, step) {
    const to = a.capacity + step;
    const name = a.username || "#" + a.staff_id;
    return el("button", { type: "button", class: "capacity " + (step < 0 ? "less" : "more"),
                          text: step < 0 ? "−" : "+",
                          title: (step < 0 ? "少接一个（" : "多接一个（") + to + "）",
                          "aria-label": name + " 同时接待数改为 " + to,
                          disabled: saving.has(a.staff_id) || to < MIN_CAPACITY || to > MAX_CAPACITY,
                          onclick: () => setCapacity(a, to) });
  }

  async function setCapacity(a, to) {
    saving.add(a.staff_id);
    render();
    try {
      await api("PUT", "/api/console/agents/" + a.staff_id + "/capacity", { capacity: to });
      toast((a.username || "#" + a.staff_id) + " 同时接待数已改为 " + to, "ok");
    } catch (e) {
      toast("没改成：" + e.message, "error");
    }
    saving.delete(a.staff_id);
    await load();
  }

  async function take(id) {
    try {
      await api("POST", "/api/console/conversations/" + id + "/take");
      toast("已接入会话 #" + id, "ok");
    } catch (e) { toast(e.message, "error"); }
    await load();
  }

  let reassignId = null;
  function openReassign(id) {
    reassignId = id;
    $("#reassign-id").textContent = "#" + id;
    $("#reassign-error").textContent = "";
    $("#reassign-form [name=to_agent_id]").replaceChildren(...data.agents.map((a) =>
      el("option", { value: String(a.staff_id),
                     text: (a.username || "#" + a.staff_id) + "（" + (STATE_LABEL[a.state] || a.state) + " " + a.load + "/" + a.capacity + "）" })));
    $("#reassign-dialog").showModal();
  }

  async function submitReassign(ev) {
    ev.preventDefault();
    const fd = new FormData($("#reassign-form"));
    const note = String(fd.get("note") || "").trim();
    if (!note) { $("#reassign-error").textContent = "请写转接附言"; return; }
    try {
      await api("POST", "/api/console/conversations/" + reassignId + "/transfer",
                { to_agent_id: Number(fd.get("to_agent_id")), note });
      $("#reassign-dialog").close();
      $("#reassign-form").reset();
      toast("已改派", "ok");
      await load();
    } catch (e) { $("#reassign-error").textContent = e.message; }
  }

  let timer = null;
  function ready() {
    load();
    setInterval(load, 5000);
    setInterval(tick, 1000);
    Console.live(() => { clearTimeout(timer); timer = setTimeout(load, 200); }, load);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#reassign-form").addEventListener("submit", submitReassign);
    for (const b of document.querySelectorAll("dialog .cancel")) b.addEventListener("click", () => b.closest("dialog").close());
    Console.start(ready);
  });
})();
