;; Calls WASI proc_exit(0) instead of answering: success of a kind, but no decision.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 8)
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "portcullis_authorize") (param i32 i32) (result i64)
    (call $exit (i32.const 0))
    (i64.const 14))
  (data (i32.const 0) "{\"allow\":true}"))
