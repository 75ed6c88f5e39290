// Node flags the gateway is run with wherever this repository starts it: `npm run serve`,
// `npm start`, infra/Dockerfile, infra/systemd/mxhook.service and the benchmark (a test keeps
// them in step).
//
// --max-semi-space-size=16: V8 in Node 24 sizes the young generation from the heap limit, which
// on a machine with several GiB makes it large enough that, under load, the gateway peaked at
// 320–350 MiB RSS where 16 MiB semi-spaces (V8's long-standing 64-bit default) peak at 250–280 MiB,
// with no measurable change in CPU per message or throughput (test/bench/BENCHMARKS.md).
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
