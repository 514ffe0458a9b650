"""Handoff to human agents (issue 10): the queue, agents, the console's actions, SLA timers.

Modules (A1 owns the domain core; A2 the console's HTTP side; B2 the pages):
- ``models``: HandoffRequest (queue/SLA columns), HandoffMessage, AgentProfile.
- ``service``: request_handoff (enqueue: queued_at, priority, skill group, SLA timers), open_handoff,
  the Redis agent-owned mirror (set_agent_owned, mirror_agent_owned), summaries.
- ``queue``: priority_of, skill_group_of, waiting, position, estimate_wait, service hours, load_config.
- ``agents``: AgentLoad, profile, heartbeat, set_state, set_capacity, online_agents, all_agents.
- ``console``: take (A-06), assign_waiting, reply, note, transfer, close, can_read.
- ``messages``: a handoff's messages stored encrypted (add_message, queued for ``handoff.deliver``),
  read_text, history, clean_text.
- ``customer``: customer_message, cancel_by_customer, wait_message (told once), leave_callback, rate.
- ``timers``: job handlers (handoff.sla, handoff.deliver: texts, and pictures as WeChat temporary media
  + an image message, handoff.work_item, periodic handoff.assign).
- ``effects``: console events and the Redis mirror published after commit.
- ``pictures``: an agent's picture (sniffed JPEG/PNG ≤ 10 MB, metadata stripped, stored encrypted,
  counted as a reply); ``pictures_api``: its upload and the console's audited picture route.
- ``console_views``: the console's read models (the whole history, masked; the customer's cases).
- ``copy``: customer-facing sentences (config/dialogue.yaml ``text.handoff_*``).
- ``events`` (A2): the Redis Stream of console events; ``api``/``schemas``/``console_auth``/``stats`` (A2).
- ``actions``: the chat view's case actions (file a complaint, report a claim, move a claim where the
  role allows per ``backend.claims.roles``, confirm the number to the customer); ``actions_api`` and
  ``action_schemas``: their routes under ``/api/console/conversations/{id}/...``; ``private_view``: the
  panel's masked private values of a claim or complaint, each one ``POST /api/console/reveal`` can show.
- ``approval_actions``: the second approver confirms or declines a pending claim amount from the chat
  (``backend.claims.approvals`` decides; audited and published as ``handoff.claim_moved``).
- ``workitems``: staff work items (call-backs, low-rating follow-ups for supervisors, data changes):
  who sees which, when due, masked texts; ``workitems_api``: the console's 待办 list, take (the
  queue's ``console.take``) and finish (``console.close`` with the outcome, no rating asked).
- ``takeover``: the customers talking with the bot now and 接管 (a live bot chat taken over, reason
  ``takeover``); ``takeover_api``: its supervisor routes under ``/api/console/bot-chats``.
- ``pages``: the console's pages from ``static/`` (no build step); vendored libraries under
  ``static/vendor/<name>-<version>/`` with licence and README (Apache ECharts: the dashboard's charts,
  ``static/dashboard_charts.js``).
State-changing functions take ``redis=`` (optional) to publish events after the caller commits.
"""
