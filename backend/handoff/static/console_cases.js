/* The chat view's side panel: the customer's claims (with the state moves this staff member's role
   allows, as the server says) and complaints (with their deadlines), their masked private values (查看
   with a reason: console_reveal.js), and the actions: 登记投诉 (C),
   报案 (B), a claim's state move, a pending amount's second approval (复核通过 / 退回), and sending the new
   number to the customer with one click.
   Every rule is the server's: this page only shows what /cases offers and the server's errors. */
"use strict";

const ConsoleCases = (() => {
  const { $, el, api, toast } = Console;
  let cases = null;
  let loadedKey = "";
  let chatId = null;
  let choicesFilled = false;
  let claimKey = "";

  function fmtDate(iso) {
    const [, m, d] = String(iso).split("-");
    return Number(m) + "月" + Number(d) + "日";
  }

  function fmtDateTime(iso) {
    const t = new Date(iso);
    return (t.getMonth() + 1) + "月" + t.getDate() + "日 " + String(t.getHours()).padStart(2, "0") + ":" +
      String(t.getMinutes()).padStart(2, "0");
  }

  function options(select, items) {
    select.replaceChildren(...items.map((o) => el("option", { value: o.key, text: o.label })));
  }

  async function load(id) {
    chatId = id;
    try {
      const out = await api("GET", "/api/console/conversations/" + id + "/cases");
      if (chatId !== id) return;
      cases = out;
    } catch (e) {
      if (chatId === id) cases = null;
    }
    if (cases && !choicesFilled) {
      options($("#complaint-form [name=category]"), cases.complaint_categories);
      options($("#claim-form [name=claim_type]"), cases.claim_types);
      options($("#claim-form [name=accident_type]"), cases.accident_types);
      options($("#claim-form [name=reporter_relation]"), cases.relations);
      choicesFilled = true;
    }
    render();
  }

  function render() {
    const can = !!(cases && cases.can_act);
    $("#complaint-open").disabled = !can;
    $("#claim-open").disabled = !can;
    if (!cases) return;
    const none = () => [el("li", { class: "muted", text: "无" })];
    const saved = typed();
    $("#claims").replaceChildren(...(cases.claims.length ? cases.claims.map((c) => claimNode(c, can)) : none()));
    restore(saved);
    $("#complaints").replaceChildren(...(cases.complaints.length ? cases.complaints.map(complaintNode) : none()));
  }

  function claimNode(c, can) {
    const moves = can && c.moves.length
      ? el("span", { class: "moves" }, ...c.moves.map((m) => el("button", {
          type: "button", dataset: { to: m.to }, text: "改为" + m.label, onclick: () => openMove(c, m) })))
      : null;
    return el("li", { class: "claim", dataset: { claimId: String(c.id), state: c.state } },
      el("span", { class: "case-no", text: c.case_no }), " ",
      el("span", { class: "state", text: c.state_label }),
      c.approved_amount_fen ? el("span", { class: "approved", text: "已核定 " + yuan(c.approved_amount_fen) }) : null,
      c.deadline_date ? el("span", { class: "due", text: "办理期限 " + fmtDate(c.deadline_date) }) : null,
      ...privateNodes("claim", c.id, c.private, c.case_no),
      c.pending_approval ? approvalNode(c, c.pending_approval, can) : null,
      moves);
  }

  // --- the second approver: an amount above the limit waits for another colleague --------------------

  function yuan(fen) {
    return (fen % 100 === 0 ? String(fen / 100) : (fen / 100).toFixed(2)) + "元";
  }

  function approvalNode(claim, a, can) {
    const what = el("div", { text: "待复核：核定 " + yuan(a.amount_fen) + "（按条款算 " + yuan(a.computed_fen) +
                                   "，最高 " + yuan(a.ceiling_fen) + "）" });
    const who = el("div", { class: "muted", text: a.proposed_by + " 提交于 " + fmtDateTime(a.proposed_at) });
    const box = el("div", { class: "approval", dataset: { approvalId: String(a.id) } }, what, who);
    if (a.stale) {
      box.append(el("div", { class: "waiting", text: "案件在提交金额之后改过了，要重新提交金额" }));
      return box;
    }
    if (!(can && a.may_decide)) {
      box.append(el("div", { class: "waiting", text: "等待另一位同事复核" }));
      return box;
    }
    const error = el("div", { class: "approval-error error", role: "alert" });
    const amount = el("input", { name: "amount_yuan", inputmode: "decimal", required: true, autocomplete: "off" });
    const confirm = el("form", { class: "approval-confirm", onsubmit: (ev) => {
        ev.preventDefault();
        decide(claim, a, "confirm", { approved_amount_fen: Math.round(Number(amount.value || 0) * 100) || null,
                                      expected_version: claim.version }, error);
      } },
      el("label", { text: "再输入一次金额（元）" }, amount),
      el("button", { type: "submit", class: "confirm", text: "复核通过" }));
    const reason = el("input", { name: "reason", autocomplete: "off" });
    const decline = el("form", { class: "approval-decline", onsubmit: (ev) => {
        ev.preventDefault();
        decide(claim, a, "decline", { reason: text(reason.value) }, error);
      } },
      el("label", { text: "退回原因" }, reason),
      el("button", { type: "submit", class: "decline", text: "退回" }));
    box.append(confirm, decline, error);
    return box;
  }

  async function decide(claim, a, what, body, error) {
    const id = chatId;
    try {
      const out = await api("POST", "/api/console/conversations/" + id + "/claims/" + claim.id + "/approvals/" +
                            a.id + "/" + what, body);
      toast(out.outcome === "done" ? "复核通过，已核定 " + yuan(a.amount_fen) : "已退回", "ok");
      await refresh();
    } catch (e) {
      error.textContent = e.message;
    }
  }

  // What the staff member was typing in an approval's fields survives a redraw of the panel.
  function typed() {
    const out = {};
    for (const input of document.querySelectorAll("#claims .approval input")) {
      const key = input.closest(".approval").dataset.approvalId + ":" + input.name;
      out[key] = { value: input.value, focused: input === document.activeElement };
    }
    return out;
  }

  function restore(saved) {
    for (const input of document.querySelectorAll("#claims .approval input")) {
      const was = saved[input.closest(".approval").dataset.approvalId + ":" + input.name];
      if (!was) continue;
      input.value = was.value;
      if (was.focused) input.focus();
    }
  }

  function complaintNode(c) {
    const due = "联系期限 " + fmtDateTime(c.ack_due_at) + "，答复期限 " + fmtDate(c.resolution_due_date) +
      (c.resolution_due_provisional ? "（暂定）" : "");
    return el("li", { class: "complaint", dataset: { complaintId: String(c.id) } },
      el("span", { class: "case-no", text: c.complaint_no }), " ",
      el("span", { text: c.category_label + "（" + c.state_label + "）" }),
      el("span", { class: "due", text: due }),
      ...privateNodes("complaint", c.id, c.private, c.complaint_no));
  }

  // The masked ID number, phone, bank account: 查看 shows one in clear with a reason (console_reveal.js).
  function privateNodes(objectType, id, fields, what) {
    return (fields || []).map((p) => ConsoleReveal.node(objectType, id, p, !!(cases && cases.can_reveal), what));
  }

  function chatPhone(formSel, boxSel) {
    const masked = cases && cases.prefill.contact_phone_masked;
    const box = $(boxSel);
    box.hidden = !masked;
    box.querySelector("input").checked = !!masked;
    box.querySelector(".masked").textContent = masked || "";
    $(formSel + " [name=" + (formSel === "#claim-form" ? "reporter_phone" : "contact_phone") + "]").value = "";
  }

  // --- creating a complaint / a claim ----------------------------------------------------------------

  function openComplaint() {
    if (!cases || !cases.can_act || document.querySelector("dialog[open]")) return;
    const f = $("#complaint-form");
    f.reset();
    f.category.value = cases.prefill.category;
    f.content.value = cases.prefill.content;
    f.severity.value = cases.prefill.severity;
    chatPhone("#complaint-form", "#complaint-chat-phone");
    $("#complaint-error").textContent = "";
    $("#complaint-dialog").showModal();
    f.content.focus();
  }

  function openClaim() {
    if (!cases || !cases.can_act || document.querySelector("dialog[open]")) return;
    const f = $("#claim-form");
    f.reset();
    f.description.value = cases.prefill.content;
    const now = new Date();
    f.accident_date.value = now.getFullYear() + "-" + String(now.getMonth() + 1).padStart(2, "0") + "-" +
      String(now.getDate()).padStart(2, "0");
    chatPhone("#claim-form", "#claim-chat-phone");
    claimKey = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
    $("#claim-error").textContent = "";
    $("#claim-dialog").showModal();
    f.insured_name.focus();
  }

  const text = (v) => { const s = String(v || "").trim(); return s || null; };

  async function submit(path, body, errorBox) {
    const id = chatId;
    try {
      return await api("POST", "/api/console/conversations/" + id + "/" + path, body);
    } catch (e) {
      $(errorBox).textContent = e.message;
      return null;
    }
  }

  async function submitComplaint(ev) {
    ev.preventDefault();
    const f = $("#complaint-form");
    const body = { category: f.category.value, content: String(f.content.value || "").trim(),
                   contact_phone: text(f.contact_phone.value), use_chat_phone: f.use_chat_phone.checked,
                   severity: f.severity.value, complainant_name: text(f.complainant_name.value),
                   related_case_no: text(f.related_case_no.value) };
    if (!body.content) { $("#complaint-error").textContent = "请写事情经过"; return; }
    const out = await submit("complaints", body, "#complaint-error");
    if (!out) return;
    $("#complaint-dialog").close();
    const c = out.complaint;
    showResult("complaint", c.id, "投诉已登记", c.complaint_no,
               "联系期限 " + fmtDateTime(c.ack_due_at) + "，答复期限 " + fmtDate(c.resolution_due_date), out.confirmation);
    await refresh();
  }

  async function submitClaim(ev) {
    ev.preventDefault();
    const f = $("#claim-form");
    const body = { claim_type: f.claim_type.value, insured_name: String(f.insured_name.value || "").trim(),
                   insured_id_number: text(f.insured_id_number.value), consent_confirmed: f.consent_confirmed.checked,
                   reporter_phone: text(f.reporter_phone.value), use_chat_phone: f.use_chat_phone.checked,
                   reporter_relation: f.reporter_relation.value, accident_date: f.accident_date.value,
                   accident_type: f.accident_type.value, description: String(f.description.value || "").trim(),
                   place: text(f.place.value), hospital: text(f.hospital.value), idempotency_key: claimKey };
    const out = await submit("claims", body, "#claim-error");
    if (!out) return;
    $("#claim-dialog").close();
    f.insured_id_number.value = "";
    const c = out.claim;
    showResult("claim", c.id, "已报案", c.case_no, c.deadline_date ? "办理期限 " + fmtDate(c.deadline_date) : "",
               out.confirmation);
    await refresh();
  }

  function showResult(kind, id, title, number, due, confirmation) {
    const send = el("button", { type: "button", id: "case-confirm", text: "把编号发给客户" });
    send.addEventListener("click", async () => {
      send.disabled = true;
      try {
        await api("POST", "/api/console/conversations/" + chatId + "/confirm", { kind, case_id: id });
        toast("已发给客户", "ok");
        send.textContent = "已发给客户";
        await refresh();
      } catch (e) {
        send.disabled = false;
        toast(e.message, "error");
      }
    });
    $("#case-result").replaceChildren(
      el("div", { text: title }), el("strong", { id: "case-number", text: number }),
      due ? el("div", { class: "due", text: due }) : null,
      el("div", { class: "muted", text: "发给客户的话：" + confirmation }), send);
    $("#case-result").hidden = false;
  }

  // --- moving a claim ----------------------------------------------------------------------------------

  function openMove(claim, move) {
    const f = $("#move-form");
    f.reset();
    f.claim_id.value = String(claim.id);
    f.to_state.value = move.to;
    f.version.value = String(claim.version);
    $("#move-what").textContent = claim.case_no + "：" + claim.state_label + " → " + move.label;
    $("#move-amount").hidden = !move.needs_amount;
    f.reason.required = !!move.needs_reason;
    $("#move-error").textContent = "";
    $("#move-dialog").showModal();
  }

  async function submitMove(ev) {
    ev.preventDefault();
    const f = $("#move-form");
    const body = { to_state: f.to_state.value, reason: text(f.reason.value), expected_version: Number(f.version.value) };
    if (!$("#move-amount").hidden) {
      body.approved_amount_fen = Math.round(Number(f.amount_yuan.value || 0) * 100) || null;
      const facts = { admission: f.admission.value || null, discharge: f.discharge.value || null,
                      grade: f.grade.value ? Number(f.grade.value) : null };
      if (facts.admission || facts.discharge || facts.grade) body.benefit_facts = facts;
    }
    const out = await submit("claims/" + f.claim_id.value + "/transition", body, "#move-error");
    if (!out) return;
    $("#move-dialog").close();
    toast(out.outcome === "pending" ? "金额超过额度，已交给第二位同事复核" : "案件已改为" + out.claim.state_label, "ok");
    await refresh();
  }

  async function refresh() {
    loadedKey = "";
    if (window.ConsoleChat) await ConsoleChat.refresh();
  }

  // --- wiring --------------------------------------------------------------------------------------------

  document.addEventListener("chat:rendered", (ev) => {
    const h = ev.detail.handoff;
    const key = [h.id, h.status, h.agent_id].join(":");
    if (h.id !== chatId) $("#case-result").hidden = true;
    if (key === loadedKey) { render(); return; }  // the chat view was redrawn: keep the panel
    loadedKey = key;
    load(h.id);
  });
  // A colleague (or this agent in another tab) created a case or moved a claim in this chat: reload the
  // panel when the chat view is redrawn for the same event.
  document.addEventListener("chat:event", (ev) => {
    const e = ev.detail;
    if ((e.type === "handoff.case_created" || e.type === "handoff.claim_moved") &&
        e.data && e.data.handoff_id === chatId) loadedKey = "";
  });
  document.addEventListener("chat:closed", () => { chatId = null; cases = null; loadedKey = ""; });
  document.addEventListener("DOMContentLoaded", () => {
    $("#complaint-open").addEventListener("click", openComplaint);
    $("#claim-open").addEventListener("click", openClaim);
    $("#complaint-form").addEventListener("submit", submitComplaint);
    $("#claim-form").addEventListener("submit", submitClaim);
    $("#move-form").addEventListener("submit", submitMove);
  });

  return {
    openComplaint, openClaim,
    defaultDisposition: () => (cases && cases.default_disposition) || null,
  };
})();
