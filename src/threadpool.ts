// Imported first by berthd's entry point, before anything can queue work on libuv's thread pool (which
// reads UV_THREADPOOL_SIZE once, when it starts). The default 4 threads are each held for a millisecond
// or more by an fsync; with 20 containers starting at once, every other file operation of berthd queued
// behind them (bench/README.md). Threads of the pool that stay idle cost an 8 MiB stack reservation each,
// almost none of it resident.
process.env.UV_THREADPOOL_SIZE ??= '16';
