// A Tasks client for the gateway tests: the official MCP Tasks package
// (@modelcontextprotocol/ext-tasks, its requester session) drives the calls; this file only
// supplies the connection it runs on, JSON-RPC over the stdio of the gateway command given
// after `--`, with every request framed for protocol 2026-07-28 (protocol version, client
// info and capabilities in `_meta`, as the package's own SDK adapter frames them).
//
// It calls `echo`, then `export_rows`, and reports what it saw as JSON lines on stdout, so a
// test can synchronise on them (approve once the task was reported):
//
//   {"event": "call", "tool": "echo", "kind": "immediate"}        how the call was answered
//   {"event": "task", "status": "working", "message": "..."}      each task state it observed
//   {"event": "result", "tool": "...", "is_error": false, "text": "..."}
//   {"event": "cancelled", "tool": "..."}  /  {"event": "failed", "tool": "...", "message": "..."}
//
// Usage: node tasks_client.mjs [--cancel] -- <gateway command...>
// `--cancel` cancels the export's task (tasks/cancel) once it has been reported working.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

import { withTasks } from "@modelcontextprotocol/ext-tasks/client";

const PROTOCOL = "2026-07-28";
const ARGUMENTS = { table: "users", rows: 5000 };

const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

const argv = process.argv.slice(2);
const split = argv.indexOf("--");
if (split < 0 || split === argv.length - 1) {
  console.error("usage: node tasks_client.mjs [--cancel] -- <gateway command...>");
  process.exit(2);
}
const cancel = argv.slice(0, split).includes("--cancel");
const [command, ...commandArgs] = argv.slice(split + 1);

/** JSON-RPC over a child's stdio: one message per line. */
function connect() {
  const child = spawn(command, commandArgs, { stdio: ["pipe", "pipe", "inherit"] });
  const pending = new Map();
  const notificationListeners = new Set();
  const invalidationListeners = new Set();
  let nextId = 1;
  let invalidated = false;
  const invalidate = (reason) => {
    if (invalidated) return;
    invalidated = true;
    for (const { reject } of pending.values()) reject(reason);
    pending.clear();
    for (const listener of invalidationListeners) listener(reason);
  };
  child.on("exit", (code) => invalidate(new Error(`the gateway exited (${code})`)));
  createInterface({ input: child.stdout }).on("line", (line) => {
    const message = JSON.parse(line);
    if (message.id !== undefined && message.method === undefined) {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      waiter?.resolve(
        message.error !== undefined
          ? { kind: "error", error: message.error }
          : { kind: "result", result: message.result },
      );
    } else if (message.id !== undefined) {
      // The gateway sends no requests to a Tasks client; refuse any, as an MCP client would.
      const error = { code: -32601, message: `${message.method} is not supported` };
      child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: message.id, error })}\n`);
    } else {
      for (const listener of notificationListeners) listener(message);
    }
  });
  const frame = (params) => {
    const meta = params?._meta ?? {};
    const capabilities = meta["io.modelcontextprotocol/clientCapabilities"] ?? {};
    return {
      ...params,
      _meta: {
        ...meta,
        "io.modelcontextprotocol/protocolVersion": PROTOCOL,
        "io.modelcontextprotocol/clientInfo": { name: "tollgate-tasks-test", version: "1" },
        "io.modelcontextprotocol/clientCapabilities": {
          ...capabilities,
          extensions: {
            ...(capabilities.extensions ?? {}),
            "io.modelcontextprotocol/tasks": {},
          },
        },
      },
    };
  };
  const port = {
    endpointId: "tollgate-mcp-gateway-test",
    taskCapabilities: { generation: "v2", capabilities: {} },
    get invalidated() {
      return invalidated;
    },
    dispatch(request) {
      const id = nextId++;
      const framed = { jsonrpc: "2.0", id, method: request.method, params: frame(request.params) };
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.stdin.write(`${JSON.stringify(framed)}\n`);
      });
    },
    onServerRequest() {
      return () => {};
    },
    onNotification(listener) {
      notificationListeners.add(listener);
      return () => notificationListeners.delete(listener);
    },
    onInvalidated(listener) {
      invalidationListeners.add(listener);
      return () => invalidationListeners.delete(listener);
    },
  };
  return { child, port };
}

function text(result) {
  return (result.content ?? [])
    .filter((c) => typeof c.text === "string")
    .map((c) => c.text)
    .join("\n");
}

async function call(session, tool, args) {
  const execution = await session.callTool(tool, args);
  say({ event: "call", tool, kind: execution.kind });
  let cancelled = false;
  const { outcome } = await execution.settle({
    onEvent: async (event) => {
      if (event.type !== "task") return;
      say({ event: "task", status: event.task.status, message: event.task.statusMessage ?? "" });
      if (cancel && !cancelled && event.task.status === "working") {
        cancelled = true;
        await execution.cancel();
      }
    },
  });
  if (outcome.status === "completed") {
    say({ event: "result", tool, is_error: Boolean(outcome.result.isError), text: text(outcome.result) });
  } else if (outcome.status === "cancelled") {
    say({ event: "cancelled", tool });
  } else {
    say({ event: "failed", tool, message: String(outcome.error?.message ?? outcome.error) });
  }
}

const { child, port } = connect();
const session = withTasks(port, {});
try {
  await call(session, "echo", { text: "hello" });
  await call(session, "export_rows", ARGUMENTS);
} finally {
  await session.close();
  child.stdin.end();
}
