;; Asks WASI to sleep for a minute (poll_oneoff on a relative clock), then
;; allows. The epoch deadline only interrupts wasm code, so a host that let
;; the call through would block for the whole minute.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    ;; subscription at 256: userdata 0, tag 0 (clock), clock id 1
    ;; (monotonic), timeout 60 s in ns, precision 0, flags 0 (relative)
    (i64.store (i32.const 256) (i64.const 0))
    (i32.store8 (i32.const 264) (i32.const 0))
    (i32.store (i32.const 272) (i32.const 1))
    (i64.store (i32.const 280) (i64.const 60000000000))
    (i64.store (i32.const 288) (i64.const 0))
    (i32.store16 (i32.const 296) (i32.const 0))
    ;; one event out at 512, count at 600
    (drop (call $poll_oneoff (i32.const 256) (i32.const 512) (i32.const 1) (i32.const 600)))
    (i64.const 14))
  (data (i32.const 0) "{\"allow\":true}"))
