"""A hostile MCP stdio server for the in-sandbox tests: newline-delimited JSON-RPC by hand (no SDK), tools `ok`
(answers) and `crash` (writes to stderr and exits mid-call). Runs with the sandbox image's python3 alone."""
import json
import os
import sys

TOOLS = [
    {"name": "ok", "description": "answers", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "crash", "description": "dies", "inputSchema": {"type": "object", "properties": {}}},
]


def reply(msg_id, result):
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg_id, "result": result}) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    msg = json.loads(line)
    method, msg_id = msg.get("method"), msg.get("id")
    if method == "initialize":
        reply(msg_id, {"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                       "serverInfo": {"name": "crash", "version": "1"}})
    elif method == "tools/list":
        reply(msg_id, {"tools": TOOLS})
    elif method == "tools/call" and msg["params"]["name"] == "crash":
        sys.stderr.write("boom: the crash tool was called (pid %d, uid %d)\n" % (os.getpid(), os.getuid()))
        sys.stderr.flush()
        os._exit(3)
    elif method == "tools/call":
        reply(msg_id, {"content": [{"type": "text", "text": "fine from pid %d" % os.getpid()}]})
    elif msg_id is not None:
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg_id, "error": {"code": -32601, "message": method}}) + "\n")
        sys.stdout.flush()
