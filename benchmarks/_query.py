"""The legacy SQS query protocol (form parameters in, XML out), for peers such as aiosqs.

Layer: beside `benchmarks._operations`; pure functions, no I/O. Requests are turned into the
JSON 1.0 shapes the operations take, and results back into the XML the query API returns, see
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/Query_QueryAPI.html
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

_NS = "http://queue.amazonaws.com/doc/2012-11-05/"
_LISTS = {
    "AttributeName": "AttributeNames",
    "MessageAttributeName": "MessageAttributeNames",
    "MessageSystemAttributeName": "MessageSystemAttributeNames",
}
_MAPS = {"Attribute": "Attributes", "MessageAttribute": "MessageAttributes"}
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})


def _tree(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`A.1.B=x` → {"A": {1: {"B": "x"}}}: numbered members become int keys."""
    root: dict[Any, Any] = {}
    for key, value in pairs:
        parts = [int(p) if p.isdigit() else p for p in key.split(".")]
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return root


def _members(node: Any) -> list[Any]:
    if not isinstance(node, dict):
        return [node]
    return [node[i] for i in sorted(k for k in node if isinstance(k, int))]


def _convert(tree: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if key in _LISTS:
            out[_LISTS[key]] = _members(value)
        elif key in _MAPS:
            out[_MAPS[key]] = {m.get("Name"): m.get("Value") for m in _members(value)}
        elif isinstance(key, str) and key.endswith("BatchRequestEntry"):
            out["Entries"] = [_convert(m) for m in _members(value)]
        else:
            out[key] = value
    return out


def parse_request(form: bytes) -> tuple[str, dict[str, Any]]:
    """The action and its parameters (JSON 1.0 shapes) from a query string or form body."""
    params = _convert(_tree(parse_qsl(form.decode(), keep_blank_values=True)))
    return str(params.pop("Action", "")), params


def _xml(out: list[str], tag: str, value: Any) -> None:
    if isinstance(value, dict):
        out.append(f"<{tag}>")
        for key, item in value.items():
            _xml(out, key, item)
        out.append(f"</{tag}>")
    elif isinstance(value, bool):
        out.append(f"<{tag}>{'true' if value else 'false'}</{tag}>")
    else:
        out.append(f"<{tag}>{str(value).translate(_ESCAPES)}</{tag}>")


def _result_body(action: str, result: dict[str, Any], out: list[str]) -> None:
    for key, value in result.items():
        if key == "Messages":
            for message in value:
                _xml_message(out, message)
        elif key == "Successful":
            for entry in value:
                _xml(out, f"{action}ResultEntry", entry)
        elif key == "Failed":
            for entry in value:
                _xml(out, "BatchResultErrorEntry", entry)
        elif key == "Attributes":
            for name, item in value.items():
                _xml(out, "Attribute", {"Name": name, "Value": item})
        elif key == "QueueUrls":
            for url in value:
                _xml(out, "QueueUrl", url)
        else:
            _xml(out, key, value)


def _xml_message(out: list[str], message: dict[str, Any]) -> None:
    out.append("<Message>")
    for key, value in message.items():
        if key == "Attributes":
            for name, item in value.items():
                _xml(out, "Attribute", {"Name": name, "Value": item})
        elif key == "MessageAttributes":
            for name, item in value.items():
                _xml(out, "MessageAttribute", {"Name": name, "Value": item})
        else:
            _xml(out, key, value)
    out.append("</Message>")


def render_result(action: str, result: dict[str, Any], request_id: str) -> bytes:
    # No xmlns on success: aiosqs 1.0.6 looks up list members by unqualified XPath.
    out = [f'<?xml version="1.0"?><{action}Response>']
    if result or action in ("ReceiveMessage", "ListQueues"):
        out.append(f"<{action}Result>")
        _result_body(action, result, out)
        out.append(f"</{action}Result>")
    out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
    out.append(f"</{action}Response>")
    return "".join(out).encode()


def render_error(code: str, message: str, request_id: str, *, sender: bool = True) -> bytes:
    kind = "Sender" if sender else "Receiver"
    return (
        f'<?xml version="1.0"?><ErrorResponse xmlns="{_NS}"><Error><Type>{kind}</Type>'
        f"<Code>{code}</Code><Message>{message.translate(_ESCAPES)}</Message><Detail/></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
