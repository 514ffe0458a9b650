"""What the web chat channel says to customers (errors of its API), in one place."""

from __future__ import annotations

EMPTY_TEXT = "请先输入您想说的话，再点“发送”。"
TEXT_TOO_LONG = "一次最多发 {limit} 个字，请分几次发送。"
NO_SESSION = "聊天页面已过期，请重新打开聊天页面。"
BAD_CLIENT_ID = "消息编号不对，请刷新页面后再发一次。"
BAD_CURSOR = "消息位置不对，请刷新页面。"
NOT_READY = "客服暂时不在线，请稍后再发一次。"
PICTURE_NOT_FOUND = "这张图片打不开了，请问工作人员。"
