"""WeCom (企业微信) group robot.

From WeCom's "群机器人配置说明" (developer.work.weixin.qq.com/document/path/91770): the webhook
URL carries the robot's key; markdown content is at most 4,096 UTF-8 bytes (longer is refused
with 40058), text content at most 2,048; 20 messages a minute per robot, beyond which errcode
45009 ("api freq out of limit") is worth a retry. 93000 ("invalid webhook url", the robot was
removed or the key is wrong) and any other code need a person.

Markdown can @ people only as ``<@userid>``, and an alert rule knows mobiles, not WeCom user
ids; the text type's ``mentioned_mobile_list`` does take mobiles. So mentions follow as a second,
short text message. If that one fails the whole delivery fails and is retried: a repeated card
is a smaller harm than an alert nobody was pinged for.
"""

from __future__ import annotations

from .base import Delivered, HttpTransport, Message, check_code, delivered, fit

MARKDOWN_LIMIT = 4_096
TEXT_LIMIT = 2_048
RATE_LIMITED = {45009}


class WeComTransport(HttpTransport):
    def send(self, message: Message) -> Delivered:
        content = fit(message.markdown, MARKDOWN_LIMIT, message.link)
        response = self.post_json(self.url, {"msgtype": "markdown", "markdown": {"content": content}})
        if message.at_mobiles:
            mention = {
                "content": fit(message.title, TEXT_LIMIT),
                "mentioned_mobile_list": list(message.at_mobiles),
            }
            response = self.post_json(self.url, {"msgtype": "text", "text": mention})
        return delivered(response)

    def check_body(self, response) -> None:
        check_code(response, ("errcode",), RATE_LIMITED)
